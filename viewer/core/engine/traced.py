"""The network as a TorchScript trace that returns the shown layers' outputs too.

Why: an eager forward pass is ~200 Python module calls per frame (mobilenet_v3_small)
and holds the GIL between ops, so the finishing thread (mosaics) and the forward pass
take turns instead of running side by side. A traced graph runs in C++ with the GIL
released. Measured on 2 vCPUs, one process: eager forward alone 80 fps, eager forward
with a finishing thread beside it 40-44 fps; traced alone 125 fps, traced with the
finishing thread beside it 113-130 fps (README, "Speed").

Two graphs, both traced from the real model with hooks in place:
- ``body(x)``: logits, each shown layer's output (cloned where an in-place op later
  changes it, as ActivationRecorder learned), and the last Linear's input.
- ``head(x, a)``: the logits when the Grad-CAM layer's output is replaced by ``a``.
  Everything before that layer is dead code there and is removed, so differentiating
  it costs only the layers after the cut, like the eager fast Grad-CAM.

A trace is used only when tracing raised no TracerWarning (a Python branch on tensor
values would be frozen into the graph) and both graphs give the eager model's numbers
on the frame they were traced with; otherwise the engine stays eager and says why.
A trace is for one input shape: a head that reads the input's size (``bs = x.size(0)``
... ``x.view(bs, -1)``, as many users' and packages' models do) gets that size as a
constant, and an input of a new shape is traced (and checked) anew.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from cnn_viewer.core.explain.saliency import cam_from, fast_gradcam
from cnn_viewer.core.hooks.recorder import ActivationRecorder, first_tensor, resolve
from cnn_viewer.models.hooks import hooks

SHAPES_KEPT = 3  # input shapes a TracedNetwork keeps graphs for


class TraceRefused(Exception):
    """The model cannot be traced faithfully; the message says why (shown as a note)."""


@dataclass
class Traced:
    """One traced forward pass: detached tensors, batch dim kept (like the recorder)."""

    logits: torch.Tensor
    outputs: dict[str, torch.Tensor]
    head_input: torch.Tensor | None


def _trace(fn, args) -> torch.jit.ScriptFunction:
    """torch.jit.trace, refusing traces that depend on tensor values."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            traced = torch.jit.trace(fn, args, check_trace=False, strict=False)
        except Exception as exc:
            raise TraceRefused(f"tracing failed: {type(exc).__name__}: {exc}") from exc
    for w in caught:
        if issubclass(w.category, torch.jit.TracerWarning):
            first = str(w.message).split(". ")[0]  # the rest is the same advice each time
            raise TraceRefused(f"the forward pass branches on values ({first})")
    return traced


def plain_trace(module: nn.Module, x: torch.Tensor) -> torch.jit.ScriptFunction:
    """The model alone, traced as ``trace_network`` traces it (the benchmark's raw_fps
    for an engine that runs a traced network)."""
    with torch.no_grad():
        return _trace(module, (x,))


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    if a.shape != b.shape:
        return False
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-3, atol=1e-4 * max(scale, 1e-6)))


def _freeze_input_sizes(graph: torch._C.Graph, index: int, shape: tuple[int, ...]) -> None:
    """Replace ``aten::size`` of graph input ``index`` by the sizes it had when traced
    (``bs = x.size(0)`` ... ``view(bs, -1)`` in a head): the graph is then for that shape."""
    value = list(graph.inputs())[index]
    for use in list(value.uses()):
        node = use.user
        if node.kind() != "aten::size":
            continue
        args = list(node.inputs())
        if len(args) == 1:
            size: int | list[int] = list(shape)
        else:
            dim = args[1].toIValue()
            if not isinstance(dim, int):
                continue  # a dim computed in the graph: left as it is (and refused)
            size = shape[dim]
        with graph.insert_point_guard(node):
            constant = graph.insertConstant(size)  # type: ignore[attr-defined]  # not in stubs
        node.output().replaceAllUsesWith(constant)
        node.destroy()


def _uses_input(graph: torch._C.Graph, index: int) -> bool:
    torch._C._jit_pass_dce(graph)
    return bool(list(graph.inputs())[index].uses())


@dataclass
class _Graphs:
    """The two graphs for one input shape."""

    body: torch.jit.ScriptFunction
    head: torch.jit.ScriptFunction | None
    last_weight: torch.Tensor | None


