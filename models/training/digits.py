"""Train the built-in digit CNN on an MNIST folder and save it as our checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from cnn_viewer.models.checkpoint import save_checkpoint
from cnn_viewer.models.data.mnist import (
    MNIST_MEAN,
    MNIST_STD,
    DataError,
    load_mnist_folder,
    split_indices,
)
from cnn_viewer.models.training.loop import Progress, evaluate, to_unit_tensor, train_classifier
from cnn_viewer.models.zoo.digits import digits_config, digits_info
from cnn_viewer.models.zoo.small_cnn import SmallCNN


def normalize_mnist(x: torch.Tensor) -> torch.Tensor:
    return (x - MNIST_MEAN) / MNIST_STD


def train_digits(
    data_dir: str | Path,
    out: str | Path,
    *,
    epochs: int = 30,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str = "cpu",
) -> dict:
    """Train on the train split, pick the best epoch on validation, report held-out test.

    Returns the metrics written into the checkpoint's metadata.
    """
    images, labels = load_mnist_folder(data_dir)
    split = split_indices(len(images))
    if any(len(v) == 0 for v in split.values()):
        raise DataError(
            f"{data_dir}: {len(images)} images are too few to split into training, "
            "validation and test sets (at least 5 are needed)"
        )
    x = to_unit_tensor(images)
    y = torch.from_numpy(labels.astype("int64"))
    torch.manual_seed(seed)
    module = SmallCNN(digits_config())
    result = train_classifier(
        module,
        x[split["train"]],
        y[split["train"]],
        x[split["val"]],
        y[split["val"]],
        normalize=normalize_mnist,
        epochs=epochs,
        seed=seed,
        on_progress=on_progress,
        should_stop=should_stop,
        device=device,
    )
    test_x, test_y = x[split["test"]].to(device), y[split["test"]].to(device)
    test_acc, _ = evaluate(module, normalize_mnist(test_x), test_y)
    metrics = {
        "train_images": int(len(split["train"])),
        "val_images": int(len(split["val"])),
        "test_images": int(len(split["test"])),
        "split": "test: index % 5 == 4; val: index % 10 == 3; train: the rest",
        "best_epoch": result["best_epoch"],
        "val_accuracy": round(result["best_val_accuracy"], 4),
        "test_accuracy": round(test_acc, 4),
        "epochs": epochs,
        "seed": seed,
    }
    save_checkpoint(out, module.state_dict(), digits_info(module.config, extra=metrics))
    return metrics
