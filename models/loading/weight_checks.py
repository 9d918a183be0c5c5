"""Checks on loaded weights. Qt-free.

NaN or infinite weights are refused, not loaded with a warning: one NaN in a conv kernel
or a BatchNorm statistic spreads to every later layer, so each prediction, probability
and feature map downstream would be NaN - nothing the viewer could show means anything.
Such files come from a training run that diverged (or are damaged); an earlier
checkpoint of that run is the way out.
"""

from __future__ import annotations

import torch
from torch import nn

from cnn_viewer.models.checkpoint import CheckpointError


def nonfinite_weights(module: nn.Module) -> list[tuple[str, int, int]]:
    """(name, NaN count, +-Inf count) for each parameter/buffer with non-finite values."""
    bad = []
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.is_meta:
                continue
            if bool(torch.isfinite(tensor).all()):
                continue
            nans = int(torch.isnan(tensor).sum())
            bad.append((name, nans, int((~torch.isfinite(tensor)).sum()) - nans))
    return bad


def check_finite_weights(module: nn.Module, source: str) -> None:
    """Raise CheckpointError naming ``source`` and the tensors if any weight is NaN/Inf."""
    bad = nonfinite_weights(module)
    if not bad:
        return
    total = sum(n + i for _, n, i in bad)
    shown = "; ".join(
        f"{name}: {', '.join(p for p in (f'{n} NaN' * bool(n), f'{i} Inf' * bool(i)) if p)}"
        for name, n, i in bad[:4]
    )
    more = f"; and {len(bad) - 4} more tensors" if len(bad) > 4 else ""
    values = "1 weight value is" if total == 1 else f"{total} weight values are"
    raise CheckpointError(
        f"{source}: refused: {values} NaN or infinite ({shown}{more}), so "
        "every output would be NaN. The training run that wrote it probably diverged, or "
        "the file is damaged; use an earlier checkpoint of that run."
    )
