"""torchvision's classifiers by name: the model list, building one with its weights (or
random ones), and the preprocessing its weights were trained with."""

from __future__ import annotations

import contextlib
import sys

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.detection import DETECTORS, SEGMENTERS
from cnn_viewer.models.zoo.layer_choice import shown_and_cam
from cnn_viewer.models.zoo.loaded import (
    LoadedModel,
    freeze,
    numbers_source,
    weights_unavailable,
)
from cnn_viewer.models.zoo.weights_download import cache_path


def list_models() -> list[str]:
    """Names load_model accepts: 'digits', torchvision's classification models, then its
    detectors and segmenters (cnn_viewer.models.zoo.detection)."""
    import torchvision

    classifiers = sorted(torchvision.models.list_models(module=torchvision.models))
    return ["digits", *classifiers, *DETECTORS, *SEGMENTERS]


def load_torchvision(
    name: str, weights: str, input_size: tuple[int, int] | None = None
) -> LoadedModel:
    from torchvision.models import get_model, get_model_weights

    try:
        weights_enum = get_model_weights(name)
    except ValueError:
        raise ValueError(
            f"unknown model {name!r}; choose from: {', '.join(list_models())}"
        ) from None
    if weights == "none":
        module = get_model(name, weights=None)
        spec = weights_enum.DEFAULT
        labels = [str(c) for c in spec.meta.get("categories", [])]
        notes = ["random weights (--weights none): predictions are meaningless"]
    else:
        try:
            spec = weights_enum.DEFAULT if weights == "default" else weights_enum[weights]
        except KeyError:
            options = ", ".join(["default", "none", *weights_enum.__members__])
            raise ValueError(f"weights {weights!r} for {name}: choose one of {options}") from None
        try:
            # torch.hub writes its 'Downloading: "url" to file' line to stdout; progress
            # belongs on stderr (stdout is for results, e.g. predict --json). Only while a
            # download is due: the redirect is process-wide.
            due = not cache_path(spec.url).is_file()
            with contextlib.redirect_stdout(sys.stderr) if due else contextlib.nullcontext():
                module = get_model(name, weights=spec)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise weights_unavailable(name, exc) from None
        labels = [str(c) for c in spec.meta.get("categories", [])]
        notes = []
    prep = torchvision_preprocess(spec, input_size)
    module = freeze(module)
    try:
        num_out = output_count(module, prep)
    except Exception as exc:  # noqa: BLE001 - e.g. a ViT asked for another input size
        size = f"{prep.input_size[0]}x{prep.input_size[1]}"
        raise ValueError(
            f"{name} does not run at input size {size} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    where = "the weights' metadata" if weights != "none" else "the default weights' metadata"
    if len(labels) != num_out:
        labels = [str(i) for i in range(num_out)]
        where = numbers_source(num_out)
    shown, cam = shown_and_cam(module, (prep.channels, *prep.input_size))
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        source=f"torchvision:{name}",
        notes=notes,
        labels_source=where,
    )


def torchvision_preprocess(
    spec, input_size: tuple[int, int] | None = None, channels: int = 3
) -> Preprocess:
    """Preprocessing from a torchvision weights entry's transforms().

    ``input_size`` (H, W) replaces the crop size; the short side is then resized to
    ``round(max(H, W) * resize / crop)`` (256/224 for most models), so the crop keeps
    the same margin and fits inside the resized image. With ``channels=1`` the
    mean and std are the averages of the three RGB values.
    """
    tf = spec.transforms()
    crop = int(tf.crop_size[0])
    resize = int(tf.resize_size[0])
    size = (crop, crop) if input_size is None else (int(input_size[0]), int(input_size[1]))
    mean, std = tuple(float(m) for m in tf.mean), tuple(float(s) for s in tf.std)
    if channels == 1:
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    return Preprocess(
        input_size=size,
        channels=channels,
        mean=mean,
        std=std,
        resize_short=round(max(size) * resize / crop),
    )


def output_count(module: nn.Module, prep: Preprocess) -> int:
    with torch.inference_mode():
        return int(module(torch.zeros(1, prep.channels, *prep.input_size)).shape[1])


IMAGENET_SOURCE = "ImageNet's 1000 classes (the model has 1000 outputs and no names of its own)"


def imagenet_names() -> list[str]:
    """The 1000 ImageNet class names (shipped with torchvision: no download)."""
    from torchvision.models import ResNet50_Weights

    return [str(c) for c in ResNet50_Weights.IMAGENET1K_V1.meta["categories"]]
