"""The shipped digit CNN: its architecture, its checkpoint metadata and its weights
(resources/digits.safetensors), or the same network with random weights."""

from __future__ import annotations

from cnn_viewer.models.checkpoint import CheckpointInfo
from cnn_viewer.models.data.drawing import as_digits
from cnn_viewer.models.data.mnist import MNIST_MEAN, MNIST_STD
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.own_checkpoint import build_from_checkpoint, wrap_small_cnn
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig
from cnn_viewer.resources import RESOURCES

DIGITS_CHECKPOINT = RESOURCES / "digits.safetensors"


def load_digits(
    weights: str, input_size: tuple[int, int] | None, channels: int | None
) -> LoadedModel:
    if weights == "none":
        config = digits_config()
        config.in_channels = channels or config.in_channels
        config.input_size = input_size or config.input_size
        module = SmallCNN(config)
        info = digits_info(module.config)
        info.channels = config.in_channels
        loaded = wrap_small_cnn(module, info, name="digits", source="random weights")
        if config.in_channels == 1:  # the digit rule: MNIST centring (a gray digit model)
            loaded.is_digits, loaded.preprocess = True, as_digits(loaded.preprocess)
        loaded.labels_source = "the digits 0-9"
        loaded.notes.append("random weights (--weights none): predictions are meaningless")
        return loaded
    loaded = build_from_checkpoint(DIGITS_CHECKPOINT)
    loaded.name = "digits"
    if (input_size or loaded.input_size) != loaded.input_size or (
        channels or loaded.channels
    ) != loaded.channels:
        raise ValueError(
            f"the shipped digits weights take {loaded.channels} x {loaded.input_size[0]} x "
            f"{loaded.input_size[1]} input; for another size or channel count use --weights none "
            "(random weights) or a checkpoint"
        )
    return loaded


def digits_config() -> SmallCNNConfig:
    """The shipped digit CNN: three 5x5 conv blocks (8, 16, 32 channels), fc 64, fc 10."""
    return SmallCNNConfig(
        in_channels=1,
        num_classes=10,
        input_size=(28, 28),
        channels=[8, 16, 32],
        kernel_size=5,
        padding=2,
        activation="relu",
        pool="max",
        hidden=64,
        dropout=0.2,
    )


def digits_info(config: SmallCNNConfig, extra: dict | None = None) -> CheckpointInfo:
    """Our checkpoint metadata for a digit network with ``config`` (MNIST normalisation)."""
    return CheckpointInfo(
        arch="small_cnn",
        config=config.to_dict(),
        labels=[str(i) for i in range(10)],
        input_size=config.input_size,
        channels=1,
        mean=[MNIST_MEAN],
        std=[MNIST_STD],
        extra={"task": "digits", **(extra or {})},
    )
