"""Model registry and the scripting API: ``load_model(name)`` -> LoadedModel.

Names: ``digits`` (the shipped digit CNN) and any torchvision classification model
(``resnet18``, ``mobilenet_v3_small``, ...). Our own checkpoints load by path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.checkpoint import CheckpointError, CheckpointInfo, read_checkpoint
from models.images import Preprocess
from models.small_cnn import SmallCNN, SmallCNNConfig

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DIGITS_CHECKPOINT = RESOURCES / "digits.safetensors"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are needed but neither cached nor downloadable."""


@dataclass
class LoadedModel:
    """A network ready to run, with what is needed to feed it and read its answer.

    ``module`` is in eval mode with frozen parameters. ``preprocess(image)`` takes an
    RGB or grayscale numpy image of any size and returns a 1xCxHxW float32 tensor.
    """

    name: str
    module: nn.Module
    labels: list[str]
    preprocess: Preprocess
    display_layers: list[str]
    cam_layer: str | None
    is_digits: bool = False
    source: str = ""
    notes: list[str] = field(default_factory=list)
    forward_ms: float | None = None  # one forward pass after warm-up, measured by the engine
    # traced graphs by (shown layers, Grad-CAM layer), or why tracing was refused;
    # filled by viewer.core.engine so engines rebuilt for the same layers reuse them
    traces: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.preprocess.input_size

    @property
    def channels(self) -> int:
        return self.preprocess.channels

    @property
    def device(self) -> torch.device:
        for p in self.module.parameters():
            return p.device
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> LoadedModel:
        """Move the network to ``device`` (in place); returns self."""
        self.module.to(device)
        return self

    def predict(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-k (index, label, probability) for one image."""
        with torch.inference_mode():
            x = self.preprocess(image).to(self.device)
            probs = torch.softmax(self.module(x).float(), dim=1)[0].cpu()
        top = torch.topk(probs, min(k, probs.numel()))
        pairs = zip(top.values, top.indices, strict=True)
        return [(int(i), self.labels[int(i)], float(p)) for p, i in pairs]


def list_models() -> list[str]:
    """Names load_model accepts: 'digits' then torchvision's classification models."""
    import torchvision

    return ["digits", *sorted(torchvision.models.list_models(module=torchvision.models))]


def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def build_from_checkpoint(path: str | Path) -> LoadedModel:
    """Rebuild a network from one of our self-describing checkpoints."""
    tensors, info = read_checkpoint(path)
    if info.arch == "torchvision":  # fine-tuned by the training studio
        from models.studio_models import torchvision_from_checkpoint

        return torchvision_from_checkpoint(tensors, info, path)
    if info.arch != "small_cnn":
        raise CheckpointError(f"{path}: architecture {info.arch!r} is not one this version builds")
    try:
        module = SmallCNN(SmallCNNConfig(**info.config))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: architecture config is invalid ({exc})") from None
    _check_info(module.config, info, path)
    _load_state(module, tensors, path)
    return _wrap_small_cnn(module, info, name=Path(path).stem, source=str(path))


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


def _load_state(module: nn.Module, tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}")
        if wrong:
            parts.append("shape mismatch " + "; ".join(wrong[:5]))
        raise CheckpointError(f"{path}: weights do not fit the architecture: " + ", ".join(parts))
    module.load_state_dict(tensors)


def _wrap_small_cnn(module: SmallCNN, info: CheckpointInfo, name: str, source: str) -> LoadedModel:
    prep = Preprocess(
        input_size=info.input_size,
        channels=info.channels,
        mean=tuple(info.mean),
        std=tuple(info.std),
    )
    return LoadedModel(
        name=name,
        module=_freeze(module),
        labels=list(info.labels),
        preprocess=prep,
        display_layers=module.display_layers(),
        cam_layer=module.cam_layer(),
        is_digits=info.extra.get("task") == "digits",
        source=source,
    )


def _load_torchvision(
    name: str, weights: str, input_size: tuple[int, int] | None = None
) -> LoadedModel:
    from torchvision.models import get_model, get_model_weights

    from models.layer_choice import shown_and_cam

    try:
        weights_enum = get_model_weights(name)
    except ValueError:
        raise ValueError(
            f"unknown model {name!r}; choose from: {', '.join(list_models())}"
        ) from None
    if weights == "none":
        module = get_model(name, weights=None)
        spec = weights_enum.DEFAULT
        labels = [str(c) for c in spec.meta.get("categories", [])]
        notes = ["random weights (--weights none): predictions are meaningless"]
    else:
        try:
            spec = weights_enum.DEFAULT if weights == "default" else weights_enum[weights]
        except KeyError:
            options = ", ".join(["default", "none", *weights_enum.__members__])
            raise ValueError(f"weights {weights!r} for {name}: choose one of {options}") from None
        try:
            module = get_model(name, weights=spec)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise WeightsUnavailable(
                f"pretrained weights for {name} are not cached and could not be downloaded "
                f"({exc}). Offline you can use --weights none (random weights), the built-in "
                "'digits' model, or --checkpoint FILE."
            ) from None
        labels = [str(c) for c in spec.meta.get("categories", [])]
        notes = []
    prep = torchvision_preprocess(spec, input_size)
    module = _freeze(module)
    try:
        num_out = _output_count(module, prep)
    except Exception as exc:  # noqa: BLE001 - e.g. a ViT asked for another input size
        size = f"{prep.input_size[0]}x{prep.input_size[1]}"
        raise ValueError(
            f"{name} does not run at input size {size} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    if len(labels) != num_out:
        labels = [str(i) for i in range(num_out)]
    shown, cam = shown_and_cam(module, (prep.channels, *prep.input_size))
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        source=f"torchvision:{name}",
        notes=notes,
    )


def torchvision_preprocess(
    spec, input_size: tuple[int, int] | None = None, channels: int = 3
) -> Preprocess:
    """Preprocessing from a torchvision weights entry's transforms().

    ``input_size`` (H, W) replaces the crop size; the short side is then resized to
    ``round(max(H, W) * resize / crop)`` (256/224 for most models), so the crop keeps
    the same margin and fits inside the resized image. With ``channels=1`` the
    mean and std are the averages of the three RGB values.
    """
    tf = spec.transforms()
    crop = int(tf.crop_size[0])
    resize = int(tf.resize_size[0])
    size = (crop, crop) if input_size is None else (int(input_size[0]), int(input_size[1]))
    mean, std = tuple(float(m) for m in tf.mean), tuple(float(s) for s in tf.std)
    if channels == 1:
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    return Preprocess(
        input_size=size,
        channels=channels,
        mean=mean,
        std=std,
        resize_short=round(max(size) * resize / crop),
    )


def _output_count(module: nn.Module, prep: Preprocess) -> int:
    with torch.inference_mode():
        return int(module(torch.zeros(1, prep.channels, *prep.input_size)).shape[1])


def load_model(
    name: str = "digits",
    weights: str = "default",
    checkpoint: str | Path | None = None,
    *,
    model_file: str | None = None,
    labels: str | Path | None = None,
    input_size: tuple[int, int] | int | str | None = None,
    channels: int | None = None,
    trust_checkpoint: bool = False,
) -> LoadedModel:
    """Load a model by registry name, from a checkpoint, or from the user's model file.

    ``weights``: 'default' (trained / pretrained), 'none' (random init), or a
    torchvision weights enum member name; ignored when a checkpoint gives the weights.
    ``checkpoint``: our .safetensors, a state_dict (bare or wrapped; .pth/.pt/.safetensors)
    for ``name`` or for ``model_file``, or - only with ``trust_checkpoint`` - TorchScript
    or a pickled nn.Module (opening those runs code). See models.user_loading.
    ``model_file``: 'path/net.py:ClassName'; the class is built with no arguments.
    ``labels``: a text file, one class name per line; its count must match the outputs.
    ``input_size``: (H, W), an int or 'HxW'; ``channels``: 1 or 3 - used where the
    checkpoint does not say (a torchvision model takes 1 channel only when its weights do).

    Raises CheckpointError (a ValueError) for unusable or refused files, ValueError for bad
    options, WeightsUnavailable when pretrained weights cannot be had.
    """
    from models.user_models import Overrides, read_labels

    over = Overrides.make(labels=labels, input_size=input_size, channels=channels)
    if checkpoint is None and model_file is None and Path(name).suffix == ".safetensors":
        checkpoint, name = name, "digits"
    if checkpoint is not None or model_file is not None:
        from models.user_loading import load_user_model

        return load_user_model(name, checkpoint, model_file, over, trust_checkpoint)
    if name == "digits":
        loaded = _load_digits(weights, over.input_size, over.channels)
    else:
        if over.channels == 1:
            raise ValueError(
                f"--channels 1: {name} takes 3-channel (RGB) input; it takes 1 channel only "
                "with weights whose first conv does (--checkpoint FILE with such a state_dict)"
            )
        loaded = _load_torchvision(name, weights, over.input_size)
    if over.labels is not None:
        loaded.labels = read_labels(over.labels, len(loaded.labels))
    return loaded


def _load_digits(
    weights: str, input_size: tuple[int, int] | None, channels: int | None
) -> LoadedModel:
    if weights == "none":
        config = digits_config()
        config.in_channels = channels or config.in_channels
        config.input_size = input_size or config.input_size
        module = SmallCNN(config)
        info = digits_info(module.config)
        info.channels = config.in_channels
        loaded = _wrap_small_cnn(module, info, name="digits", source="random weights")
        loaded.is_digits = config.in_channels == 1
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
