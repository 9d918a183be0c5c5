"""The one training loop, Qt-free: the Train panel, `cnn-viewer train --data DIR` and
`cnn-viewer train digits` (the shipped digit CNN's recipe, training/digits.py) all run it.

It reports progress and snapshots through callbacks (called in the training thread), can
be paused, resumed and cancelled from any thread through a TrainControl, and records a
filter timeline: the first conv layers' weights and the feature maps of one fixed probe
image every few steps. A cancel keeps the weights of the last completed step. A recipe is
TrainSettings plus, where it needs them, its own augmentation (``augment_fn``) and stop
flag (``TrainControl(should_stop)``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_viewer.models.cancelled import Cancelled, stop_if
from cnn_viewer.models.hooks import hooks
from cnn_viewer.models.training.augment import augment_affine, augment_images

__all__ = ["augment_affine"]  # where callers have found it

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
WARMUP = 0.2  # share of the steps the one-cycle learning rate spends rising


@dataclass
class TrainSettings:
    epochs: int = 5
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    snapshot_every: int = 10  # steps between filter snapshots; 0: only the first (step 0)
    augment: bool = False  # small random shifts, turns and scaling of each batch
    device: str = "cpu"
    max_snapshots: int = 300  # beyond this the timeline keeps every other snapshot
    patience: int = 0  # stop after this many epochs (past the warm-up) without a better
    # validation (higher accuracy, or as high with a lower loss); 0: never
    max_seconds: float | None = None  # stop after the epoch that passes this time
    flips: bool = False  # augment: also mirror left-right (only where that keeps the class)


class TrainControl:
    """Pause, resume and cancel a running loop from another thread (threading.Event).

    ``should_stop``: also cancel when it returns True (asked between steps)."""

    def __init__(self, should_stop: Callable[[], bool] | None = None) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancel = threading.Event()
        self._should_stop = should_stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused loop wakes up to see the cancel

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Called by the loop between steps: waits while paused, raises Cancelled."""
        while not self._running.wait(0.1):
            pass
        stop_if(self._cancel.is_set, "cancelled")
        stop_if(self._should_stop, "cancelled")


@dataclass
class StepProgress:
    """One optimizer step (``val_*`` set only at the end of an epoch)."""

    epoch: int
    epochs: int
    step: int  # steps done in all, 1-based
    total_steps: int
    loss: float
    accuracy: float  # on this batch
    seconds: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    train_accuracy: float | None = None  # end of epoch: un-augmented training images

    @property
    def steps_per_epoch(self) -> int:
        return self.total_steps // max(self.epochs, 1)

    @property
    def epoch_step(self) -> int:
        """Steps done in this epoch, 1-based."""
        return self.step - (self.epoch - 1) * self.steps_per_epoch


@dataclass
class Snapshot:
    """The network at one step: ``filters`` layer -> out x in x kh x kw float32 weights;
    ``maps`` layer -> C x H x W float32 activations of the probe image."""

    step: int
    epoch: int
    filters: dict[str, np.ndarray]
    maps: dict[str, np.ndarray]


@dataclass
class Outcome:
    status: str  # 'finished', 'cancelled' or 'diverged'
    message: str
    steps: int
    seconds: float
    val_loss: float
    val_accuracy: float
    per_class_accuracy: list[float]  # NaN for a class without validation images
    confusion: np.ndarray  # K x K counts, rows: true class, columns: predicted
    history: list[dict] = field(default_factory=list)  # one entry per finished epoch
    timeline: list[Snapshot] = field(default_factory=list)
    best_epoch: int = 0  # the epoch whose weights were kept; 0: none (cancel or no epoch)


def first_convs(module: nn.Module, n: int = 2) -> list[str]:
    """Names of the first ``n`` Conv2d layers, in registration order."""
    return [name for name, m in module.named_modules() if isinstance(m, nn.Conv2d)][:n]


def probe_layers_for(module: nn.Module, convs: list[str]) -> list[str]:
    """What the probe shows: the activation right after each conv in a SmallCNN, else the
    conv layers themselves."""
    names = getattr(module, "_block_names", None)
    if not names:
        return list(convs)
    out = []
    for conv in convs:
        i = names.index(conv) if conv in names else -1
        after = [n for n in names[i + 1 : i + 3] if not n.startswith("bn")] if i >= 0 else []
        out.append(after[0] if after else conv)
    return out


