"""Capture layer outputs with forward hooks, and cut the graph for fast Grad-CAM.

Use as a context manager: hooks are registered on enter and always removed on exit,
even when the forward pass raises, so no hook is ever left on the model.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


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
    part of the network after that layer (parameters must be frozen). Outputs are
    cloned: an in-place activation after a layer would otherwise overwrite them.
    """

    def __init__(self, module: nn.Module, layers: list[str], cam_layer: str | None = None) -> None:
        self.module = module
        self.targets = resolve(module, list(dict.fromkeys(layers)))
        self.cam_layer = cam_layer
        self.cam_module = resolve(module, [cam_layer])[cam_layer] if cam_layer else None
        self.outputs: dict[str, torch.Tensor] = {}
        self.cam_activation: torch.Tensor | None = None
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _record(self, name: str):
        def hook(_mod, _inp, out):
            if isinstance(out, torch.Tensor):
                self.outputs[name] = out.detach().clone()
            elif isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
                self.outputs[name] = out[0].detach().clone()  # e.g. attention (out, weights)

        return hook

    def _cut(self, _mod, _inp, out):
        if not isinstance(out, torch.Tensor):
            return None
        leaf = out.detach().requires_grad_(True)
        self.cam_activation = leaf
        if self.cam_layer in self.targets:
            self.outputs[self.cam_layer] = out.detach().clone()
        # A non-leaf view of the leaf, so an in-place op downstream cannot touch the leaf.
        return leaf.clone()

    def __enter__(self) -> ActivationRecorder:
        self.outputs = {}
        self.cam_activation = None
        try:
            if self.cam_module is not None:
                # Registered first so recording hooks on the same module see the cut tensor.
                self._handles.append(self.cam_module.register_forward_hook(self._cut))
            for name, mod in self.targets.items():
                if name != self.cam_layer:
                    self._handles.append(mod.register_forward_hook(self._record(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
