"""Capture layer outputs with forward hooks, and cut the graph for fast Grad-CAM.

Use as a context manager: hooks are registered on enter and always removed on exit,
even when the forward pass raises, so no hook is ever left on the model.
"""

from __future__ import annotations

from contextlib import ExitStack

import torch
from torch import nn

from cnn_viewer.models.hooks import hooks


class LayerNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


def first_tensor(out) -> torch.Tensor | None:
    """A module's output as one tensor: the first of a tuple (e.g. attention's (output,
    weights)), or None when it is no tensor."""
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        out = out[0]
    return out if isinstance(out, torch.Tensor) else None


def resolve(module: nn.Module, names: list[str]) -> dict[str, nn.Module]:
    """Map layer names to submodules; raise LayerNotFound naming the unknown ones."""
    modules = dict(module.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise LayerNotFound(
            f"no layer named {', '.join(map(repr, unknown))} in {type(module).__name__}; "
            "`cnn-viewer layers --model NAME` lists the names"
        )
    return {n: modules[n] for n in names}


class ActivationRecorder:
    """Records detached copies of the outputs of ``layers`` during forward passes.

    ``cam_layer``: if given, its output is swapped for a leaf tensor that requires
    grad, so ``autograd.grad(score, recorder.cam_activation)`` differentiates only the
    part of the network after that layer (parameters must be frozen).

    An in-place op after a layer (ReLU(inplace=True) after a conv) would overwrite its
    recorded output, so such outputs are cloned. Which ones is learned on the first
    pass (everything is cloned, then tensor version counters tell what was modified
    in place) and checked on every pass after; the rest are kept without a copy.
    Version counters need grad mode or no_grad, not inference_mode (where every
    output is cloned).
    """

    def __init__(self, module: nn.Module, layers: list[str], cam_layer: str | None = None) -> None:
        self.module = module
        self.targets = resolve(module, list(dict.fromkeys(layers)))
        self.cam_layer = cam_layer
        self.cam_module = resolve(module, [cam_layer])[cam_layer] if cam_layer else None
        self.outputs: dict[str, torch.Tensor] = {}
        self.cam_activation: torch.Tensor | None = None
        self.clone_needed: set[str] = set()  # layers whose output is modified in place
        self._learned = False
        self._watch: list[tuple[str, torch.Tensor, int]] = []
        self._hooks = ExitStack()  # holds the hooks from enter to exit

    def _record(self, name: str):
        def hook(_mod, _inp, out):
            out = first_tensor(out)
            if out is None:
                return
            t = out.detach()
            try:
                version = t._version
            except RuntimeError:  # an inference tensor keeps no version: always copy
                self.outputs[name] = t.clone()
                return
            copy = not self._learned or name in self.clone_needed
            self.outputs[name] = t.clone() if copy else t
            self._watch.append((name, t, version))

        return hook

    def _check_versions(self) -> None:
        """After a forward pass: note the layers whose outputs were changed in place."""
        for name, t, version in self._watch:
            if t._version != version:
                self.clone_needed.add(name)
        self._watch = []
        self._learned = True

    def _cut(self, _mod, _inp, out):
        if not isinstance(out, torch.Tensor):
            return None
        leaf = out.detach().requires_grad_(True)
        self.cam_activation = leaf
        if self.cam_layer in self.targets:
            self.outputs[self.cam_layer] = leaf.detach()
        # The network goes on with a copy, so an in-place op downstream cannot touch the
        # leaf (nor the recorded output, which shares its storage).
        return leaf.clone()

    def __enter__(self) -> ActivationRecorder:
        self.outputs = {}
        self.cam_activation = None
        self._watch = []
        # The cut first, so recording hooks on the same module see the cut tensor.
        cut = [] if self.cam_module is None else [(self.cam_module, self._cut)]
        record = [(m, self._record(n)) for n, m in self.targets.items() if n != self.cam_layer]
        self._hooks.enter_context(hooks(forward=[*cut, *record]))
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.remove()
        if exc_type is None:
            self._check_versions()
        self._watch = []

    def remove(self) -> None:
        """Take the hooks off the module now (exit does it too)."""
        self._hooks.close()