def evaluate_full(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, classes: int, batch: int = 256
) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, K x K confusion) of ``module`` on normalised ``x``."""
    module.eval()
    confusion = torch.zeros(classes, classes, dtype=torch.int64)
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            logits = module(x[i : i + batch]).float()
            yb = y[i : i + batch]
            total += float(F.cross_entropy(logits, yb, reduction="sum"))
            idx = (yb * classes + logits.argmax(1)).cpu()
            confusion += torch.bincount(idx, minlength=classes * classes).view(classes, classes)
    n = max(len(x), 1)
    conf = confusion.numpy()
    return total / n, float(np.trace(conf)) / n, conf


def per_class(confusion: np.ndarray) -> list[float]:
    rows = confusion.sum(1)
    return [float(confusion[i, i] / r) if r else float("nan") for i, r in enumerate(rows)]


class _Recorder:
    """Takes snapshots: weights of ``convs`` and the probe's maps at ``probe_layers``."""

    def __init__(self, module, convs, probe_layers, probe, normalize) -> None:
        self.module, self.convs, self.layers = module, convs, probe_layers
        self.probe = normalize(probe) if probe is not None else None
        self.modules = dict(module.named_modules())

    def take(self, step: int, epoch: int) -> Snapshot:
        filters = {
            n: self.modules[n].weight.detach().float().cpu().numpy().copy() for n in self.convs
        }
        maps: dict[str, np.ndarray] = {}
        if self.probe is not None and self.layers:
            was_training = self.module.training
            keep = [(self.modules[n], self._keep(maps, n)) for n in self.layers]
            try:
                self.module.eval()
                with hooks(forward=keep), torch.inference_mode():
                    self.module(self.probe)
            finally:
                self.module.train(was_training)
        return Snapshot(step, epoch, filters, maps)

    @staticmethod
    def _keep(maps: dict[str, np.ndarray], name: str):
        def hook(_module, _inputs, out) -> None:
            maps[name] = out[0].detach().float().cpu().numpy().copy()

        return hook


def _set_train(module: nn.Module, frozen: list[nn.Module]) -> None:
    module.train()
    for m in frozen:
        m.eval()  # a frozen backbone keeps its BatchNorm statistics