class TracedNetwork:
    """Runs ``body`` (inference thread) and ``cam`` (finishing thread). Build with
    ``trace_network``. A trace holds the shapes it saw (and a head that reads the input's
    size holds that size), so each input shape gets its own graphs, traced and checked
    against the eager model on the first input of that shape; SHAPES_KEPT are kept."""

    def __init__(self, build, layers: list[str], has_head_input: bool) -> None:
        self._build = build  # input -> _Graphs, or TraceRefused
        self._graphs: dict[tuple[int, ...], _Graphs] = {}
        self.layers = layers
        self.has_head_input = has_head_input

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """The input shapes traced so far, oldest first."""
        return list(self._graphs)

    def graphs(self, x: torch.Tensor) -> _Graphs:
        """The graphs for ``x``'s shape, traced now if it is new (TraceRefused when that
        shape cannot be traced faithfully)."""
        key = tuple(x.shape)
        found = self._graphs.get(key)
        if found is None:
            found = self._build(x)  # checks itself against the eager model on x
            self._graphs[key] = found
            for stale in list(self._graphs)[:-SHAPES_KEPT]:
                del self._graphs[stale]
        return found

    @property
    def last_weight(self) -> torch.Tensor | None:
        """When the logits are the last Linear applied to its input, ``head`` stops at
        that input and the target's gradient there is the Linear's weight row: the
        largest matrix of a classifier is then read by neither the forward nor the
        backward pass (mobilenet_v3_small: 4 MB of its 6.4 MB head)."""
        latest = list(self._graphs.values())[-1:]
        return latest[0].last_weight if latest else None

    def run(self, x: torch.Tensor) -> Traced:
        return self._run(self.graphs(x), x)

    def _run(self, graphs: _Graphs, x: torch.Tensor) -> Traced:
        with torch.no_grad():  # not inference_mode: Grad-CAM needs a normal tensor
            out = graphs.body(x)
        logits, rest = out[0], list(out[1:])
        head_input = rest.pop() if self.has_head_input else None
        return Traced(logits, dict(zip(self.layers, rest, strict=True)), head_input)

    def cam(self, x: torch.Tensor, activation: torch.Tensor, target: int) -> torch.Tensor:
        """Grad-CAM (raw H x W map) for ``target`` from the Grad-CAM layer's output."""
        return self._cam(self.graphs(x), x, activation, target)

    @staticmethod
    def _cam(graphs: _Graphs, x: torch.Tensor, activation: torch.Tensor, target: int):
        assert graphs.head is not None  # traced with a cam_layer
        leaf = activation.detach().requires_grad_(True)
        with torch.enable_grad():
            out = graphs.head(x, leaf)
            if graphs.last_weight is None:
                (grad,) = torch.autograd.grad(out[0, target], leaf)
            else:
                row = graphs.last_weight[target].reshape(out.shape)
                (grad,) = torch.autograd.grad(out, leaf, grad_outputs=row)
        return cam_from(leaf.detach(), grad)


def trace_network(
    module: nn.Module,
    x: torch.Tensor,
    layers: list[str],
    cam_layer: str | None = None,
    head_linear: nn.Module | None = None,
) -> TracedNetwork:
    """Trace ``module`` (eval mode, parameters frozen, as a LoadedModel's) on input ``x``
    with ``layers`` (and ``cam_layer``, whose output is recorded too) as outputs;
    ``head_linear``: a module whose input is returned as well. Raises TraceRefused when
    the trace would not be faithful. An input of another shape is traced when it comes."""
    names = list(dict.fromkeys(layers + ([cam_layer] if cam_layer else [])))
    modules = resolve(module, names)
    net = TracedNetwork(None, [], head_linear is not None)

    def build(inp: torch.Tensor) -> _Graphs:
        graphs, taps, ref_logits, reference = _build(module, modules, names, inp, cam_layer,
                                                     head_linear)  # fmt: skip
        if net.layers and taps != net.layers:
            raise TraceRefused(f"at input shape {tuple(inp.shape)} other layers run")
        net.layers = taps
        _check(net, graphs, module, inp, ref_logits, reference, cam_layer)
        return graphs

    net._build = build
    net.graphs(x)
    return net


