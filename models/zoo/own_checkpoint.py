"""Rebuild a network from one of our self-describing checkpoints: the small CNN, or a
torchvision model fine-tuned by the studio."""

from __future__ import annotations

from pathlib import Path

from cnn_viewer.models.checkpoint import CheckpointError, CheckpointInfo, read_checkpoint
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze, load_state
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig
from cnn_viewer.models.zoo.studio_models import prep_from_info


def build_from_checkpoint(path: str | Path) -> LoadedModel:
    """Rebuild a network from one of our self-describing checkpoints."""
    tensors, info = read_checkpoint(path)
    if info.arch == "torchvision":  # fine-tuned by the training studio
        from cnn_viewer.models.zoo.studio_models import torchvision_from_checkpoint

        return torchvision_from_checkpoint(tensors, info, path)
    if info.arch != "small_cnn":
        raise CheckpointError(f"{path}: architecture {info.arch!r} is not one this version builds")
    try:
        module = SmallCNN(SmallCNNConfig(**info.config))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: architecture config is invalid ({exc})") from None
    _check_info(module.config, info, path)
    load_state(module, tensors, path)
    return wrap_small_cnn(module, info, name=Path(path).stem, source=str(path))


def _check_info(config: SmallCNNConfig, info: CheckpointInfo, path: str | Path) -> None:
    """The metadata that feeds and reads the network must agree with its architecture."""
    faults = []
    if len(info.labels) != config.num_classes:
        faults.append(f"{len(info.labels)} class names for {config.num_classes} outputs")
    if info.channels != config.in_channels:
        faults.append(f"{info.channels} input channels for a network taking {config.in_channels}")
    if tuple(info.input_size) != tuple(config.input_size):
        faults.append(
            f"input size {tuple(info.input_size)} for a network built for "
            f"{tuple(config.input_size)}"
        )
    for key in ("mean", "std"):
        if len(getattr(info, key)) not in (1, info.channels):
            faults.append(f"{len(getattr(info, key))} {key} values for {info.channels} channels")
    if any(s <= 0 for s in info.std):
        faults.append(f"std {info.std} must be positive")
    if faults:
        raise CheckpointError(
            f"{path}: metadata does not fit the architecture: " + "; ".join(faults)
        )


def wrap_small_cnn(module: SmallCNN, info: CheckpointInfo, name: str, source: str) -> LoadedModel:
    prep = prep_from_info(info)
    return LoadedModel(
        name=name,
        module=freeze(module),
        labels=list(info.labels),
        preprocess=prep,
        display_layers=module.display_layers(),
        cam_layer=module.cam_layer(),
        is_digits=info.extra.get("task") == "digits",
        source=source,
        labels_source="the checkpoint's metadata",
    )
