"""The default training recipe: what `cnn-viewer train --data DIR` and the Train panel
use for whatever the person leaves on "auto". Qt-free.

- MNIST keeps its own recipe: the small CNN at 28 x 28 gray, 10 epochs, no augmentation.
- Image folders and camera snapshots: fine-tune a pretrained mobilenet_v3_small (only its
  head trains) when its weights are in torch's cache or can be downloaded; otherwise (and
  it says so) a small CNN with BatchNorm and a global average pool trained from scratch,
  at an input size chosen from the images. Both: affine and colour augmentation (no
  mirroring unless asked: it would turn a 'b' into a 'd'), AdamW with a one-cycle rate,
  as long as validation improves (patience), the best epoch kept.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from cnn_viewer.models.data.datasets import class_folders, image_files
from cnn_viewer.models.training.studio import TrainSettings
from cnn_viewer.models.zoo.studio_models import ArchOptions

TRANSFER_ARCH = "mobilenet_v3_small"
TRANSFER_SIDE = 160  # px: pretrained features hold up, and a CPU keeps pace
SCRATCH_CHANNELS = [32, 64, 128, 128]  # 16,32,64,64 was 3.7x cheaper but 0.88 vs 0.97 on shapes
MIN_SIDE, MAX_SIDE = 32, 64


@dataclass
class Overrides:
    """Training settings the person chose; None: the recipe's choice."""

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    augment: bool | None = None
    flips: bool = False  # mirror images left-right (only where that keeps the class)
    patience: int | None = None
    max_seconds: float | None = None
    seed: int = 0
    snapshot_every: int = 10
    device: str = "cpu"


def input_side(folder: str | Path, sample: int = 40) -> int:
    """The square input side for an image folder: the median short side of (a sample of)
    its images, in steps of 16 px between MIN_SIDE and MAX_SIDE."""
    from PIL import Image

    files = [f for c in class_folders(Path(folder)) for f in image_files(c)]
    step = max(1, len(files) // sample)
    sides = []
    for f in files[::step]:
        try:
            with Image.open(f) as im:
                sides.append(min(im.size))
        except OSError:
            continue  # the loader reports unreadable files
    short = int(statistics.median(sides)) if sides else MAX_SIDE
    return max(MIN_SIDE, min(MAX_SIDE, short // 16 * 16))


def scratch_network(side: int) -> ArchOptions:
    """The from-scratch image network: four conv blocks (3 x 3, BatchNorm, ReLU, max
    pool), a global average pool, 64 hidden units."""
    return ArchOptions(
        arch="small",
        channels=list(SCRATCH_CHANNELS),
        kernel_size=3,
        hidden=64,
        dropout=0.2,
        batchnorm=True,
        global_pool=True,
        input_size=(side, side),
        in_channels=3,
    )


def choose_network(
    options: ArchOptions,
    kind: str,
    folder: str | Path,
    *,
    transfer: bool = True,
    on_download=None,
    should_cancel=None,
) -> tuple[ArchOptions, list[str]]:
    """``options`` with arch 'auto' resolved (and, for the small CNN on images, an input
    size from the data when none was given), and the plain lines that say what was
    chosen and why."""
    if options.arch != "auto":
        if options.arch in ("small", "small_cnn") and kind == "folder" and not options.input_size:
            side = input_side(folder)
            return replace(options, input_size=(side, side)), [
                f"input size {side}x{side} (from the images)"
            ]
        return options, []
    if kind == "mnist":
        return ArchOptions(arch="small"), []
    side = input_side(folder)
    if not transfer:
        return scratch_network(side), []
    from cnn_viewer.models.zoo.loaded import WeightsUnavailable
    from cnn_viewer.models.zoo.studio_models import pretrained_state

    try:
        pretrained_state(TRANSFER_ARCH, on_download, should_cancel)
    except WeightsUnavailable as exc:
        return scratch_network(side), [f"{exc.headline}: training a small CNN from scratch instead"]
    side = TRANSFER_SIDE
    return ArchOptions(arch=TRANSFER_ARCH, input_size=(side, side)), []


def choose_settings(arch: str, kind: str, o: Overrides) -> TrainSettings:
    """The run settings for network ``arch`` ('small_cnn' or 'torchvision') on data of
    ``kind``, with what ``o`` sets kept."""
    if kind == "mnist":
        base = TrainSettings(epochs=10, batch_size=32, lr=5e-3, augment=False)
    elif arch == "torchvision":
        base = TrainSettings(epochs=30, batch_size=16, lr=3e-3, augment=True, patience=8)
    else:
        base = TrainSettings(epochs=120, batch_size=16, lr=3e-3, augment=True, patience=25)
    if kind != "mnist" and o.max_seconds is None:
        base.max_seconds = 210.0  # a few minutes at most, on a small CPU
    return replace(
        base,
        epochs=o.epochs or base.epochs,
        batch_size=o.batch_size or base.batch_size,
        lr=o.lr or base.lr,
        augment=base.augment if o.augment is None else o.augment,
        flips=o.flips,
        patience=base.patience if o.patience is None else o.patience,
        max_seconds=o.max_seconds if o.max_seconds is not None else base.max_seconds,
        seed=o.seed,
        snapshot_every=o.snapshot_every,
        device=o.device,
    )


def describe(network: str, side: tuple[int, int], s: TrainSettings) -> str:
    """One line: the recipe a run uses."""
    if s.augment:
        aug = "augmentation: shifts, turns, scaling, colour" + (", mirroring" if s.flips else "")
    else:
        aug = "no augmentation"
    length = f"up to {s.epochs} epochs"
    if s.patience:
        length += f", stopping after {s.patience} without a better validation"
    if s.max_seconds:
        length += f" or after {s.max_seconds:.0f} s"
    return (
        f"recipe: {network}, input {side[0]}x{side[1]}; {aug}; {length}; AdamW, one-cycle "
        f"learning rate peaking at {s.lr:g}, batch {s.batch_size}; the best epoch is kept"
    )
