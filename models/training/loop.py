"""A Qt-free training loop: progress through a callback, cancel through a flag."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Progress:
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    val_accuracy: float | None = None  # set at the end of each epoch


class Cancelled(Exception):
    """Raised inside the loop when the caller's should_stop() says so."""


def augment_digits(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random small shifts, rotations, scale and stroke thickness on N x 1 x H x W in [0, 1].

    The random numbers come from ``gen`` on the CPU (the same on every device)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(15)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.15
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (3 / 14)  # +-3 px in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    thick = F.max_pool2d(x, 3, 1, 1)
    thin = -F.max_pool2d(-x, 3, 1, 1)
    choice = torch.randint(0, 4, (n, 1, 1, 1), generator=gen).to(x.device)  # 2 thick, 3 thin
    x = torch.where(choice == 2, thick, torch.where(choice == 3, thin, x))
    return x


def evaluate(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000
) -> tuple[float, torch.Tensor]:
    """Accuracy and predictions of ``module`` on normalised inputs ``x``."""
    module.eval()
    preds = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            preds.append(module(x[i : i + batch]).argmax(1))
    pred = torch.cat(preds)
    return float((pred == y).float().mean()), pred


def train_classifier(
    module: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    *,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = augment_digits,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str = "cpu",
) -> dict:
    """Train with AdamW and a one-cycle schedule; keep the weights of the best validation epoch.

    ``train_x``/``val_x``: N x C x H x W float in [0, 1] (before ``normalize``).
    Returns {"best_val_accuracy", "best_epoch", "history"}; ``module`` ends in eval mode
    on ``device`` holding the best weights. Raises Cancelled (best weights so far kept) on cancel.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    module.to(device)
    train_x, train_y, val_x, val_y = (t.to(device) for t in (train_x, train_y, val_x, val_y))
    steps = math.ceil(len(train_x) / batch_size)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    val_n = normalize(val_x)
    best = (-1.0, 0, {k: v.clone() for k, v in module.state_dict().items()})
    history = []
    try:
        for epoch in range(1, epochs + 1):
            module.train()
            order = torch.randperm(len(train_x), generator=gen)
            for step in range(steps):
                if should_stop is not None and should_stop():
                    raise Cancelled(f"cancelled in epoch {epoch}, step {step}")
                sel = order[step * batch_size : (step + 1) * batch_size].to(device)
                xb = train_x[sel]
                if augment is not None:
                    xb = augment(xb, gen)
                loss = F.cross_entropy(module(normalize(xb)), train_y[sel])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if on_progress is not None:
                    on_progress(Progress(epoch, epochs, step + 1, steps, loss.item()))
            acc, _ = evaluate(module, val_n, val_y)
            history.append({"epoch": epoch, "loss": loss.item(), "val_accuracy": acc})
            if acc > best[0]:
                best = (acc, epoch, {k: v.clone() for k, v in module.state_dict().items()})
            if on_progress is not None:
                on_progress(Progress(epoch, epochs, steps, steps, loss.item(), acc))
    finally:
        module.load_state_dict(best[2])
        module.eval()
    return {"best_val_accuracy": best[0], "best_epoch": best[1], "history": history}


def to_unit_tensor(images: np.ndarray) -> torch.Tensor:
    """N x H x W uint8 -> N x 1 x H x W float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255).unsqueeze(1)
