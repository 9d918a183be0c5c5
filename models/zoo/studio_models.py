"""Networks the studio trains: the small CNN with a learner's choice of architecture, or a
torchvision backbone fine-tuned (frozen except its classification head). Both save as our
checkpoint and load back through cnn_viewer.models.zoo.own_checkpoint. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
from torch import nn

from cnn_viewer.models.checkpoint import CheckpointError, CheckpointInfo
from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig

AUX_MODELS = ("googlenet", "inception_v3")  # built without their training-only side heads


@dataclass
class ArchOptions:
    """What to build. ``arch``: 'small' or a torchvision classification model name.
    ``input_size``/``in_channels`` None: 28 x 28 gray for MNIST, else 32 x 32 RGB for the
    small CNN and the weights' own size for torchvision. ``padding`` None: kernel // 2
    (same-size maps for odd kernels)."""

    arch: str = "small"
    channels: list[int] = field(default_factory=lambda: [8, 16])
    kernel_size: int = 5
    stride: int = 1
    padding: int | None = None
    activation: str = "relu"
    pool: str = "max"
    hidden: int = 64
    dropout: float = 0.2
    batchnorm: bool = False  # small CNN: a BatchNorm2d after each conv
    global_pool: bool = False  # small CNN: average the last maps before the linear layers
    input_size: tuple[int, int] | None = None
    in_channels: int | None = None
    pretrained: bool = True  # torchvision: fetch pretrained weights (random when unavailable)
    freeze: bool = True  # torchvision: train only the head


@dataclass
class Built:
    """A fresh network and how to feed it. ``prep.mean/std`` may be set after the data is
    read (the small CNN normalises with its training set's statistics)."""

    arch: str  # 'small_cnn' or 'torchvision'
    module: nn.Module
    prep: Preprocess
    config: dict
    frozen: list[nn.Module] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build(
    options: ArchOptions,
    num_classes: int,
    kind: str,
    on_download=None,
    should_cancel=None,
) -> Built:
    """The network for ``num_classes`` classes of data of ``kind`` ('mnist' or 'folder').
    ValueError (a plain message) for options that do not make a network."""
    if options.arch in ("small", "small_cnn"):
        return _build_small(options, num_classes, kind)
    return _build_torchvision(options, num_classes, on_download, should_cancel)


def _build_small(o: ArchOptions, num_classes: int, kind: str) -> Built:
    mnist = kind == "mnist"
    size = o.input_size or ((28, 28) if mnist else (32, 32))
    channels = o.in_channels or (1 if mnist else 3)
    config = SmallCNNConfig(
        in_channels=channels,
        num_classes=num_classes,
        input_size=size,
        channels=list(o.channels),
        kernel_size=o.kernel_size,
        stride=o.stride,
        padding=o.kernel_size // 2 if o.padding is None else o.padding,
        activation=o.activation,
        pool=o.pool,
        hidden=o.hidden,
        dropout=o.dropout,
        batchnorm=o.batchnorm,
        global_pool=o.global_pool,
    )
    if min(o.kernel_size, o.stride) < 1 or config.padding < 0 or min(config.channels) < 1:
        raise ValueError("kernel, stride and channels must be at least 1, padding at least 0")
    try:
        module = SmallCNN(config)
    except RuntimeError as exc:  # a kernel larger than the (padded) map
        raise ValueError(
            f"this architecture does not fit a {size[0]}x{size[1]} input ({exc}); use fewer "
            "blocks, a smaller kernel or stride, or pooling 'none'"
        ) from None
    from cnn_viewer.models.data.mnist import MNIST_MEAN, MNIST_STD

    mean, std = ([MNIST_MEAN], [MNIST_STD]) if mnist and channels == 1 else ([0.5], [0.25])
    prep = Preprocess(size, channels, tuple(mean * channels), tuple(std * channels))
    return Built("small_cnn", module, prep, config.to_dict())


def _tv_kwargs(name: str) -> dict:
    return {"aux_logits": False, "init_weights": False} if name in AUX_MODELS else {}


def head_name(module: nn.Module, num_classes: int) -> str:
    """The last Linear (or 1x1 Conv2d) layer that outputs ``num_classes`` values."""
    found = None
    for name, m in module.named_modules():
        if (isinstance(m, nn.Linear) and m.out_features == num_classes) or (
            isinstance(m, nn.Conv2d) and m.out_channels == num_classes
        ):
            found = name
    if found is None:
        raise ValueError(f"cannot find the classification head of {type(module).__name__}")
    return found


def _build_torchvision(o: ArchOptions, num_classes, on_download, should_cancel) -> Built:
    from torchvision.models import get_model, get_model_weights

    from cnn_viewer.models.zoo.loaded import WeightsUnavailable
    from cnn_viewer.models.zoo.torchvision_zoo import list_models, torchvision_preprocess

    try:
        spec = get_model_weights(o.arch).DEFAULT
    except ValueError:
        raise ValueError(
            f"--arch {o.arch!r}: use 'small' or a torchvision model such as resnet18 or "
            f"mobilenet_v3_small (all: {', '.join(list_models()[1:])})"
        ) from None
    if o.in_channels not in (None, 3):
        raise ValueError(f"{o.arch} takes RGB input (3 channels), not {o.in_channels}")
    config = {"name": o.arch, "num_classes": num_classes, "kwargs": _tv_kwargs(o.arch)}
    module = get_model(o.arch, weights=None, num_classes=num_classes, **config["kwargs"])
    head = head_name(module, num_classes)
    notes = []
    if o.pretrained:
        try:
            state = pretrained_state(o.arch, on_download, should_cancel)
            own = module.state_dict()
            fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
            module.load_state_dict(fits, strict=False)
            notes.append(f"pretrained {spec} backbone; a new {num_classes}-class head")
        except (WeightsUnavailable, OSError, RuntimeError) as exc:
            why = exc.headline if isinstance(exc, WeightsUnavailable) else str(exc)
            notes.append(
                f"no pretrained weights ({why}); the backbone is random, so its features are "
                "too: expect weak accuracy unless every layer trains (--train-all; in the "
                "window, untick 'train only the head')"
            )
    else:
        notes.append("random backbone (no pretrained weights asked for)")
    frozen: list[nn.Module] = []
    if o.freeze:
        for name, p in module.named_parameters():
            p.requires_grad_(name.startswith(head + "."))
        frozen = [m for m in module.children() if not any(p.requires_grad for p in m.parameters())]
        notes.append(f"backbone frozen; training only '{head}'")
    prep = torchvision_preprocess(spec, o.input_size)
    return Built("torchvision", module, prep, config, frozen, notes)


def pretrained_state(arch: str, on_download=None, should_cancel=None) -> dict:
    """The pretrained weights of torchvision model ``arch`` from torch's cache, downloaded
    there first when missing (with progress and cancel). WeightsUnavailable with the plain
    reason (no network, a corrupt or unreadable file)."""
    from torchvision.models import get_model_weights

    from cnn_viewer.models.zoo.loaded import WeightsUnavailable
    from cnn_viewer.models.zoo.weights_download import fetch

    spec = get_model_weights(arch).DEFAULT
    try:
        path = fetch(spec.url, on_progress=on_download, should_cancel=should_cancel)
        return torch.load(path, map_location="cpu", weights_only=True)
    except WeightsUnavailable as exc:
        raise WeightsUnavailable(str(exc).split(". Without a network")[0]) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise WeightsUnavailable(f"cannot read the cached {spec} weights: {exc}") from None


def saved_resize(info: CheckpointInfo) -> dict:
    """The resize step training used, from the metadata's extra 'resize' (N: short side,
    [H, W]: stretch, then the centre crop); {} when the file does not record one (older
    files, or the whole image stretched to the input size)."""
    value = info.extra.get("resize")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2:
        return {"resize_short": value}
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return {"resize_hw": (value[0], value[1])}
    return {}


def prep_from_info(info: CheckpointInfo) -> Preprocess:
    """The preprocessing our checkpoint's metadata records (mean/std per channel)."""

    def per_channel(values: list[float]) -> tuple[float, ...]:
        return tuple(values) * info.channels if len(values) == 1 else tuple(values)

    return Preprocess(
        input_size=info.input_size,
        channels=info.channels,
        mean=per_channel(info.mean),
        std=per_channel(info.std),
        **saved_resize(info),
    )


def checkpoint_info(built: Built, classes: list[str], extra: dict) -> CheckpointInfo:
    """Our metadata for a trained network: what training fed it (input size, channels,
    mean/std, and in extra 'resize' the short side N or [H, W] stretch before the centre
    crop; absent when the whole image was stretched), read back by own_checkpoint."""
    p = built.prep
    resize = p.resize_short if p.resize_short is not None else p.resize_hw
    if resize is not None:
        extra = {**extra, "resize": resize if isinstance(resize, int) else list(resize)}
    return CheckpointInfo(
        arch=built.arch,
        config=built.config,
        labels=list(classes),
        # (tuple(): the size may have come in as a list, e.g. from the command line)
        input_size=cast(tuple[int, int], tuple(built.prep.input_size)),
        channels=built.prep.channels,
        mean=list(built.prep.mean),
        std=list(built.prep.std),
        extra=extra,
    )


def torchvision_from_checkpoint(tensors: dict, info: CheckpointInfo, path: str | Path):
    """A fine-tuned torchvision network saved by the studio -> LoadedModel."""
    from torchvision.models import get_model, get_model_weights

    from cnn_viewer.models.zoo.layer_choice import shown_and_cam
    from cnn_viewer.models.zoo.loaded import LoadedModel, freeze, load_state
    from cnn_viewer.models.zoo.torchvision_zoo import torchvision_preprocess

    try:
        name = str(info.config["name"])
        module = get_model(
            name,
            weights=None,
            num_classes=int(info.config["num_classes"]),
            **dict(info.config.get("kwargs", {})),
        )
        spec = get_model_weights(name).DEFAULT
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: torchvision config is invalid ({exc})") from None
    if len(info.labels) != int(info.config["num_classes"]):
        raise CheckpointError(
            f"{path}: {len(info.labels)} class names for {info.config['num_classes']} outputs"
        )
    load_state(module, tensors, path)
    module = freeze(module)  # eval before any probe forward, or BatchNorm statistics move
    if "resize" in info.extra:  # newer files record what training used
        prep = prep_from_info(info)
    else:
        prep = torchvision_preprocess(spec, info.input_size)
    shown, cam = shown_and_cam(module, (prep.channels, *prep.input_size))
    return LoadedModel(
        name=Path(path).stem,
        module=module,
        labels=list(info.labels),
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        source=str(path),
        notes=[f"{name} fine-tuned on {len(info.labels)} classes"],
        labels_source="the checkpoint's metadata",
    )