def train_studio(
    module: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    *,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    num_classes: int,
    settings: TrainSettings | None = None,
    control: TrainControl | None = None,
    on_progress: Callable[[StepProgress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    frozen: list[nn.Module] | None = None,
    filter_layers: list[str] | None = None,
    augment_fn: Augment | None = None,
) -> Outcome:
    """Train ``module`` (its parameters with requires_grad) with AdamW (weight decay 1e-4)
    and a one-cycle schedule peaking at ``settings.lr`` after WARMUP of the steps.
    ``*_x``: N x C x H x W float in [0, 1] before ``normalize``; ``*_y``: int64.
    ``augment_fn(batch, generator)``, when given, replaces ``settings.augment``'s shifts
    and turns (a recipe's own augmentation; it draws its random numbers from the CPU
    ``generator``).

    Ends with the weights of the best validation epoch, or on cancel with those after the
    last completed step; then ``module`` is in eval mode. Never raises for a cancel.
    """
    s = settings or TrainSettings()
    control = control or TrainControl()
    frozen = frozen or []
    augment = augment_fn or (augment_images(s.flips) if s.augment else None)
    start = time.perf_counter()
    torch.manual_seed(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    device = torch.device(s.device)
    module.to(device)
    train_x, train_y, val_x, val_y = (t.to(device) for t in (train_x, train_y, val_x, val_y))
    val_n = normalize(val_x)
    pick = torch.linspace(0, len(train_x) - 1, min(len(train_x), 512)).long().to(device)
    train_probe_x, train_probe_y = normalize(train_x[pick]), train_y[pick]
    convs = first_convs(module) if filter_layers is None else filter_layers
    recorder = _Recorder(module, convs, probe_layers_for(module, convs), val_x[:1], normalize)
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    steps_per_epoch = math.ceil(len(train_x) / s.batch_size)
    total = s.epochs * steps_per_epoch
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=s.lr, total_steps=max(total, 1), pct_start=WARMUP
    )
    warm_epochs = math.ceil(WARMUP * s.epochs)  # patience waits for the rate to fall
    timeline = [recorder.take(0, 0)]
    if on_snapshot is not None:
        on_snapshot(timeline[-1])
    every = s.snapshot_every
    initial = {k: v.detach().clone() for k, v in module.state_dict().items()}
    best: tuple[float, int, dict | None] = (-1.0, 0, None)
    best_loss = math.inf
    history: list[dict] = []
    status, step, epoch, since_best, why_stop = "finished", 0, 0, 0, ""
    try:
        for epoch in range(1, s.epochs + 1):
            _set_train(module, frozen)
            order = torch.randperm(len(train_x), generator=gen)
            for i in range(steps_per_epoch):
                control.check()
                sel = order[i * s.batch_size : (i + 1) * s.batch_size].to(device)
                xb = train_x[sel]
                if augment is not None:
                    xb = augment(xb, gen)
                logits = module(normalize(xb))
                loss = F.cross_entropy(logits, train_y[sel])
                if not torch.isfinite(loss):
                    status = "diverged"
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                acc = float((logits.argmax(1) == train_y[sel]).float().mean())
                if on_progress is not None:
                    on_progress(
                        StepProgress(
                            epoch, s.epochs, step, total, loss.item(), acc,
                            time.perf_counter() - start,
                        )
                    )  # fmt: skip
                if every and (step % every == 0 or step == total):
                    timeline.append(recorder.take(step, epoch))
                    if len(timeline) > s.max_snapshots:
                        timeline = (
                            timeline[::2] if len(timeline) % 2 else timeline[::2] + [timeline[-1]]
                        )
                        every *= 2
                    if on_snapshot is not None:
                        on_snapshot(timeline[-1])
            if status == "diverged":
                break
            val_loss, val_acc, _ = evaluate_full(module, val_n, val_y, num_classes)
            _, train_acc, _ = evaluate_full(module, train_probe_x, train_probe_y, num_classes)
            history.append(
                {"epoch": epoch, "step": step, "loss": loss.item(), "val_loss": val_loss,
                 "val_accuracy": val_acc, "train_accuracy": train_acc}
            )  # fmt: skip
            since_best = 0 if epoch <= warm_epochs else since_best + 1
            if val_acc > best[0] or (val_acc == best[0] and val_loss < best_loss):
                state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                best, best_loss, since_best = (val_acc, epoch, state), val_loss, 0
            if on_progress is not None:
                on_progress(
                    StepProgress(
                        epoch, s.epochs, step, total, loss.item(), acc,
                        time.perf_counter() - start, val_loss, val_acc, train_acc,
                    )
                )  # fmt: skip
            if s.patience and since_best >= s.patience and epoch < s.epochs:
                why_stop = f"stopped at epoch {epoch}: no better validation for {s.patience} epochs"
                break
            if s.max_seconds and time.perf_counter() - start > s.max_seconds and epoch < s.epochs:
                why_stop = f"stopped at epoch {epoch}: the {s.max_seconds:.0f} s time cap"
                break
    except Cancelled:
        status = "cancelled"
    if status == "cancelled":
        if timeline[-1].step != step:
            timeline.append(recorder.take(step, epoch))
            if on_snapshot is not None:
                on_snapshot(timeline[-1])
        kept = f"the weights after step {step}"
        best = (best[0], 0, None)
    elif best[2] is not None:
        module.load_state_dict(best[2])
        kept = f"the weights of epoch {best[1]}, the best on validation"
    else:
        module.load_state_dict(initial)
        kept = "the weights from before training (no epoch finished)"
    val_loss, val_acc, confusion = evaluate_full(module, val_n, val_y, num_classes)
    seconds = time.perf_counter() - start
    if status == "diverged":
        message = (
            f"stopped at step {step + 1}: the loss is not a number (training diverged); "
            f"kept {kept}. Try a lower learning rate."
        )
    elif status == "cancelled":
        message = f"cancelled in epoch {epoch} after {step} of {total} steps; kept {kept}"
    elif why_stop:
        message = f"{why_stop} ({step} steps, {seconds:.1f} s); kept {kept}"
    else:
        message = f"finished {s.epochs} epochs ({step} steps) in {seconds:.1f} s; kept {kept}"
    message += f"; validation accuracy {val_acc:.1%} on {len(val_x)} images"
    return Outcome(
        status, message, step, seconds, val_loss, val_acc, per_class(confusion), confusion,
        history, timeline, best[1],
    )  # fmt: skip
