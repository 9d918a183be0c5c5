"""Which layers to show by default, and the layer table (name, type, output shape).

The default rows are the blocks a person would name, in forward order, for any network
(torchvision, timm, a user's own class): one hooked pass at the model's input size says
which modules run, in what order, and which only pass their input on (Identity-like
modules, padding wrappers' Identity, an AdaptiveAvgPool2d to the size it is given,
DropPath in eval mode, a view/flatten), so those are left out whatever their class.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Protocol, cast

import torch
from torch import nn

from cnn_viewer.models.hooks import hooks

# Modules a person does not name when describing a network: shown only on request.
_QUIET = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SiLU,
    nn.GELU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softmax,
    *(
        getattr(nn, name)
        for name in (
            "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
            "FeatureAlphaDropout", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
            "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
            "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
            "CircularPad1d", "CircularPad2d", "CircularPad3d",
        )
        if hasattr(nn, name)
    ),
)  # fmt: skip
# Plain lists of modules: their members are the rows, never the list itself.
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
ROWS_WANTED = (10, 30)  # about this many default rows, where the network allows it
_MAX_DEPTH = 3  # block levels tried below the top level


class _CustomLayers(Protocol):
    """A network that names its own layers (SmallCNN): checked with hasattr first."""

    def display_layers(self) -> list[str]: ...

    def cam_layer(self) -> str: ...


@dataclass
class Seen:
    """What one hooked pass saw of a module (its first call)."""

    order: int  # when it started, counting every module call of the pass
    passthrough: bool  # its output holds its input's values (Identity, a view, padding 0)
    shape: tuple[int, ...] | None  # output shape, batch dim dropped; None: not a tensor
    same_shape: bool  # output shape equals its input's


def _first_tensor(value) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


def survey(module: nn.Module, input_shape: tuple[int, ...]) -> dict[str, Seen] | None:
    """One pass on a random input of ``input_shape`` (C, H, W, batch 1 added) with every
    named module hooked; None when the model does not run on it. Inputs are copied before
    each call, so an in-place op is not taken for a pass-through."""
    seen: dict[str, Seen] = {}
    before: dict[str, torch.Tensor | None] = {}
    count = [0]

    def pre(name: str):
        def hook(_m, args):
            count[0] += 1
            if name not in seen and name not in before:
                t = _first_tensor(args)
                before[name] = t.detach().clone() if t is not None else None
                seen[name] = Seen(count[0], False, None, False)

        return hook

    def post(name: str):
        def hook(_m, _args, out):
            if name not in before:
                return
            inp, t = before.pop(name), _first_tensor(out)
            info = seen[name]
            if t is not None:
                info.shape = tuple(t.shape[1:])
            if t is not None and inp is not None:
                info.same_shape = t.shape == inp.shape
                info.passthrough = (
                    t.numel() == inp.numel()
                    and t.dtype == inp.dtype
                    and torch.equal(t.detach().reshape(-1), inp.reshape(-1))
                )

        return hook

    named = [(name, mod) for name, mod in module.named_modules() if name]
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    gen = torch.Generator().manual_seed(0)  # not the global generator
    x = torch.randn(1, *input_shape, generator=gen).to(device, dtype)
    try:
        with (
            hooks(
                forward_pre=[(m, pre(n)) for n, m in named],
                forward=[(m, post(n)) for n, m in named],
            ),
            torch.inference_mode(),
        ):
            module(x)
    except Exception:  # noqa: BLE001 - a model that will not run here fails later, with a message
        return None
    return seen


def _skipped(mod: nn.Module, info: Seen | None) -> bool:
    """True for a module that is no row: a norm, activation, dropout, padding or flatten
    by class; by what the pass saw, a parameter-free one that passes its input on, or a
    parameter-free leaf keeping its input's shape (an activation of a package's own, a
    softmax), pools excepted."""
    if isinstance(mod, _QUIET):
        return True
    if info is None:
        return False
    free = next(mod.parameters(), None) is None
    if free and info.passthrough:  # a block with weights is one (timm zero-inits its last BN)
        return True
    leaf = next(mod.children(), None) is None
    pool = "pool" in type(mod).__name__.lower()
    return leaf and free and info.same_shape and not pool


def _rows(module: nn.Module, seen: dict[str, Seen] | None, depth: int) -> list[str]:
    """Rows with blocks opened ``depth`` levels down (plain lists always opened; a block
    is opened only where it holds two rows or more), in forward order."""

    def under(prefix: str, mod: nn.Module, level: int) -> list[str]:
        rows: list[str] = []
        for child_name, child in mod.named_children():
            full = f"{prefix}{child_name}"
            info = seen.get(full) if seen is not None else None
            if type(child) in _CONTAINERS:  # exact: a subclass with a forward is a block
                rows += under(full + ".", child, level)
                continue
            if (seen is not None and info is None) or _skipped(child, info):
                continue  # never ran, or no row
            inner = under(full + ".", child, level + 1) if level < depth else []
            rows += inner if len(inner) >= 2 else [full]
        return rows

    rows = under("", module, 0)
    if seen is not None:
        rows.sort(key=lambda n: seen[n].order)
    return rows


def _graph_rows(module: nn.Module, seen: dict[str, Seen] | None, depth: int) -> list[str]:
    """Rows of a flat graph whose module names keep the original path (an ONNX file
    converted by onnx2torch: 'layer1/layer1/0/conv2/Conv'): one row per block, the
    block's last module (its output), blocks being the name's first ``depth`` parts;
    a block of only skipped modules (a lone activation) is no row."""
    groups: dict[str, list[tuple[str, nn.Module]]] = {}
    for name, child in module.named_children():
        if seen is not None and name not in seen:
            continue  # never ran
        block = "/".join(name.split("/")[:-1][:depth]) or name
        groups.setdefault(block, []).append((name, child))
    rows = [
        members[-1][0]
        for members in groups.values()
        if not all(_skipped(m, seen.get(n) if seen else None) for n, m in members)
    ]
    if seen is not None:
        rows.sort(key=lambda n: seen[n].order)
    return rows


def _is_path_graph(module: nn.Module) -> bool:
    """True for a flat graph of leaves named by their original path (see _graph_rows)."""
    children = list(module.named_children())
    return len(children) >= 2 and all(
        "/" in name and next(child.children(), None) is None for name, child in children
    )


def _choose(module: nn.Module, seen: dict[str, Seen] | None) -> list[str]:
    """The first depth whose row count is in ROWS_WANTED, else the nearest to it."""
    low, high = ROWS_WANTED
    best: list[str] | None = None
    previous: list[str] | None = None
    graph = _is_path_graph(module)
    for depth in range(_MAX_DEPTH + 3 if graph else _MAX_DEPTH + 1):
        rows = _graph_rows(module, seen, depth + 1) if graph else _rows(module, seen, depth)
        if rows == previous and not graph:  # (a path repeats parts: layer1/layer1/0)
            break
        if low <= len(rows) <= high:
            return rows
        off = max(low - len(rows), len(rows) - high)
        if best is None or off < max(low - len(best), len(best) - high):
            best = rows
        previous = rows
    return best or []


def default_layers(module: nn.Module, input_shape: tuple[int, ...] | None = None) -> list[str]:
    """The blocks a person would name, in forward order, about ROWS_WANTED of them.

    ``input_shape`` (C, H, W): run one hooked pass at that size to learn the forward
    order and which modules only pass their input on; without it (or when the pass
    fails) the choice goes by classes and definition order. Custom layer lists
    (SmallCNN.display_layers) take precedence where they exist.
    """
    if hasattr(module, "display_layers"):
        return list(cast(_CustomLayers, module).display_layers())
    seen = survey(module, input_shape) if input_shape is not None else None
    return _choose(module, seen)


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


def _cam_from(module: nn.Module, shown: list[str], seen: dict[str, Seen] | None) -> str | None:
    spatial = [
        name
        for name in shown
        if seen is not None
        and name in seen
        and (shape := seen[name].shape) is not None
        and len(shape) == 3
        and shape[1] * shape[2] > 1
    ]
    return spatial[-1] if spatial else last_conv_layer(module)


def cam_layer_for(module: nn.Module, shown: list[str], input_shape: tuple[int, ...]) -> str | None:
    """The Grad-CAM target: the last shown layer with a spatial map (C x H x W, H*W > 1),
    i.e. the output of the last conv block (resnet18: layer4.1), as in the Grad-CAM paper.
    Falls back to the last Conv2d when no shown layer is spatial (e.g. a ViT)."""
    if hasattr(module, "cam_layer"):
        return cast(_CustomLayers, module).cam_layer()
    return _cam_from(module, shown, survey(module, input_shape))


def shown_and_cam(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[list[str], str | None]:
    """The default shown layers and the Grad-CAM target for a module taking
    ``input_shape`` (C, H, W): what every loader attaches to a LoadedModel. One pass."""
    custom = hasattr(module, "display_layers"), hasattr(module, "cam_layer")
    seen = None if all(custom) else survey(module, input_shape)
    shown = default_layers(module) if custom[0] else _choose(module, seen)
    if custom[1]:
        return shown, cast(_CustomLayers, module).cam_layer()
    return shown, _cam_from(module, shown, seen)


def check_layer_names(module: nn.Module, names: list[str]) -> list[str]:
    """``names`` (from ``--layers``) if each is a named module of ``module``; otherwise a
    ValueError naming the unknown ones with the closest names the model has."""
    known = [name for name, _ in module.named_modules() if name]
    problems = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
            hint = f"close names: {', '.join(close)}" if close else "no close name"
            problems.append(f"{name!r} ({hint})")
    if problems:
        raise ValueError(
            f"--layers: no such layer in this model: {'; '.join(problems)}. "
            "`cnn-viewer layers` lists every layer name"
        )
    if not names:
        raise ValueError("--layers: give at least one layer name (NAME,NAME,...)")
    return list(names)