def _build(module, modules, names, x, cam_layer, head_linear):
    """The graphs for ``x``'s shape, the layers they tap, and the eager reference."""
    # The eager reference: two passes, so the recorder learns which outputs an in-place
    # op changes later (those are cloned in the graph too).
    rec = ActivationRecorder(module, names)
    with torch.no_grad():
        for _ in range(2):
            with rec:
                ref_logits = module(x)
    if not isinstance(ref_logits, torch.Tensor):
        raise TraceRefused("the model's output is not one tensor")
    reference = rec.outputs
    taps = [n for n in names if n in reference]  # modules the pass never reaches: none

    store: dict[str, torch.Tensor] = {}

    def tap(name: str):
        def hook(_m, _i, out):
            t = first_tensor(out)
            if t is not None:
                store[name] = t.clone() if name in rec.clone_needed else t

        return hook

    def grab_input(_m, args):
        store["\0head_input"] = args[0].clone()

    def body(inp):
        store.clear()
        logits = module(inp)
        extra = [store["\0head_input"]] if head_linear is not None else []
        return (logits, *[store[n] for n in taps], *extra)

    grabs = [] if head_linear is None else [(head_linear, grab_input)]
    with hooks(forward=[(modules[n], tap(n)) for n in taps], forward_pre=grabs), torch.no_grad():
        body_graph = _trace(body, (x,))

    graphs = _Graphs(body_graph, None, None)
    if cam_layer is not None:
        last = _last_linear(body_graph, head_linear, x, ref_logits)
        graphs.head = _trace_head(module, modules[cam_layer], x, reference[cam_layer], last)
        graphs.last_weight = last.weight if last is not None else None
    return graphs, taps, ref_logits, reference


def _last_linear(body, linear, x, logits) -> nn.Linear | None:
    """``linear`` if the logits are exactly it applied to its input, else None."""
    if not isinstance(linear, nn.Linear):
        return None
    with torch.no_grad():
        h = body(x)[-1]
    if h.dim() != 2 or h.shape[0] != 1:
        return None
    with torch.no_grad():
        again = torch.nn.functional.linear(h, linear.weight, linear.bias)
    return linear if _close(again, logits) else None


def _trace_head(module, cam_module, x, activation, last: nn.Linear | None):
    """The graph from the Grad-CAM layer's output to the logits (or, given ``last``, to
    that Linear's input), for ``x``'s shape: the input's sizes, where the head reads them
    (``x.size(0)``), are constants."""
    store: dict[str, torch.Tensor] = {}

    def replace(_m, _i, _out):
        return store["a"].clone()  # a clone: an in-place op after the cut must not touch a

    def grab(_m, args):
        store["h"] = args[0]

    def head(inp, a):
        store["a"] = a
        logits = module(inp)
        return store["h"] if last is not None else logits

    grabs = [] if last is None else [(last, grab)]
    with hooks(forward=[(cam_module, replace)], forward_pre=grabs), torch.no_grad():
        graph = _trace(head, (x, activation.detach().clone()))
    _freeze_input_sizes(graph.graph, 0, tuple(x.shape))
    if _uses_input(graph.graph, 0):
        raise TraceRefused(
            "the layers after the Grad-CAM layer still need the network's input "
            "(a path goes around that layer)"
        )
    return graph


def _check(net, graphs, module, x, ref_logits, reference, cam_layer) -> None:
    for _ in range(3):  # the executor profiles the first runs, then optimises
        got = net._run(graphs, x)
    if not _close(got.logits, ref_logits):
        raise TraceRefused("the traced graph's output differs from the model's")
    for name, t in got.outputs.items():
        if not _close(t, reference[name]):
            raise TraceRefused(f"the traced graph's {name} differs from the model's")
    if cam_layer is None:
        return
    target = int(ref_logits[0].argmax())
    rec = ActivationRecorder(module, [], cam_layer)
    with rec, torch.enable_grad():
        logits = module(x)
    assert rec.cam_activation is not None  # the forward pass went through cam_layer
    expected = fast_gradcam(logits, rec.cam_activation, target)
    for _ in range(3):
        cam = net._cam(graphs, x, got.outputs[cam_layer], target)
    if not _close(cam, expected):
        raise TraceRefused("the traced Grad-CAM differs from the model's")
