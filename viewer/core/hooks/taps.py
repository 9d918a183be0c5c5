"""Read chosen layers' outputs in one forward pass, and stop the pass once all are read.

Unlike the engine's recorder, a tap keeps the autograd graph (outputs are cloned, not
detached), so feature visualisation can differentiate through what it reads.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from cnn_viewer.core.hooks.recorder import first_tensor, resolve
from cnn_viewer.models.hooks import hooks


class _StopForward(Exception):
    """Raised from a hook to skip the rest of the network."""


class Taps:
    """``Taps(module, ["conv2", "fc1"]).run(x)`` -> {name: output tensor (N x ...)}.

    A module called several times per pass (torchvision's shared ReLU in a ResNet block)
    gives its last call's output, as in the engine. The first ``run`` goes through the
    whole network to count those calls; later runs stop after the last needed one.
    ``stop=False`` always runs the whole network (e.g. to read the logits too).
    """

    def __init__(self, module: nn.Module, layers: list[str], stop: bool = True) -> None:
        self.module = module
        self.layers = list(dict.fromkeys(layers))
        self.targets = resolve(module, self.layers)
        self.stop = stop
        self.calls: dict[str, int] | None = None  # calls per pass, learned on the first run
        self._seen: dict[str, int] = {}
        self._outputs: dict[str, torch.Tensor] = {}

    def _hook(self, name: str):
        def hook(_mod, _inp, out):
            t = first_tensor(out)
            if t is None:
                return
            self._outputs[name] = t.clone()  # an in-place op downstream must not change it
            self._seen[name] = self._seen.get(name, 0) + 1
            if self.stop and self.calls is not None and self._seen == self.calls:
                raise _StopForward

        return hook

    def run(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self._outputs, self._seen = {}, {}
        taps = [(m, self._hook(n)) for n, m in self.targets.items()]
        with hooks(forward=taps), contextlib.suppress(_StopForward):
            self.module(x)
        if self.calls is None:
            self.calls = dict(self._seen)
        missing = [n for n in self.layers if n not in self._outputs]
        if missing:
            raise ValueError(
                f"layer(s) {', '.join(missing)} produced no tensor output in a forward pass"
            )
        return self._outputs
