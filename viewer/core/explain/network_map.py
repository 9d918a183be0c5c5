"""What feeds what inside a network, from one traced forward pass (Qt-free).

Every leaf module call becomes a Node. A node's parent is the call that produced its
input: the latest earlier call whose output has the same storage (an in-place ReLU's
output shares its conv's storage, a flatten view shares its source's). Functional ops
between modules (a residual ``+``, a squeeze-excite ``*``) are not followed: where an
input has no producing module, the previous call stands in. From this the map derives
receptive fields (kernel, stride, padding and dilation walked from the input), the conv
that makes a layer's channels, and the source of each input of the last linear layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from cnn_viewer.core.hooks.recorder import first_tensor
from cnn_viewer.models.hooks import hooks

# Modules that keep the position and channel of each value (elementwise, per channel).
ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
    nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.PReLU, nn.Softplus,
    nn.modules.batchnorm._BatchNorm, nn.Dropout, nn.Dropout2d, nn.Identity,
)  # fmt: skip
PASSTHROUGH = (nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten)
POOLS = (nn.MaxPool2d, nn.AvgPool2d)
GLOBAL_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)

Axis = tuple[float, float, float]  # (start, jump, size) in input pixels for one axis


@dataclass
class Node:
    index: int
    name: str
    module: nn.Module
    in_shape: tuple[int, ...] | None  # without the batch dim
    out_shape: tuple[int, ...] | None
    parent: int | None  # index of the producing node; -1: the network input
    rf: tuple[Axis, Axis] | None = None  # (y, x); None: not a spatial map
    whole: bool = False  # every output value sees the whole input


@dataclass
class ConvChain:
    """A layer whose channels come from one Conv2d through per-channel ops."""

    conv_name: str
    conv: nn.Conv2d
    ops: list[tuple[str, nn.Module]] = field(default_factory=list)  # conv -> layer, in order


@dataclass
class Head:
    """The last nn.Linear and where each of its inputs comes from."""

    name: str
    linear: nn.Linear
    source: str | None  # the layer whose values feed it (None: unknown)
    source_shape: tuple[int, ...] | None  # that layer's output shape (C, H, W) or (N,)
    pooled: str | None = None  # 'mean' or 'max' over H x W when a global pool sits between

    def unit(self, index: int) -> tuple[int, int | None, int | None] | None:
        """Input ``index`` -> (channel, y, x) of ``source`` (y, x None: a vector or a pooled
        channel), or None when the source is unknown."""
        shape = self.source_shape
        if self.source is None or shape is None:
            return None
        if self.pooled or len(shape) != 3:
            return (index, None, None)
        c, y, x = (int(v) for v in torch.unravel_index(torch.tensor(index), shape))
        return (c, y, x)


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _first_tensor(args) -> torch.Tensor | None:
    for a in args:
        if isinstance(a, torch.Tensor):
            return a
    return None


def window_of(module: nn.Module) -> tuple | None:
    """(kernel, stride, padding, dilation) pairs of a sliding-window module, else None."""
    if isinstance(module, nn.Conv2d):
        k, d = _pair(module.kernel_size), _pair(module.dilation)
        if isinstance(module.padding, str):
            p = (
                (0, 0)
                if module.padding == "valid"
                else tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
            )
        else:
            p = _pair(module.padding)
        return k, _pair(module.stride), p, d
    if isinstance(module, POOLS):
        k = _pair(module.kernel_size)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        d = _pair(getattr(module, "dilation", 1))
        return k, s, _pair(module.padding), d
    return None


class NetworkMap:
    """Built once per model (one forward pass on zeros, in the calling thread)."""

    def __init__(self, module: nn.Module, input_shape: tuple[int, int, int], device=None) -> None:
        self.module = module
        self.input_shape = tuple(input_shape)
        self.nodes: list[Node] = []
        self._trace(device or torch.device("cpu"))
        self.last_call: dict[str, int] = {}
        for node in self.nodes:
            self.last_call[node.name] = node.index
        self._receptive_fields()

    # ---- tracing ---------------------------------------------------------------------
    def _trace(self, device) -> None:
        leaves = [(n, m) for n, m in self.module.named_modules() if n and not list(m.children())]
        producer: dict[int, int] = {}
        keep: list[torch.Tensor] = []  # held so no storage is freed and reused mid-trace
        pending: dict[int, tuple] = {}

        def pre(name, mod):
            def hook(_m, args):
                t = _first_tensor(args)
                parent = None
                if t is not None:
                    keep.append(t)
                    parent = producer.get(t.data_ptr())
                if parent is None and self.nodes:
                    parent = self.nodes[-1].index  # made by a functional op: take the last call
                shape = tuple(t.shape[1:]) if t is not None else None
                pending[id(mod)] = (name, shape, -1 if parent is None else parent)

            return hook

        def post(_name, mod):
            def hook(_m, _args, out):
                out = first_tensor(out)
                name, in_shape, parent = pending.pop(id(mod))
                out_shape = tuple(out.shape[1:]) if out is not None else None
                node = Node(len(self.nodes), name, mod, in_shape, out_shape, parent)
                self.nodes.append(node)
                if out is not None:
                    keep.append(out)
                    producer[out.data_ptr()] = node.index

            return hook

        x = torch.zeros(1, *self.input_shape, device=device)
        keep.append(x)
        producer[x.data_ptr()] = -1
        before = [(mod, pre(name, mod)) for name, mod in leaves]
        after = [(mod, post(name, mod)) for name, mod in leaves]
        with hooks(forward_pre=before, forward=after), torch.no_grad():
            self.output_shape = tuple(self.module(x).shape[1:])

    def _receptive_fields(self) -> None:
        h, w = self.input_shape[1:]
        for node in self.nodes:
            if node.parent == -1:
                prf, pwhole = ((0.0, 1.0, 1.0), (0.0, 1.0, 1.0)), False
            elif node.parent is None:
                prf, pwhole = None, True
            else:
                parent = self.nodes[node.parent]
                prf, pwhole = parent.rf, parent.whole
            if node.out_shape is None or len(node.out_shape) != 3:  # not a spatial map
                node.rf, node.whole = None, True
                continue
            if prf is None or pwhole:
                node.rf, node.whole = ((0.0, 0.0, float(h)), (0.0, 0.0, float(w))), True
                continue
            window = window_of(node.module)
            if window is not None:
                ry, rx = (
                    (start - p * jump, jump * s, size + (k - 1) * d * jump)
                    for (start, jump, size), k, s, p, d in zip(prf, *window, strict=True)
                )
                node.rf = (ry, rx)
            elif isinstance(node.module, GLOBAL_POOLS) and node.in_shape:
                out_hw, in_hw = node.out_shape[1:], node.in_shape[1:]
                if out_hw == (1, 1):
                    node.rf, node.whole = ((0.0, 0.0, float(h)), (0.0, 0.0, float(w))), True
                    continue
                ry, rx = (  # adaptive bins, as a window of the largest bin
                    (start, jump * (i // o), size + (math.ceil(i / o) - 1) * jump)
                    for (start, jump, size), i, o in zip(prf, in_hw, out_hw, strict=True)
                )
                node.rf = (ry, rx)
            elif node.in_shape is not None and node.in_shape[1:] == node.out_shape[1:]:
                node.rf = prf  # elementwise, or a conv-free module that keeps positions
            else:
                node.rf, node.whole = ((0.0, 0.0, float(h)), (0.0, 0.0, float(w))), True

    # ---- queries -----------------------------------------------------------------------
    def node_for(self, layer: str) -> Node | None:
        """The node whose output is ``layer``'s output (its last call; for a container,
        the last call inside it)."""
        if layer in self.last_call:
            return self.nodes[self.last_call[layer]]
        inside = [n for n in self.nodes if n.name.startswith(layer + ".") or layer == ""]
        return inside[-1] if inside else None

    def receptive_box(self, layer: str, y: int, x: int) -> tuple[int, int, int, int] | None:
        """Input pixels that position (y, x) of ``layer`` can see, as (y0, x0, y1, x1) with
        y1, x1 exclusive, clipped to the input. None if the layer is not a spatial map."""
        node = self.node_for(layer)
        return None if node is None else self.node_box(node, y, x)

    def node_box(self, node: Node, y: int, x: int) -> tuple[int, int, int, int] | None:
        """``receptive_box`` of one call (a module called twice has two)."""
        if node.rf is None:
            return None
        h, w = self.input_shape[1:]
        (sy, jy, ny), (sx, jx, nx) = node.rf
        y0, x0 = sy + y * jy, sx + x * jx
        box = (max(0, y0), max(0, x0), min(h, y0 + ny), min(w, x0 + nx))
        top, left, bottom, right = (int(round(v)) for v in box)
        return top, left, bottom, right

    def receptive_size(self, layer: str) -> tuple[int, int] | None:
        node = self.node_for(layer)
        if node is None or node.rf is None:
            return None
        return int(node.rf[0][2]), int(node.rf[1][2])

    def conv_chain(self, layer: str) -> ConvChain | None:
        """The Conv2d whose channels become ``layer``'s through per-channel ops only."""
        node = self.node_for(layer)
        ops: list[tuple[str, nn.Module]] = []
        while node is not None:
            if isinstance(node.module, nn.Conv2d):
                return ConvChain(node.name, node.module, ops[::-1])
            if not isinstance(node.module, ELEMENTWISE + POOLS):
                return None
            ops.append((node.name, node.module))
            node = self.nodes[node.parent] if node.parent is not None and node.parent >= 0 else None
        return None

    def head(self) -> Head | None:
        """The last nn.Linear called, and the layer feeding it."""
        linears = [n for n in self.nodes if isinstance(n.module, nn.Linear)]
        return self.linear_inputs(linears[-1]) if linears else None

    def linear_inputs(self, node: Node) -> Head:
        """An nn.Linear call (any, not only the last) and the layer feeding it."""
        assert isinstance(node.module, nn.Linear)
        head = Head(node.name, node.module, None, None)
        src = self._up(node)
        while src is not None and isinstance(src.module, PASSTHROUGH):
            src = self._up(src)
        if src is not None and isinstance(src.module, GLOBAL_POOLS) and src.out_shape:
            if tuple(src.out_shape[1:]) == (1, 1):
                head.pooled = "max" if isinstance(src.module, nn.AdaptiveMaxPool2d) else "mean"
                src = self._up(src)
        if src is None or src.out_shape is None:
            return head
        n = math.prod(src.out_shape) if not head.pooled else src.out_shape[0]
        if n != node.module.in_features:
            return head  # e.g. a class token sliced from a sequence: no per-unit map
        head.source, head.source_shape = self.display_name(src), src.out_shape
        return head

    def _up(self, node: Node) -> Node | None:
        return self.nodes[node.parent] if node.parent is not None and node.parent >= 0 else None

    def display_name(self, node: Node) -> str:
        """The outermost container whose output is this node's (``layer4`` rather than
        ``layer4.1.relu``), else the node's own name."""
        best = node.name
        parts = node.name.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if self.node_for(prefix) is node:
                return prefix
        return best
