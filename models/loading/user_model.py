"""Building a LoadedModel from what a user brings. Qt-free; runs in the loading thread.

Accepted, by what the checkpoint file holds:

- our self-describing .safetensors: rebuilt from its metadata (--labels may rename);
- a state_dict (bare, wrapped in {'state_dict'|'model'|'model_state_dict'|'net': ...},
  'module.' prefixes stripped, or a safetensors file without our metadata) for
  ``--model NAME``: a torchvision model built with ``weights=None`` and the class count
  read from the final layer's weight, or 'digits' (the SmallCNN, its config read from
  the weight shapes); or for ``--model-file FILE:CLASS``: ``CLASS()`` from the user's
  file, then the weights loaded strictly;
- TorchScript or a whole pickled nn.Module, only when trusted (opening them runs code).

Class names: --labels FILE, else the checkpoint's 'labels'/'classes'/'class_names',
else the registry's (ImageNet) categories when the class count matches, else '0'..'N-1'.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import torch
from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.data.mnist import MNIST_MEAN, MNIST_STD
from cnn_viewer.models.loading.checkpoint_files import (
    OpenedCheckpoint,
    is_cnn_viewer_checkpoint,
    open_checkpoint,
)
from cnn_viewer.models.loading.model_files import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Overrides,
    choose_labels,
    first_conv_channels,
    fit_keys,
    import_model_file,
    instantiate,
    load_weights,
    output_count,
    probe_input,
    read_labels,
    split_model_file,
)
from cnn_viewer.models.loading.weight_checks import check_finite_weights
from cnn_viewer.models.zoo.digits import digits_config
from cnn_viewer.models.zoo.layer_choice import shown_and_cam
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze
from cnn_viewer.models.zoo.own_checkpoint import build_from_checkpoint
from cnn_viewer.models.zoo.small_cnn import SmallCNN
from cnn_viewer.models.zoo.torchvision_zoo import torchvision_preprocess
from torch import nn

_AUX_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")  # googlenet / inception_v3 side heads


def load_user_model(
    name: str, checkpoint, model_file: str | None, overrides: Overrides, trust: bool
) -> LoadedModel:
    """``load_model`` for a checkpoint and/or a model file (see the module docstring).
    Weights with NaN or Inf are refused (cnn_viewer.models.loading.weight_checks says why)."""
    loaded = _build_user_model(name, checkpoint, model_file, overrides, trust)
    if checkpoint is not None:
        check_finite_weights(loaded.module, str(checkpoint))
    return loaded


def _build_user_model(
    name: str, checkpoint, model_file: str | None, overrides: Overrides, trust: bool
) -> LoadedModel:
    if checkpoint is not None and model_file is None and is_cnn_viewer_checkpoint(checkpoint):
        return _own_checkpoint(Path(checkpoint), overrides)
    cls = import_model_file(model_file) if model_file else None  # first: pickles may need it
    opened = open_checkpoint(checkpoint, trust=trust) if checkpoint is not None else None
    if opened is not None and opened.module is not None:
        return _whole_model(opened, name, overrides)
    if cls is not None:
        module = instantiate(cls, model_file)
        notes = []
        if opened is None:
            notes.append("random weights (no --checkpoint): predictions are meaningless")
        else:
            load_weights(module, opened.state_dict, opened.path, cls.__name__)
        source = str(split_model_file(model_file)[0]) + (f" + {opened.path}" if opened else "")
        return _finish(
            module,
            name=cls.__name__,
            source=source,
            overrides=overrides,
            opened=opened,
            notes=notes,
        )
    if name == "digits":
        return _digits_from_state(opened, overrides)
    return _torchvision_from_state(name, opened, overrides)


def _own_checkpoint(path: Path, overrides: Overrides) -> LoadedModel:
    loaded = build_from_checkpoint(path)
    if overrides.input_size not in (None, tuple(loaded.input_size)):
        raise ValueError(
            f"{path} is built for input {_hw(loaded.input_size)}; --input-size "
            f"{_hw(overrides.input_size)} does not fit it"
        )
    if overrides.channels not in (None, loaded.channels):
        raise ValueError(
            f"{path} is built for {loaded.channels}-channel input; --channels "
            f"{overrides.channels} does not fit it"
        )
    if overrides.labels is not None:
        loaded.labels = read_labels(overrides.labels, len(loaded.labels))
    return loaded


def _hw(size) -> str:
    return f"{size[0]}x{size[1]}"


def _finish(
    module: nn.Module,
    *,
    name: str,
    source: str,
    overrides: Overrides,
    opened: OpenedCheckpoint | None,
    notes: list[str],
    tv_name: str | None = None,
    is_digits: bool = False,
    fallback: list[str] | None = None,
) -> LoadedModel:
    """Freeze, settle channels, input size and preprocessing, count classes, name them."""
    label = f"{name} ({opened.path})" if opened is not None else name
    weights_channels = first_conv_channels(module)
    if overrides.channels is not None and weights_channels not in (None, overrides.channels):
        raise ValueError(
            f"--channels {overrides.channels}: {label} takes {weights_channels}-"
            "channel input (its first conv's weights say so)"
        )
    channels = weights_channels or overrides.channels or 3
    module = freeze(module)
    if tv_name is not None:
        from torchvision.models import get_model_weights

        spec = get_model_weights(tv_name).DEFAULT
        prep = torchvision_preprocess(spec, overrides.input_size, channels)
        fallback = [str(c) for c in spec.meta.get("categories", [])]
        try:
            count = output_count(module, channels, prep.input_size)
        except Exception as exc:  # noqa: BLE001 - e.g. a ViT at another input size
            raise ValueError(
                f"{label} does not run at input size {_hw(prep.input_size)} "
                f"({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
    else:
        size, count = probe_input(module, channels, overrides.input_size, label)
        one = channels == 1
        prep = Preprocess(
            input_size=size,
            channels=channels,
            mean=(MNIST_MEAN,) if one else IMAGENET_MEAN,
            std=(MNIST_STD,) if one else IMAGENET_STD,
        )
        notes.append(
            f"input {channels} x {_hw(size)}, stretched; normalised with "
            f"{'MNIST' if one else 'ImageNet'} mean/std"
        )
        # 1 x 28 x 28 in, 10 classes out: an MNIST-style digit model; the drawing pad fits it
        is_digits = is_digits or (one and count == 10 and size == (28, 28))
    source_name = str(opened.path) if opened is not None else name
    labels, where = choose_labels(
        count, overrides, opened.labels if opened else None, source_name, fallback
    )
    if where:
        notes.append(where)
    scripted = isinstance(module, torch.jit.ScriptModule)
    if scripted:
        notes.append(
            "TorchScript: layer maps and Grad-CAM are unavailable (forward hooks do "
            "not run inside a scripted model)"
        )
    # (hooks do not run inside TorchScript: no layers, no Grad-CAM)
    shown, cam = (
        ([], None) if scripted else shown_and_cam(module, (prep.channels, *prep.input_size))
    )
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        is_digits=is_digits,
        source=source,
        notes=notes,
    )


def _whole_model(opened: OpenedCheckpoint, name: str, overrides: Overrides) -> LoadedModel:
    tv_name = name if name != "digits" and _is_torchvision(name) else None
    return _finish(
        opened.module,
        name=opened.path.stem,
        source=f"{opened.kind}:{opened.path}",
        overrides=overrides,
        opened=opened,
        notes=[f"{opened.kind}, opened as trusted"],
        tv_name=tv_name,
    )


def _is_torchvision(name: str) -> bool:
    from torchvision.models import get_model_weights

    try:
        get_model_weights(name)
    except ValueError:
        return False
    return True


# ---- a state_dict for a registered architecture -----------------------------------------


def _torchvision_from_state(name: str, opened: OpenedCheckpoint, overrides: Overrides):
    from cnn_viewer.models.zoo.torchvision_zoo import list_models
    from torchvision.models import get_model

    if not _is_torchvision(name):
        raise ValueError(
            f"unknown model {name!r}; choose from: {', '.join(list_models())} "
            "- or give your model's code with --model-file FILE:CLASS"
        )
    keys, head = _meta_keys(name)
    tensors = fit_keys(set(keys), opened.state_dict) if keys else opened.state_dict
    kwargs: dict = {}
    num_classes = _class_count(head, tensors)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if name in ("googlenet", "inception_v3") and not any(
        k.startswith(_AUX_PREFIXES) for k in tensors
    ):
        kwargs["aux_logits"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # googlenet/inception init-weights FutureWarnings
        try:
            module = get_model(name, weights=None, **kwargs)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(
                f"{opened.path}: cannot build {name} with {kwargs} read from the weights ({exc})"
            ) from None
    _adapt_first_conv(module, tensors)
    load_weights(module, tensors, opened.path, name)
    return _finish(
        module,
        name=name,
        source=f"{name} + {opened.path}",
        overrides=overrides,
        opened=opened,
        notes=[],
        tv_name=name,
    )


def _class_count(head: tuple[str, ...], tensors: dict[str, torch.Tensor]) -> int | None:
    """Outputs of the final layer in ``tensors``: the shape of the classifier weight
    (``head`` keys; without them, the file's last 2-D weight)."""
    keys = head or tuple(k for k, v in tensors.items() if k.endswith("weight") and v.ndim == 2)[-1:]
    main = [k for k in keys if not k.startswith(_AUX_PREFIXES)] or keys
    for key in main:
        if key in tensors and tensors[key].ndim >= 1:
            return int(tensors[key].shape[0])
    return None


@functools.lru_cache(maxsize=64)
def _meta_keys(name: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(all state-dict keys, the keys whose shape follows num_classes) of a torchvision model,
    from building it on the meta device (no memory, no init cost) with 1000 and 1001
    classes. Empty when the model does not build on meta (regnet's init copies data)."""
    from torchvision.models import get_model

    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")
            a = get_model(name, weights=None, num_classes=1000).state_dict()
            b = get_model(name, weights=None, num_classes=1001).state_dict()
    except Exception:  # noqa: BLE001 - then the file's own order is used
        return frozenset(), ()
    return frozenset(a), tuple(k for k in a if k in b and a[k].shape != b[k].shape)


def _adapt_first_conv(module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Rebuild the first conv to take the channel count its weights in the file have."""
    key = next((k for k, v in module.state_dict().items() if v.ndim == 4), None)
    if key is None or key not in tensors or tensors[key].ndim != 4:
        return
    path = key.rsplit(".", 1)[0]
    conv = module.get_submodule(path)
    want = int(tensors[key].shape[1])
    if not isinstance(conv, nn.Conv2d) or want == conv.in_channels or conv.groups != 1:
        return
    new = nn.Conv2d(
        want,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        1,
        conv.bias is not None,
        conv.padding_mode,
    )
    parent_path, _, attr = path.rpartition(".")
    setattr(module.get_submodule(parent_path) if parent_path else module, attr, new)


def _digits_from_state(opened: OpenedCheckpoint, overrides: Overrides) -> LoadedModel:
    """The SmallCNN (digits architecture), its config read from the weight shapes."""
    tensors = opened.state_dict
    convs = sorted(
        (int(m.group(1)), k)
        for k in tensors
        if (m := re.fullmatch(r"conv(\d+)\.weight", k)) and tensors[k].ndim == 4
    )
    if not convs or "fc1.weight" not in tensors or "fc2.weight" not in tensors:
        keys = ", ".join(list(tensors)[:5])
        raise CheckpointError(
            f"{opened.path}: not weights for the 'digits' CNN (it needs conv1.weight ... "
            f"fc1.weight, fc2.weight; the file has {keys}). For another architecture give "
            "--model NAME or --model-file FILE:CLASS"
        )
    first = tensors[convs[0][1]]
    base = digits_config()
    kernel = int(first.shape[-1])
    sizes = (
        [overrides.input_size]
        if overrides.input_size
        else [(28, 28), *[(s, s) for s in (32, 64, 96, 128, 224)]]
    )
    config = None
    for size in sizes:
        candidate = type(base)(
            **{
                **base.to_dict(),
                "in_channels": int(first.shape[1]),
                "input_size": size,
                "channels": [int(tensors[k].shape[0]) for _, k in convs],
                "kernel_size": kernel,
                "padding": kernel // 2,
                "hidden": int(tensors["fc1.weight"].shape[0]),
                "num_classes": int(tensors["fc2.weight"].shape[0]),
            }
        )
        try:
            module = SmallCNN(candidate)
        except ValueError:
            continue
        config = candidate
        if module.fc1.in_features == tensors["fc1.weight"].shape[1]:
            break
    if config is None:
        raise CheckpointError(
            f"{opened.path}: the digits CNN cannot be built from these "
            "weights at any usual input size; set --input-size"
        )
    load_weights(module, tensors, opened.path, "the digits CNN")
    is_digits = config.in_channels == 1 and config.num_classes == 10
    loaded = _finish(
        module,
        name="digits",
        source=f"digits + {opened.path}",
        overrides=Overrides(overrides.labels, config.input_size, overrides.channels),
        opened=opened,
        notes=[],
        is_digits=is_digits,
        fallback=[str(i) for i in range(10)] if is_digits else None,
    )
    loaded.notes = [n for n in loaded.notes if not n.startswith("input ")]
    loaded.display_layers, loaded.cam_layer = module.display_layers(), module.cam_layer()
    return loaded
