"""A network's private copy, for work in another thread beside the live engine."""

from __future__ import annotations

import copy

import torch
from torch import nn


def _pass_hook_tables(module: nn.Module) -> list[dict]:
    """``module``'s own tables of the hooks that run in a forward or backward pass
    (``_forward_hooks``, ``_forward_pre_hooks_with_kwargs``, ``_backward_hooks``, ...)."""
    return [
        value
        for name, value in vars(module).items()
        if name.startswith(("_forward_", "_backward_")) and "hooks" in name
        if isinstance(value, dict)
    ]


def private_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` for saliency, feature visualisation, scans and probes
    beside the live engine: eval mode, parameters frozen, in-place ops off (an in-place
    ReLU would rewrite tensors that a backward hook or a recorded output still holds),
    and none of the original's forward or backward hooks (the engine's recorder never
    fires in the copy's passes, nor the copy's hooks in the engine's).

    The hook tables are not copied: deepcopy's memo hands it a new empty table for each.
    So the engine may add and remove its hooks while this runs (copying a table that
    changes size meanwhile would raise), and no hook's closure is copied with its state.
    """
    memo: dict[int, object] = {
        id(table): type(table)() for m in module.modules() for table in _pass_hook_tables(m)
    }
    twin = copy.deepcopy(module, memo)
    twin.eval()
    for m in twin.modules():
        # (in a TorchScript module the flag is a compiled constant, left as it is)
        if getattr(m, "inplace", False) and not isinstance(m, torch.jit.ScriptModule):
            # (torch types Module.__setattr__ for tensors and modules only)
            m.inplace = False  # type: ignore[assignment]
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin
