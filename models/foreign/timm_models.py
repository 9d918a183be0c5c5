"""timm models: ``timm:NAME`` (``timm.create_model``, pretrained weights into the Hugging
Face hub cache) and folders timm wrote (``save_for_hf`` / ``push_to_hub``: config.json
with its ``pretrained_cfg``, and model.safetensors or pytorch_model.bin), each with the
preprocessing its data config describes and the class names its config gives."""

from __future__ import annotations

import math
import socket
from pathlib import Path

from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.foreign.finish import sized
from cnn_viewer.models.zoo.classifier import finish_classifier
from cnn_viewer.models.zoo.loaded import LoadedModel, weights_unavailable

HUB_HOST = "huggingface.co"


def timm_preprocess(config: dict) -> Preprocess:
    """Our Preprocess from timm's data config (``resolve_model_data_config``): the short
    side to floor(size / crop_pct) then the centre crop (crop_mode 'center'), or a stretch
    then the centre crop ('squash'); its mean and std. (timm resizes with PIL's
    interpolation, bicubic for most models; we use OpenCV's, so pixels differ slightly.)"""
    channels, h, w = (int(v) for v in config["input_size"])
    crop_pct = float(config.get("crop_pct") or 1.0)
    mode = config.get("crop_mode") or "center"
    mean = tuple(float(v) for v in config.get("mean", (0.485, 0.456, 0.406)))
    std = tuple(float(v) for v in config.get("std", (0.229, 0.224, 0.225)))
    if mode == "squash":
        hw = (math.floor(h / crop_pct), math.floor(w / crop_pct))
        return Preprocess((h, w), channels, mean, std, resize_hw=hw)
    return Preprocess((h, w), channels, mean, std, resize_short=math.floor(max(h, w) / crop_pct))


def _timm():
    try:
        import timm
    except ImportError:  # a dependency, but a user's environment may lack it
        raise ValueError("timm models need the timm package: pip install timm") from None
    return timm


def _finish(module: nn.Module, name: str, source: str, input_size, notes) -> LoadedModel:
    timm = _timm()
    config = timm.data.resolve_model_data_config(module)
    cfg = getattr(module, "pretrained_cfg", {}) or {}
    names = cfg.get("label_names")
    where = "the model's config (label_names)"
    return finish_classifier(
        module,
        name=name,
        source=source,
        prep=sized(timm_preprocess(config), input_size),
        names=[str(n) for n in names] if names else None,
        names_source=where,
        notes=notes,
    )


def _cached(timm, name: str) -> bool:
    """Whether ``name``'s pretrained weights are in the hub cache already."""
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(name)
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        return False
    repo = hub_id.split("@")[0]
    filenames = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
    return any(isinstance(try_to_load_from_cache(repo, f), str) for f in filenames)


def _online(timeout: float = 3.0) -> str | None:
    """None when the hub can be reached, else why not (a quick check: offline, the hub
    client would retry for most of a minute before it gave up)."""
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
    except OSError as exc:
        return f"{HUB_HOST} cannot be reached: {exc.strerror or exc}"
    return None


def load_timm(spec: str, weights: str, input_size: tuple[int, int] | None) -> LoadedModel:
    """``timm:NAME`` with weights 'default' (pretrained, downloaded into the hub cache
    with progress on stderr) or 'none' (random)."""
    timm = _timm()
    name = spec.split(":", 1)[1]
    if not name or not timm.is_model(name):
        close = timm.list_models(f"*{name}*")[:8] if name else []
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise ValueError(
            f'unknown timm model {name!r}{hint}; `python -c "import timm; '
            'print(timm.list_models())"` lists them'
        )
    if weights not in ("default", "none"):
        raise ValueError(f"weights {weights!r} for timm:{name}: choose default or none")
    notes = []
    pretrained = weights == "default"
    if pretrained and not _cached(timm, name):
        why = _online()
        if why is not None:
            raise weights_unavailable(f"timm:{name}", why)
    try:
        module = timm.create_model(name, pretrained=pretrained)
    except (OSError, RuntimeError) as exc:  # the hub's errors are OSErrors
        if pretrained:
            raise weights_unavailable(f"timm:{name}", str(exc)[:300]) from None
        raise
    if not pretrained:
        notes.append("random weights (--weights none): predictions are meaningless")
    return _finish(module, f"timm:{name}", f"timm:{name}", input_size, notes)


def is_timm_folder(config: dict) -> bool:
    """config.json as timm writes it: an 'architecture' (and usually 'pretrained_cfg')."""
    return isinstance(config.get("architecture"), str)


def load_timm_folder(folder: Path, config: dict, input_size) -> LoadedModel:
    """A folder timm wrote, offline: its architecture, weights, data config and names."""
    timm = _timm()
    arch = config["architecture"]
    if not timm.is_model(arch):
        raise ValueError(
            f"{folder}: config.json names the timm architecture {arch!r}, which this timm "
            f"({timm.__version__}) does not have; upgrade timm (pip install -U timm)"
        )
    weights = [f for f in ("model.safetensors", "pytorch_model.bin") if (folder / f).is_file()]
    if not weights:
        raise ValueError(
            f"{folder}: no weights (model.safetensors or pytorch_model.bin) beside config.json"
        )
    try:
        module = timm.create_model(f"local-dir:{folder.resolve()}", pretrained=True)
    except Exception as exc:  # noqa: BLE001 - wrong shapes, a corrupt file, ...
        raise ValueError(
            f"{folder}: timm could not build {arch} from it ({type(exc).__name__}: "
            f"{str(exc)[:300]})"
        ) from None
    return _finish(module, folder.name, f"timm folder {folder} ({arch})", input_size, [])
