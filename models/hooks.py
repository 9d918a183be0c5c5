"""The one way hooks go on a network here: for the length of a ``with`` block, never longer.

Every reader of layer outputs (the engine's recorder, taps, traces, saliency, the layer
table) hooks modules for a pass or a trace and must leave none behind, whether the pass
raises or a registration fails halfway. ``hooks`` registers and removes them in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle

# A (module, hook function) pair; the function has torch's signature for its kind:
# forward ``fn(module, args, output)``, forward_pre ``fn(module, args)``.
Hook = tuple[nn.Module, Callable[..., Any]]


@contextmanager
def hooks(*, forward: Iterable[Hook] = (), forward_pre: Iterable[Hook] = ()) -> Iterator[None]:
    """Register each (module, fn) as a forward hook (``forward``) or forward pre-hook
    (``forward_pre``) for the block; remove every one on leaving it, also when the block
    raises or when registering (or making the next pair of a generator) fails midway.

    Pairs of one kind are registered in the order given, so hooks on one module run in
    that order. ``with hooks(forward=[(conv, keep)]), torch.no_grad(): module(x)``
    """
    handles: list[RemovableHandle] = []
    try:
        for module, fn in forward_pre:
            handles.append(module.register_forward_pre_hook(fn))
        for module, fn in forward:
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for handle in handles:
            handle.remove()
