"""The last step shared by every foreign loader: freeze, count the outputs, name the
classes (the model's own names, else ImageNet's for 1000 outputs, else numbers), choose
the layers to show."""

from __future__ import annotations

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.layer_choice import shown_and_cam
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze, numbers_source
from cnn_viewer.models.zoo.torchvision_zoo import IMAGENET_SOURCE, imagenet_names


def sized(prep: Preprocess, input_size: tuple[int, int] | None) -> Preprocess:
    """``prep`` at another input size (--input-size), its resize keeping the same margin."""
    if input_size is None or tuple(input_size) == tuple(prep.input_size):
        return prep
    h, w = int(input_size[0]), int(input_size[1])
    short = prep.resize_short
    if short is not None:
        short = round(max(h, w) * short / max(prep.input_size))
    hw = prep.resize_hw
    if hw is not None:
        hw = (round(h * hw[0] / prep.input_size[0]), round(w * hw[1] / prep.input_size[1]))
    return Preprocess(
        input_size=(h, w),
        channels=prep.channels,
        mean=prep.mean,
        std=prep.std,
        resize_short=short,
        resize_hw=hw,
    )


def finish_foreign(
    module: nn.Module,
    *,
    name: str,
    source: str,
    prep: Preprocess,
    names: list[str] | None,
    names_source: str,
    notes: list[str] | None = None,
) -> LoadedModel:
    """A LoadedModel for ``module`` (eval mode, frozen). ``names``: the class names the
    model's own files give (``names_source`` says which), used when their count fits."""
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
