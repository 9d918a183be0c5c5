"""The training benchmark (`cnn-viewer bench --train`): generate a few small, varied image
sets, train each with the default recipe exactly as `cnn-viewer train --data DIR` does,
and measure accuracy on held-out images that neither training nor its validation split
saw, and the seconds it took. Qt-free."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from cnn_viewer.models.data.datasets import load_image_folder
from cnn_viewer.models.data.synthetic_sets import write_set
from cnn_viewer.models.training.recipe import Overrides
from cnn_viewer.models.training.studio import evaluate_full
from cnn_viewer.models.training.studio_run import prepare, run, to_tensor
from cnn_viewer.models.zoo.studio_models import ArchOptions


@dataclass
class SetResult:
    name: str
    classes: list[str]
    train_images: int  # training + validation split
    test_images: int
    held_out_accuracy: float
    val_accuracy: float
    epochs: int  # epochs run
    best_epoch: int
    seconds: float  # reading the images, training and the held-out test
    recipe: str
    notes: list[str]

    def line(self) -> str:
        return (
            f"{self.name:<8} {len(self.classes)} classes, {self.train_images} images to train "
            f"on, {self.test_images} held out: held-out accuracy {self.held_out_accuracy:.1%}"
            f" (validation {self.val_accuracy:.1%}, best epoch {self.best_epoch} of "
            f"{self.epochs}) in {self.seconds:.0f} s"
        )


def bench_set(
    folder: Path,
    *,
    seed: int = 0,
    transfer: bool = True,
    epochs: int | None = None,
    device: str = "cpu",
) -> SetResult:
    """Train on ``folder/train`` with the defaults (``epochs``: at most this many instead
    of the recipe's); test on ``folder/test``."""
    start = time.perf_counter()
    prepared = prepare(folder / "train", ArchOptions(arch="auto"), seed=seed, transfer=transfer)
    overrides = Overrides(epochs=epochs, seed=seed, snapshot_every=0, device=device)
    settings = prepared.settings(overrides)
    outcome = run(prepared, settings)
    test = load_image_folder(folder / "test", prepared.built.prep)
    if test.classes != prepared.classes:
        raise ValueError(f"{folder}: test classes {test.classes} differ from training's")
    module = prepared.built.module
    x = prepared.normalize(to_tensor(test.images).to(settings.device))
    y = torch.from_numpy(test.labels).to(settings.device)
    _, accuracy, _ = evaluate_full(module, x, y, len(test.classes))
    return SetResult(
        name=folder.name,
        classes=prepared.classes,
        train_images=len(prepared.train_y) + len(prepared.val_y),
        test_images=len(test.labels),
        held_out_accuracy=accuracy,
        val_accuracy=outcome.val_accuracy,
        epochs=len(outcome.history),
        best_epoch=outcome.best_epoch,
        seconds=time.perf_counter() - start,
        recipe=prepared.describe(settings),
        notes=[*prepared.notes, *prepared.built.notes],
    )


def bench_training(
    root: str | Path,
    names: list[str],
    *,
    per_class: int = 72,
    seed: int = 0,
    transfer: bool = True,
    epochs: int | None = None,
    device: str = "cpu",
    on_result: Callable[[SetResult], None] | None = None,
) -> list[SetResult]:
    """Write each set in ``names`` (synthetic_sets.SETS) under ``root`` and bench it."""
    results = []
    for name in names:
        folder = write_set(root, name, per_class, seed=seed)
        result = bench_set(folder, seed=seed, transfer=transfer, epochs=epochs, device=device)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
