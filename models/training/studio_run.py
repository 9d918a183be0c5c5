"""One training run from a folder to a checkpoint: read and split the data, build the
network, train with the studio loop, save. Qt-free; the Train panel calls these in its
worker thread, `cnn-viewer train` in the main thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnn_viewer.models.checkpoint import save_checkpoint
from cnn_viewer.models.data.datasets import (
    ImageSet,
    check_classes,
    class_folders,
    detect_kind,
    load_image_folder,
    split_train_val,
)
from cnn_viewer.models.data.mnist import DataError, load_mnist_folder
from cnn_viewer.models.training import recipe
from cnn_viewer.models.training.studio import (
    Outcome,
    StepProgress,
    TrainControl,
    TrainSettings,
    train_studio,
)
from cnn_viewer.models.zoo.studio_models import ArchOptions, Built, build, checkpoint_info


@dataclass
class Prepared:
    """Data split into tensors (N x C x H x W float in [0, 1]) and a fresh network."""

    built: Built
    data: ImageSet
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    seed: int
    notes: list[str] = field(default_factory=list)  # what the recipe chose, and why

    def settings(self, overrides: recipe.Overrides) -> TrainSettings:
        """The run settings for this network and data: the recipe's, with ``overrides``."""
        return recipe.choose_settings(self.built.arch, self.data.kind, overrides)

    def describe(self, settings: TrainSettings) -> str:
        """The one 'recipe: ...' line for a run of this network with ``settings``."""
        config = self.built.config
        if self.built.arch == "small_cnn":
            blocks = len(config["channels"])
            bn = " with BatchNorm" if config.get("batchnorm") else ""
            chans = ",".join(str(c) for c in config["channels"])
            network = f"small CNN from scratch ({blocks} conv blocks{bn}: {chans} filters)"
        else:
            trained = "its head" if self.built.frozen else "every layer"
            network = f"{config['name']} fine-tuned ({trained} trains)"
        h, w = self.built.prep.input_size
        return recipe.describe(network, (h, w), settings)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.built.prep.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.built.prep.std, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    @property
    def classes(self) -> list[str]:
        return self.data.classes


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """N x H x W or N x H x W x 3 uint8 -> N x C x H x W float32 in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255)
    return t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()


def prepare(
    folder: str | Path,
    options: ArchOptions,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    on_load: Callable[[int, int], None] | None = None,
    on_download: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    transfer: bool = True,
) -> Prepared:
    """Read ``folder`` (MNIST IDX files or class sub-folders, detected), build the network
    for its classes (``options.arch`` 'auto': the recipe's choice; ``transfer`` False: never
    the pretrained one) and split off a stratified validation set. DataError / ValueError
    with a plain message for data or options that cannot train."""
    folder = Path(folder)
    kind = detect_kind(folder)
    if kind == "folder":
        names = [c.name for c in class_folders(folder)]
        raw = None
    else:
        raw = load_mnist_folder(folder)
        names = [str(i) for i in range(int(raw[1].max()) + 1)] if len(raw[1]) else []
    check_classes(ImageSet(np.zeros(0), np.zeros(0, np.int64), names, kind, str(folder)))
    options, notes = recipe.choose_network(
        options, kind, folder, transfer=transfer, on_download=on_download,
        should_cancel=should_cancel,
    )  # fmt: skip
    torch.manual_seed(seed)
    built = build(options, len(names), kind, on_download, should_cancel)
    if raw is None:
        data = load_image_folder(folder, built.prep, on_load)
    else:
        images, labels = raw
        if tuple(built.prep.input_size) != (28, 28) or built.prep.channels != 1:
            images = np.stack([built.prep.to_network_image(im) for im in images])
        data = ImageSet(images, labels.astype(np.int64), names, "mnist", str(folder))
    train_idx, val_idx = split_train_val(data.labels, data.classes, val_fraction, seed)
    x, y = to_tensor(data.images), torch.from_numpy(data.labels)
    if built.arch == "small_cnn" and kind == "folder":  # normalise with the training set's stats
        tx = x[train_idx]
        mean = tx.mean(dim=(0, 2, 3))
        std = tx.std(dim=(0, 2, 3)).clamp_min(0.02)
        built.prep.mean = tuple(round(float(v), 5) for v in mean)
        built.prep.std = tuple(round(float(v), 5) for v in std)
    ti, vi = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
    return Prepared(built, data, x[ti], y[ti], x[vi], y[vi], seed, notes)


def run(
    prepared: Prepared,
    settings: TrainSettings,
    control: TrainControl | None = None,
    on_progress: Callable[[StepProgress], None] | None = None,
    on_snapshot=None,
) -> Outcome:
    settings.seed = prepared.seed
    return train_studio(
        prepared.built.module,
        prepared.train_x,
        prepared.train_y,
        prepared.val_x,
        prepared.val_y,
        normalize=prepared.normalize,
        num_classes=len(prepared.classes),
        settings=settings,
        control=control,
        on_progress=on_progress,
        on_snapshot=on_snapshot,
        frozen=prepared.built.frozen,
    )


def save(path: str | Path, prepared: Prepared, outcome: Outcome, settings: TrainSettings) -> None:
    """Write the trained network as our checkpoint (loads with --checkpoint FILE)."""
    if Path(path).is_dir():
        raise DataError(f"{path} is a folder; give the checkpoint file to write")
    p, data = prepared.built.prep, prepared.data
    extra = {
        "trained_by": "cnn-viewer training studio",
        "data": data.source,
        "data_kind": data.kind,
        "train_images": int(len(prepared.train_y)),
        "val_images": int(len(prepared.val_y)),
        "skipped_images": len(data.skipped),
        "epochs": settings.epochs,
        "steps": outcome.steps,
        "seed": prepared.seed,
        "status": outcome.status,
        "val_accuracy": round(outcome.val_accuracy, 4),
        "per_class_accuracy": [round(a, 4) for a in outcome.per_class_accuracy],
    }
    digits = [str(i) for i in range(10)]
    if data.kind == "mnist" and p.channels == 1 and tuple(p.input_size) == (28, 28):
        if prepared.classes == digits:
            extra["task"] = "digits"  # the viewer centres pad drawings as for MNIST
    module = prepared.built.module
    save_checkpoint(
        path, module.state_dict(), checkpoint_info(prepared.built, prepared.classes, extra)
    )
