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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from cnn_viewer.core.explain.saliency import cam_from, fast_gradcam
from cnn_viewer.core.hooks.recorder import ActivationRecorder, first_tensor, resolve
from cnn_viewer.models.hooks import hooks


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


def _uses_input(graph: torch._C.Graph, index: int) -> bool:
    torch._C._jit_pass_dce(graph)
    return bool(list(graph.inputs())[index].uses())


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    if a.shape != b.shape:
        return False
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-3, atol=1e-4 * max(scale, 1e-6)))


class TracedNetwork:
    """Runs ``body`` (inference thread) and ``cam`` (finishing thread). Build with
    ``trace_network``."""

    def __init__(self, body, head, layers: list[str], has_head_input: bool) -> None:
        self.body = body
        self.head = head
        self.layers = layers
        self.has_head_input = has_head_input
        # When the logits are the last Linear applied to its input, ``head`` stops at
        # that input and the target's gradient there is the Linear's weight row: the
        # largest matrix of a classifier is then read by neither the forward nor the
        # backward pass (mobilenet_v3_small: 4 MB of its 6.4 MB head).
        self.last_weight: torch.Tensor | None = None

    def run(self, x: torch.Tensor) -> Traced:
        with torch.no_grad():  # not inference_mode: Grad-CAM needs a normal tensor
            out = self.body(x)
        logits, rest = out[0], list(out[1:])
        head_input = rest.pop() if self.has_head_input else None
        return Traced(logits, dict(zip(self.layers, rest, strict=True)), head_input)

    def cam(self, x: torch.Tensor, activation: torch.Tensor, target: int) -> torch.Tensor:
        """Grad-CAM (raw H x W map) for ``target`` from the Grad-CAM layer's output."""
        leaf = activation.detach().requires_grad_(True)
        with torch.enable_grad():
            out = self.head(x, leaf)
            if self.last_weight is None:
                (grad,) = torch.autograd.grad(out[0, target], leaf)
            else:
                row = self.last_weight[target].reshape(out.shape)
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
    the trace would not be faithful."""
    names = list(dict.fromkeys(layers + ([cam_layer] if cam_layer else [])))
    modules = resolve(module, names)
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

    net = TracedNetwork(body_graph, None, taps, head_linear is not None)
    if cam_layer is not None:
        last = _last_linear(net, head_linear, x, ref_logits)
        net.head = _trace_head(module, modules[cam_layer], x, reference[cam_layer], last)
        net.last_weight = last.weight if last is not None else None
    _check(net, module, x, ref_logits, reference, cam_layer)
    return net


def _last_linear(net: TracedNetwork, linear, x, logits) -> nn.Linear | None:
    """``linear`` if the logits are exactly it applied to its input, else None."""
    if not isinstance(linear, nn.Linear):
        return None
    h = net.run(x).head_input
    if h is None or h.dim() != 2 or h.shape[0] != 1:
        return None
    with torch.no_grad():
        again = torch.nn.functional.linear(h, linear.weight, linear.bias)
    return linear if _close(again, logits) else None


def _trace_head(module, cam_module, x, activation, last: nn.Linear | None):
    """The graph from the Grad-CAM layer's output to the logits (or, given ``last``, to
    that Linear's input)."""
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
    if _uses_input(graph.graph, 0):
        raise TraceRefused(
            "the layers after the Grad-CAM layer still need the network's input "
            "(a path goes around that layer)"
        )
    return graph


def _check(net, module, x, ref_logits, reference, cam_layer) -> None:
    for _ in range(3):  # the executor profiles the first runs, then optimises
        got = net.run(x)
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
        cam = net.cam(x, got.outputs[cam_layer], target)
    if not _close(cam, expected):
        raise TraceRefused("the traced Grad-CAM differs from the model's")
