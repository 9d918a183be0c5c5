"""Which layers to show by default, and the layer table (name, type, output shape)."""

from __future__ import annotations

from typing import Protocol, cast

import torch
from torch import nn

from cnn_viewer.models.hooks import hooks

# Modules a person does not name when describing a network: shown only on request.
_QUIET = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.Dropout,
    nn.Flatten,
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
)


class _CustomLayers(Protocol):
    """A network that names its own layers (SmallCNN): checked with hasattr first."""

    def display_layers(self) -> list[str]: ...

    def cam_layer(self) -> str: ...


def default_layers(module: nn.Module) -> list[str]:
    """The blocks a person would name, in forward order.

    Members of Sequential containers (expanded when they are Sequential themselves)
    and top-level leaves, skipping norms, activations, dropout and flatten.
    Custom layer lists (SmallCNN.display_layers) take precedence where they exist.
    """
    if hasattr(module, "display_layers"):
        return list(cast(_CustomLayers, module).display_layers())
    names: list[str] = []

    def visit(prefix: str, mod: nn.Module, in_sequential: bool) -> None:
        for child_name, child in mod.named_children():
            full = f"{prefix}{child_name}"
            if isinstance(child, nn.Sequential):
                visit(full + ".", child, True)
            elif isinstance(child, _QUIET):
                continue
            elif in_sequential or not list(child.children()):
                names.append(full)
            else:
                visit(full + ".", child, False)

    visit("", module, False)
    return names


def last_conv_layer(module: nn.Module) -> str | None:
    """Name of the last Conv2d in definition order (the usual Grad-CAM target), or None."""
    if hasattr(module, "cam_layer"):
        return cast(_CustomLayers, module).cam_layer()
    last = None
    for name, mod in module.named_modules():
        if isinstance(mod, nn.Conv2d):
            last = name
    return last


def layer_table(module: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Every named module with its type and output shape (batch dim dropped), forward order."""
    rows: dict[str, dict] = {}

    def make_hook(name: str, mod: nn.Module):
        def hook(_m, _inp, out):
            shape = list(out.shape[1:]) if isinstance(out, torch.Tensor) else None
            rows.setdefault(name, {"name": name, "type": type(mod).__name__, "shape": shape})

        return hook

    every = [(mod, make_hook(name, mod)) for name, mod in module.named_modules() if name]
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    with hooks(forward=every), torch.inference_mode():
        module(torch.zeros(1, *input_shape, device=device))
    return list(rows.values())


def cam_layer_for(module: nn.Module, shown: list[str], input_shape: tuple[int, ...]) -> str | None:
    """The Grad-CAM target: the last shown layer with a spatial map (C x H x W, H*W > 1),
    i.e. the output of the last conv block (resnet18: layer4.1), as in the Grad-CAM paper.
    Falls back to the last Conv2d when no shown layer is spatial (e.g. a ViT)."""
    if hasattr(module, "cam_layer"):
        return cast(_CustomLayers, module).cam_layer()
    spatial: list[str] = []
    modules = dict(module.named_modules())

    def make_hook(name: str):
        def hook(_m, _i, out):
            if isinstance(out, torch.Tensor) and out.ndim == 4 and out.shape[2] * out.shape[3] > 1:
                spatial.append(name)

        return hook

    watched = [(modules[name], make_hook(name)) for name in shown if name in modules]
    try:
        with hooks(forward=watched), torch.inference_mode():
            module(torch.zeros(1, *input_shape))
    except Exception:  # noqa: BLE001 - a model that will not run here fails later, with a message
        spatial = []
    return spatial[-1] if spatial else last_conv_layer(module)


def shown_and_cam(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[list[str], str | None]:
    """The default shown layers and the Grad-CAM target for a module taking
    ``input_shape`` (C, H, W): what every loader attaches to a LoadedModel."""
    shown = default_layers(module)
    return shown, cam_layer_for(module, shown, input_shape)
