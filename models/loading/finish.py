"""The last step of loading what a user brought: freeze the network, settle its channels,
input size and preprocessing, count and name its classes, choose the layers to show."""

from __future__ import annotations

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.data.mnist import MNIST_MEAN, MNIST_STD
from cnn_viewer.models.loading.checkpoint_files import OpenedCheckpoint
from cnn_viewer.models.loading.model_files import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Overrides,
    choose_labels,
    first_conv_channels,
    output_count,
    probe_input,
)
from cnn_viewer.models.zoo.classifier import IMAGENET_SOURCE, imagenet_names
from cnn_viewer.models.zoo.layer_choice import shown_and_cam
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze, numbers_source
from cnn_viewer.models.zoo.torchvision_zoo import torchvision_preprocess


def hw_text(size) -> str:
    """(H, W) -> 'HxW'."""
    return f"{size[0]}x{size[1]}"


def state_dict_of(opened: OpenedCheckpoint) -> dict[str, torch.Tensor]:
    """The state_dict of a file that held no whole module (exactly one of the two is set)."""
    assert opened.state_dict is not None
    return opened.state_dict


def finish_user_model(
    module: nn.Module,
    *,
    name: str,
    source: str,
    overrides: Overrides,
    opened: OpenedCheckpoint | None,
    notes: list[str],
    tv_name: str | None = None,
    is_digits: bool = False,
    fallback: list[str] | None = None,
    fallback_source: str = "the architecture's categories",
) -> LoadedModel:
    """Freeze, settle channels, input size and preprocessing, count classes, name them.
    ``fallback``: names used when neither --labels nor the file gives them and the count
    fits; ``fallback_source`` says where they are from (LoadedModel.labels_source)."""
    label = f"{name} ({opened.path})" if opened is not None else name
    weights_channels = first_conv_channels(module)
    if overrides.channels is not None and weights_channels not in (None, overrides.channels):
        raise ValueError(
            f"--channels {overrides.channels}: {label} takes {weights_channels}-"
            "channel input (its first conv's weights say so)"
        )
    channels = weights_channels or overrides.channels or 3
    module = freeze(module)
    if tv_name is not None:
        from torchvision.models import get_model_weights

        spec = get_model_weights(tv_name).DEFAULT
        prep = torchvision_preprocess(spec, overrides.input_size, channels)
        fallback = [str(c) for c in spec.meta.get("categories", [])]
        fallback_source = f"torchvision's {tv_name} categories"
        try:
            count = output_count(module, channels, prep.input_size)
        except Exception as exc:  # noqa: BLE001 - e.g. a ViT at another input size
            raise ValueError(
                f"{label} does not run at input size {hw_text(prep.input_size)} "
                f"({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
    else:
        size, count = probe_input(module, channels, overrides.input_size, label)
        one = channels == 1
        prep = Preprocess(
            input_size=size,
            channels=channels,
            mean=(MNIST_MEAN,) if one else IMAGENET_MEAN,
            std=(MNIST_STD,) if one else IMAGENET_STD,
        )
        notes.append(
            f"input {channels} x {hw_text(size)}, stretched; normalised with "
            f"{'MNIST' if one else 'ImageNet'} mean/std"
        )
        # 1 x 28 x 28 in, 10 classes out: an MNIST-style digit model; the drawing pad fits it
        is_digits = is_digits or (one and count == 10 and size == (28, 28))
    if fallback is None and count == 1000:  # no names of its own: ImageNet's
        fallback, fallback_source = imagenet_names(), IMAGENET_SOURCE
    source_name = str(opened.path) if opened is not None else name
    labels, where = choose_labels(
        count, overrides, opened.labels if opened else None, source_name, fallback
    )
    if where:
        notes.append(where)
    if overrides.labels is not None:
        labels_source = f"--labels {overrides.labels.name}"
    elif opened is not None and opened.labels is not None:
        labels_source = f"the checkpoint file {opened.path.name}"
    elif fallback is not None and list(fallback) == labels:
        labels_source = fallback_source
    else:
        labels_source = numbers_source(count)
    scripted = isinstance(module, torch.jit.ScriptModule)
    if scripted:
        notes.append(
            "TorchScript: layer maps and Grad-CAM are unavailable (forward hooks do "
            "not run inside a scripted model)"
        )
    # (hooks do not run inside TorchScript: no layers, no Grad-CAM)
    shown, cam = (
        ([], None) if scripted else shown_and_cam(module, (prep.channels, *prep.input_size))
    )
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        is_digits=is_digits,
        source=source,
        notes=notes,
        labels_source=labels_source,
    )
