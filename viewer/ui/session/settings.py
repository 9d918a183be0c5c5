"""What the window remembers between runs, in a QSettings INI file, read defensively.

Every value is checked on the way in: a wrong type, garbage, an unknown layer name or a
file that is gone is dropped (the default is used) and named in ``Saved.notes``, which
the window shows in its status bar. A file Qt cannot parse at all is moved aside.

The file: $CNN_VIEWER_SETTINGS if set, else Qt's per-user location
(~/.config/cnn-viewer/cnn-viewer.ini on Linux).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings

from cnn_viewer.core.display.colormaps import DIVERGING, NAMES
from cnn_viewer.core.display.mosaic import parse_norm
from cnn_viewer.core.options import ModelOptions

ENV = "CNN_VIEWER_SETTINGS"
VERSION = 1
RECENT_MAX = 8
LAYOUT_KEYS = {"geometry": "window geometry", "state": "dock and toolbar layout"}


def store_path() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    fmt, scope = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    return Path(QSettings(fmt, scope, "cnn-viewer", "cnn-viewer").fileName())


def open_store(path: str | Path | None = None, reset: bool = False) -> tuple[QSettings, list[str]]:
    """The settings file (created on first save) and notes on what was reset."""
    path = Path(path) if path is not None else store_path()
    notes = []
    if reset and path.exists():
        try:
            path.unlink()
            notes.append("settings reset (--reset-settings)")
        except OSError as exc:
            notes.append(f"could not remove {path} for --reset-settings ({exc})")
    store = QSettings(str(path), QSettings.Format.IniFormat)
    if store.status() != QSettings.Status.NoError or (path.exists() and not _ours(store)):
        bad = path.with_name(path.name + ".bad")
        try:
            os.replace(path, bad)
            where = f"moved to {bad.name}"
        except OSError:
            where = "left as it was"
        notes.append(f"the settings file {path} could not be read ({where}); using defaults")
        store = QSettings(str(path), QSettings.Format.IniFormat)
    return store, notes


def _ours(store: QSettings) -> bool:
    """A file this version wrote (or an empty one); not garbage or another program's."""
    if not store.allKeys():
        return True
    try:
        return int(store.value("version")) == VERSION
    except (TypeError, ValueError):
        return False


@dataclass
class Saved:
    """Checked values from the store; None (or empty) where nothing usable was saved."""

    model: ModelOptions | None = None
    source: str | None = None
    norm: str | None = None
    colormap: str | None = None
    layers: dict[str, list[str]] = field(default_factory=dict)  # per model name
    layout: dict[str, QByteArray] = field(default_factory=dict)  # LAYOUT_KEYS, "splitter"
    recent_sources: list[str] = field(default_factory=list)
    recent_checkpoints: list[str] = field(default_factory=list)
    output_folder: str | None = None
    notes: list[str] = field(default_factory=list)


def _json(store: QSettings, key: str, notes: list[str], what: str):
    raw = store.value(key)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise TypeError(type(raw).__name__)
        return json.loads(raw)
    except (TypeError, ValueError):
        notes.append(f"{what} (unreadable)")
        store.remove(key)
        return None


def read_saved(store: QSettings, notes: list[str] | None = None) -> Saved:
    """Read and check everything; bad entries are removed from the store and named."""
    saved = Saved(notes=list(notes or []))
    bad: list[str] = []
    saved.model = _read_model(store, bad)
    saved.source = _read_source(store, bad)
    norm = store.value("view/norm")
    if norm is not None:
        try:
            parse_norm(norm if isinstance(norm, str) else repr(norm))
            saved.norm = norm
        except ValueError:
            bad.append(f"normalisation {norm!r}")
    cmap = store.value("view/colormap")
    if cmap is not None:
        if isinstance(cmap, str) and (cmap in NAMES or cmap in DIVERGING):
            saved.colormap = cmap
        else:
            bad.append(f"colormap {cmap!r}")
    layers = _json(store, "layers/by_model", bad, "shown layers")
    if layers is not None:
        ok = isinstance(layers, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in layers.items()
        )
        if ok:
            saved.layers = layers
        else:
            bad.append("shown layers (wrong type)")
    for key in (*LAYOUT_KEYS, "splitter"):
        value = store.value(f"window/{key}")
        if value is None:
            continue
        if isinstance(value, QByteArray) and not value.isEmpty():
            saved.layout[key] = value
        else:
            bad.append(LAYOUT_KEYS.get(key, "panel sizes") + " (wrong type)")
    saved.recent_sources = _read_paths(store, "recent/sources", bad)
    saved.recent_checkpoints = _read_paths(store, "recent/checkpoints", bad)
    folder = store.value("output/folder")
    if folder is not None:
        if isinstance(folder, str) and folder and not Path(folder).is_file():
            saved.output_folder = folder
        else:
            bad.append(f"output folder {folder!r}")
    if bad:
        saved.notes.append("reset to defaults: " + "; ".join(bad))
    return saved


def _read_model(store: QSettings, bad: list[str]) -> ModelOptions | None:
    data = _json(store, "model/options", bad, "model")
    if data is None:
        return None
    names = {f.name for f in fields(ModelOptions)}
    if (
        not isinstance(data, dict)
        or not set(data) <= names
        or not isinstance(data.get("model"), str)
    ):
        bad.append("model (wrong type)")
        return None
    if data.get("input_size") is not None:
        size = data["input_size"]
        if not (
            isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)
        ):
            bad.append("model input size")
            return None
        data["input_size"] = tuple(size)
    if data.get("trust_checkpoint") or data.get("model_file"):
        bad.append("model that runs code (open it again with its options)")
        return None
    for key in ("checkpoint", "labels"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not Path(value).is_file()):
            bad.append(f"model: {key} {value!r} no longer exists")
            return None
    from cnn_viewer.models import list_models
    from cnn_viewer.models.foreign.dispatch import foreign_kind

    name = data["model"]
    kind = foreign_kind(name) if isinstance(name, str) else None
    if kind in ("onnx", "folder") and not Path(name).exists():
        bad.append(f"model: {name!r} no longer exists")
        return None
    if data.get("checkpoint") is None and name not in list_models() and kind is None:
        bad.append(f"model {name!r} (unknown)")
        return None
    return ModelOptions(**data)


def _read_source(store: QSettings, bad: list[str]) -> str | None:
    spec = store.value("source/spec")
    if spec is None:
        return None
    if not isinstance(spec, str):
        bad.append("source (wrong type)")
        return None
    if spec == "pad":
        return spec
    from cnn_viewer.core.sources.open_source import parse_source_spec

    try:
        kind = parse_source_spec(spec).kind
    except ValueError:
        kind = "missing"
    if kind != "camera" and not Path(spec).exists():
        bad.append(f"source {spec} (no longer there)")
        return None
    return spec


def _read_paths(store: QSettings, key: str, bad: list[str]) -> list[str]:
    data = _json(store, key, bad, "recent files")
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        bad.append("recent files (wrong type)")
        return []
    return [p for p in data if Path(p).exists()][:RECENT_MAX]  # gone files drop quietly


def safe_model(options: ModelOptions) -> dict | None:
    """The options as JSON data, or None for models that run code when opened."""
    if options.trust_checkpoint or options.model_file:
        return None
    data = asdict(options)
    for key in ("checkpoint", "labels"):
        if data[key]:
            data[key] = str(Path(data[key]).resolve())
    from cnn_viewer.models.foreign.dispatch import foreign_kind

    if foreign_kind(data["model"]) in ("onnx", "folder"):  # a path: kept absolute
        data["model"] = str(Path(data["model"]).resolve())
    if data["input_size"] is not None:
        data["input_size"] = list(data["input_size"])
    return data


def absolute_source(spec: str) -> str:
    if spec == "pad" or spec.lower().startswith("camera"):
        return spec
    return str(Path(spec).resolve())


def save(window, store: QSettings, keep) -> None:
    """Write the window's state (GUI thread). ``keep``: the feature's recent lists."""
    store.setValue("version", VERSION)
    model = safe_model(window.state.model_options)
    if model is None:
        store.remove("model/options")
    else:
        store.setValue("model/options", json.dumps(model))
    store.setValue("source/spec", absolute_source(window.state.source))
    store.setValue("view/norm", window.state.norm)
    store.setValue("view/colormap", window.state.colormap)
    layers = keep.saved_layers
    if window.state.layers is None:
        layers.pop(window.state.model.name, None)
    else:
        layers[window.state.model.name] = list(window.state.layers)
    store.setValue("layers/by_model", json.dumps(layers))
    store.setValue("window/geometry", window.saveGeometry())
    store.setValue("window/state", window.saveState())
    store.setValue("window/splitter", window.splitter.saveState())
    store.setValue("recent/sources", json.dumps(keep.recent.sources))
    store.setValue("recent/checkpoints", json.dumps(keep.recent.checkpoints))
    store.setValue("output/folder", str(keep.output_folder))
    store.sync()
