"""The shipped digit CNN's recipe, run on the one training loop (studio.train_studio):
its augmentation, settings and held-out split; trains on an MNIST folder and saves our
checkpoint."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.checkpoint import save_checkpoint
from cnn_viewer.models.data.mnist import (
    MNIST_MEAN,
    MNIST_STD,
    DataError,
    load_mnist_folder,
    split_indices,
)
from cnn_viewer.models.training.studio import (
    StepProgress,
    TrainControl,
    TrainSettings,
    evaluate_full,
    train_studio,
)
from cnn_viewer.models.training.studio_run import to_tensor
from cnn_viewer.models.zoo.digits import digits_config, digits_info
from cnn_viewer.models.zoo.small_cnn import SmallCNN

DIGITS_EPOCHS = 40
SPLIT = "test: index % 5 == 4; val: index % 10 == 3; train: the rest"


def normalize_mnist(x: torch.Tensor) -> torch.Tensor:
    return (x - MNIST_MEAN) / MNIST_STD


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


def digits_settings(
    epochs: int = DIGITS_EPOCHS, seed: int = 0, device: str = "cpu"
) -> TrainSettings:
    """The recipe's settings of the one loop: batches of 64, one-cycle to 3e-3, no filter
    timeline (augmentation: ``augment_digits``, passed as the loop's ``augment_fn``)."""
    return TrainSettings(
        epochs=epochs, batch_size=64, lr=3e-3, seed=seed, snapshot_every=0, device=device
    )


def train_digits(
    data_dir: str | Path,
    out: str | Path,
    *,
    epochs: int = DIGITS_EPOCHS,
    seed: int = 0,
    on_progress: Callable[[StepProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str = "cpu",
) -> dict:
    """Train on the train split, pick the best epoch on validation, report held-out test.

    Returns the metrics written into the checkpoint's metadata. Raises Cancelled (and
    writes nothing) when ``should_stop()`` says so, ValueError if training diverged.
    """
    images, labels = load_mnist_folder(data_dir)
    split = split_indices(len(images))
    if any(len(v) == 0 for v in split.values()):
        raise DataError(
            f"{data_dir}: {len(images)} images are too few to split into training, "
            "validation and test sets (at least 5 are needed)"
        )
    x = to_tensor(images)
    y = torch.from_numpy(labels.astype("int64"))
    torch.manual_seed(seed)
    module = SmallCNN(digits_config())
    outcome = train_studio(
        module,
        x[split["train"]],
        y[split["train"]],
        x[split["val"]],
        y[split["val"]],
        normalize=normalize_mnist,
        num_classes=10,
        settings=digits_settings(epochs, seed, device),
        control=TrainControl(should_stop),
        on_progress=on_progress,
        augment_fn=augment_digits,
    )
    if outcome.status == "cancelled":
        raise Cancelled(outcome.message)
    if outcome.status == "diverged":
        raise ValueError(outcome.message)
    test_x, test_y = x[split["test"]].to(device), y[split["test"]].to(device)
    _, test_acc, _ = evaluate_full(module, normalize_mnist(test_x), test_y, 10)
    metrics = {
        "train_images": int(len(split["train"])),
        "val_images": int(len(split["val"])),
        "test_images": int(len(split["test"])),
        "split": SPLIT,
        "best_epoch": outcome.best_epoch,
        "val_accuracy": round(outcome.val_accuracy, 4),
        "test_accuracy": round(test_acc, 4),
        "epochs": epochs,
        "seed": seed,
    }
    save_checkpoint(out, module.state_dict(), digits_info(module.config, extra=metrics))
    return metrics
