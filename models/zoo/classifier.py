"""The last step of building any classifier we show: freeze it, count its outputs, name
its classes, choose the layers to show (torchvision's, timm's, folders', ONNX files')."""

from __future__ import annotations

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.layer_choice import shown_and_cam
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze, numbers_source

IMAGENET_SOURCE = "ImageNet's 1000 classes (the model has 1000 outputs and no names of its own)"


def imagenet_names() -> list[str]:
    """The 1000 ImageNet class names (shipped with torchvision: no download)."""
    from torchvision.models import ResNet50_Weights

    return [str(c) for c in ResNet50_Weights.IMAGENET1K_V1.meta["categories"]]


def finish_classifier(
    module: nn.Module,
    *,
    name: str,
    source: str,
    prep: Preprocess,
    names: list[str] | None,
    names_source: str,
    notes: list[str] | None = None,
) -> LoadedModel:
    """A LoadedModel for a classifier ``module`` (eval mode, frozen): its outputs counted
    on a zero input, then named: ``names`` (the model's own, ``names_source`` says whose)
    when their count fits, else ImageNet's for 1000 outputs, else numbers."""
    module = freeze(module)
    try:
        with torch.inference_mode():
            out = module(torch.zeros(1, prep.channels, *prep.input_size))
    except Exception as exc:  # noqa: BLE001 - the model's own code may raise anything
        size = f"{prep.input_size[0]}x{prep.input_size[1]}"
        raise ValueError(
            f"{name} does not run at input size {size} ({type(exc).__name__}: "
            f"{str(exc)[:200]}); give its size with --input-size HxW"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"{name}: the output is {shape}, not one row of class scores (1 x classes); "
            "cnn-viewer shows classifiers"
        )
    count = int(out.shape[1])
    if names is not None and len(names) == count:
        labels, where = list(names), names_source
    elif count == 1000:
        labels, where = imagenet_names(), IMAGENET_SOURCE
    else:
        labels, where = [str(i) for i in range(count)], numbers_source(count)
    shown, cam = shown_and_cam(module, (prep.channels, *prep.input_size))
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        source=source,
        notes=list(notes or []),
        labels_source=where,
    )
