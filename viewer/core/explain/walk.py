"""The guided walk (Qt-free): the network's stages in forward order, and for one stage the
live numbers of one position that show what it does.

A stage is one call of a leaf module (as NetworkMap records them), then a last softmax
stage. ``record`` runs one forward pass and copies the input and output of one stage;
``explain`` turns them into a Step: a conv's patch x kernel + bias (the inspector's
``arithmetic``), an activation's before and after, a pool's window and its max or mean, a
flatten's index, a linear layer's weighted sum (the Answer tab's ``logit_parts``), the
softmax (``softmax_story``). Each Step also carries torch's own value at the position
(``torch_value``), so what the walk shows can be checked against it.

The chosen position is the largest value of the stage's output (the brightest spot of its
maps, the most active unit, the top class); a conv, its activation and its pool then agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnn_viewer.core.explain.answer import LogitParts, Softmax, logit_parts, softmax_story
from cnn_viewer.core.explain.inspect import Arithmetic, arithmetic, pool_window
from cnn_viewer.core.explain.network_map import ConvChain, NetworkMap
from cnn_viewer.models.hooks import hooks

RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
ACTIVATIONS = (
    nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Mish,
    nn.PReLU, nn.Softplus,
)  # fmt: skip
PASSTHROUGH = (nn.Dropout, nn.Dropout2d, nn.Identity)
SOFTMAX = -1  # the index of the softmax stage (it is no module call)

# What each kind of stage does, in a learner's words.
WHAT = {
    "conv": "slides small kernels over its input: each output value is the patch under the "
    "kernel times the kernel, summed over the patch and over the input channels, plus a bias",
    "relu": "keeps positive values and turns negatives into 0",
    "activation": "bends each value on its own through a fixed curve",
    "batchnorm": "rescales each channel: (x − mean) / √(var + ε) × γ + β, with numbers "
    "learned in training",
    "pool": "shrinks each map: every output value summarises a small window of its input",
    "adaptive_pool": "averages (or takes the largest of) each channel over a region, here "
    "its whole map: one number per channel",
    "flatten": "lays the maps out in one long row of numbers; no value changes",
    "linear": "a weighted sum: each output is Σ weight × input over all its inputs, plus a bias",
    "passthrough": "does nothing at inference (dropout drops values only while training)",
    "softmax": "turns the scores (logits) into probabilities: exp(z) / Σ exp(z), so they are "
    "positive and add up to 1",
    "other": "changes the values in its own way (no walk-through for this kind of layer)",
}


@dataclass
class Stage:
    index: int  # the NetworkMap node (call) index; SOFTMAX for the last stage
    name: str
    kind: str  # a key of WHAT
    module: nn.Module | None
    in_shape: tuple[int, ...] | None
    out_shape: tuple[int, ...] | None
    source: str = "the network input"  # the layer whose output is its input
    source_index: int | None = -1  # that layer's node; -1: the network input
    branch: bool = False  # its input is not the output of the stage just before


def stage_kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, RELUS):
        return "relu"
    if isinstance(module, ACTIVATIONS):
        return "activation"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "batchnorm"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return "pool"
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return "adaptive_pool"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, PASSTHROUGH):
        return "passthrough"
    return "other"


def stages(net_map: NetworkMap) -> list[Stage]:
    """Every module call in forward order, then the softmax."""
    out = []
    for node in net_map.nodes:
        source = "the network input"
        if node.parent is not None and node.parent >= 0:
            source = net_map.nodes[node.parent].name
        branch = node.parent is not None and node.parent != node.index - 1
        kind = stage_kind(node.module)
        out.append(
            Stage(
                node.index,
                node.name,
                kind,
                node.module,
                node.in_shape,
                node.out_shape,
                source,
                node.parent,
                branch,
            )  # fmt: skip
        )
    last = net_map.output_shape
    out.append(Stage(SOFTMAX, "softmax", "softmax", None, last, last, "the network's output", None))
    return out


# ---- one pass, one stage's numbers ---------------------------------------------------------
@dataclass
class Recording:
    """What one pass gave for one stage (float32, batch dim removed)."""

    stage: Stage
    input: np.ndarray | None  # the stage's input (the logits for the softmax)
    output: np.ndarray | None  # its output (the probabilities for the softmax)
    logits: np.ndarray  # the network's output
    # the input is not simply its source's output: code between modules changed it (a
    # residual connection's add, a squeeze-excite's multiply); None: not known
    combined: bool | None = None


def record(net_map: NetworkMap, stage: Stage, x: torch.Tensor) -> Recording:
    """Run ``x`` (1 x C x H x W, on the network's device) through ``net_map.module`` and
    copy ``stage``'s input and output. Any thread; hooks are gone when it returns. The
    module must be the walk's own (a private copy while the engine runs the network), and
    nothing else may run it during the call: its hooks would count that pass's calls too."""
    module = net_map.module
    leaves = [(n, m) for n, m in module.named_modules() if n and not list(m.children())]
    calls = [0]
    store: dict[str, torch.Tensor] = {}

    def first(t):
        return t[0] if isinstance(t, (tuple, list)) else t

    def pre(_m, args):
        if calls[0] == stage.index and isinstance(first(args), torch.Tensor):
            store["input"] = first(args).detach()[0].float().clone()  # before an in-place op

    def post(_m, _args, out):
        if isinstance(first(out), torch.Tensor):
            if calls[0] == stage.index:
                store["output"] = first(out).detach()[0].float().clone()
            elif calls[0] == stage.source_index:  # before any in-place change after it
                store["source"] = first(out).detach()[0].float().clone()
        calls[0] += 1

    pairs = [] if stage.index == SOFTMAX else leaves
    with hooks(forward_pre=[(m, pre) for _, m in pairs], forward=[(m, post) for _, m in pairs]):
        with torch.no_grad():
            logits = module(x).detach()[0].float()
    if stage.index == SOFTMAX:
        store = {"input": logits, "output": torch.softmax(logits, 0)}

    def arr(key):
        t = store.get(key)
        return None if t is None else t.cpu().numpy()

    combined = None
    source, given = store.get("source"), store.get("input")
    if stage.source_index == -1:
        source = x.detach()[0].float()
    if source is not None and given is not None and source.shape == given.shape:
        combined = not torch.equal(source.cpu(), given.cpu())
    return Recording(stage, arr("input"), arr("output"), logits.cpu().numpy(), combined)


# ---- what a stage did at one position ------------------------------------------------------
Position = tuple[int, ...]  # (channel, y, x) of a map, or (unit,) of a vector


@dataclass
class Step:
    stage: Stage
    position: Position  # in the stage's output
    torch_value: float  # torch's own output there
    before: float | None = None  # the input at the same place (elementwise stages)
    conv: Arithmetic | None = None
    channel_sums: np.ndarray | None = None  # conv: Σ patch × kernel per input channel
    window: np.ndarray | None = None  # pool: the values it summarises (kh x kw)
    window_at: tuple[int, int] | None = None  # pool: (y, x) of the window's top left
    reduce: str = ""  # pool: 'max' or 'mean'
    parts: LogitParts | None = None  # linear
    rest: float = 0.0  # linear: the sum of the terms not in parts.top
    softmax: Softmax | None = None
    source: Position | None = None  # flatten: the (c, y, x) that lands at position
    norm: tuple[float, float, float, float, float] | None = None  # mean, var, eps, γ, β
    input_range: tuple[float, float] | None = None  # the first conv: its input's min, max
    negatives: int = 0  # relu: how many input values were below 0
    count: int = 0  # values in the stage's input
    most_negative: tuple[Position, float] | None = None  # relu: an example that became 0
    combined: bool | None = None  # Recording.combined
    # the input pixels the value at ``position`` sees, (y0, x0, y1, x1) exclusive ends;
    # None: not a spatial map (or the whole input)
    box: tuple[int, int, int, int] | None = None


def chosen_position(output: np.ndarray) -> Position:
    """The place of the largest value of a stage's output."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(output)), output.shape))


def explain(
    rec: Recording, net_map: NetworkMap, position: Position | None = None, top: int = 8
) -> Step:
    """The numbers of ``rec.stage`` at ``position`` of its output (default: its largest
    value). ``top``: how many terms of a weighted sum to list one by one."""
    stage, out, inp = rec.stage, rec.output, rec.input
    if out is None or inp is None:
        raise ValueError(f"stage {stage.name!r} gave no tensor to walk through")
    pos = chosen_position(out) if position is None else tuple(int(p) for p in position)
    step = Step(stage, pos, float(out[pos]), count=int(inp.size), combined=rec.combined)
    kind, module = stage.kind, stage.module
    if len(pos) == 3 and stage.index != SOFTMAX:
        node = net_map.nodes[stage.index]
        step.box = None if node.whole else net_map.node_box(node, pos[1], pos[2])
    if kind == "conv":
        assert isinstance(module, nn.Conv2d)
        c, y, x = pos
        step.conv = arithmetic(ConvChain(stage.name, module, []), inp, c, y, x)
        step.channel_sums = step.conv.product.reshape(len(step.conv.product), -1).sum(1)
        if stage.index == 0:  # it reads the network input itself
            step.input_range = (float(inp.min()), float(inp.max()))
    elif kind == "pool":
        assert module is not None
        c, y, x = pos
        found = pool_window(module, inp.shape[1:], y, x)
        assert found is not None
        ys, xs = found
        step.window, step.window_at = inp[c, ys, xs], (ys.start, xs.start)
        step.reduce = "max" if isinstance(module, nn.MaxPool2d) else "mean"
    elif kind == "adaptive_pool":
        c, y, x = pos
        (h, w), (oh, ow) = inp.shape[1:], out.shape[1:]
        ys = slice(y * h // oh, -(-(y + 1) * h // oh))
        xs = slice(x * w // ow, -(-(x + 1) * w // ow))
        step.window, step.window_at = inp[c, ys, xs], (ys.start, xs.start)
        step.reduce = "max" if isinstance(module, nn.AdaptiveMaxPool2d) else "mean"
    elif kind == "linear":
        assert isinstance(module, nn.Linear)
        head = net_map.linear_inputs(net_map.nodes[stage.index])
        step.parts = logit_parts(head, inp, pos[-1], top)
        step.rest = step.parts.total - step.parts.bias - sum(t.product for t in step.parts.top)
    elif kind == "softmax":
        step.softmax = softmax_story(inp)
    elif kind == "flatten":
        step.source = tuple(int(i) for i in np.unravel_index(pos[-1], inp.shape))
        step.before = float(inp[step.source])
    elif kind == "batchnorm":
        assert isinstance(module, nn.modules.batchnorm._BatchNorm)
        c = pos[0]
        step.before = float(inp[pos])

        def at(t, default):
            return default if t is None else float(t.detach()[c])

        step.norm = (
            at(module.running_mean, 0.0), at(module.running_var, 1.0), float(module.eps),
            at(module.weight, 1.0), at(module.bias, 0.0),
        )  # fmt: skip
    elif inp.shape == out.shape:  # elementwise: the same place before and after
        step.before = float(inp[pos])
        if kind == "relu":
            step.negatives = int((inp < 0).sum())
            if step.negatives:
                low = chosen_position(-inp)
                step.most_negative = (low, float(inp[low]))
    return step
