"""A bare state_dict for a registered architecture (``--model NAME --checkpoint FILE``): a
torchvision model built with ``weights=None`` and the class count and input channels its
weights say, or the digit CNN with its config read from the weight shapes."""

from __future__ import annotations

import functools
import re
import warnings

import torch
from torch import nn

from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.loading.checkpoint_files import OpenedCheckpoint
from cnn_viewer.models.loading.finish import finish_user_model, state_dict_of
from cnn_viewer.models.loading.model_files import Overrides, fit_keys, load_weights
from cnn_viewer.models.zoo.digits import digits_config
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.small_cnn import SmallCNN

_AUX_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")  # googlenet / inception_v3 side heads


def is_torchvision_name(name: str) -> bool:
    from torchvision.models import get_model_weights

    try:
        get_model_weights(name)
    except ValueError:
        return False
    return True


# ---- a state_dict for a registered architecture -----------------------------------------


def torchvision_from_state(name: str, opened: OpenedCheckpoint, overrides: Overrides):
    from torchvision.models import get_model

    from cnn_viewer.models.zoo.torchvision_zoo import list_models

    if not is_torchvision_name(name):
        raise ValueError(
            f"unknown model {name!r}; choose from: {', '.join(list_models())} "
            "- or give your model's code with --model-file FILE:CLASS"
        )
    keys, head = _meta_keys(name)
    tensors = fit_keys(set(keys), state_dict_of(opened)) if keys else state_dict_of(opened)
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
    return finish_user_model(
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
    padding = conv.padding if isinstance(conv.padding, str) else _pair(conv.padding)
    new = nn.Conv2d(
        want,
        conv.out_channels,
        _pair(conv.kernel_size),
        _pair(conv.stride),
        padding,
        _pair(conv.dilation),
        1,
        conv.bias is not None,
        conv.padding_mode,
    )
    parent_path, _, attr = path.rpartition(".")
    setattr(module.get_submodule(parent_path) if parent_path else module, attr, new)


def _pair(size: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d's kernel_size, stride, padding or dilation: torch types them
    tuple[int, ...] (shared with Conv1d and Conv3d); in a Conv2d they are pairs."""
    h, w = size
    return h, w


def digits_from_state(opened: OpenedCheckpoint, overrides: Overrides) -> LoadedModel:
    """The SmallCNN (digits architecture), its config read from the weight shapes."""
    tensors = state_dict_of(opened)
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
    loaded = finish_user_model(
        module,
        name="digits",
        source=f"digits + {opened.path}",
        overrides=Overrides(overrides.labels, config.input_size, overrides.channels),
        opened=opened,
        notes=[],
        is_digits=is_digits,
        fallback=[str(i) for i in range(10)] if is_digits else None,
        fallback_source="the digits 0-9",
    )
    loaded.notes = [n for n in loaded.notes if not n.startswith("input ")]
    loaded.display_layers, loaded.cam_layer = module.display_layers(), module.cam_layer()
    return loaded
