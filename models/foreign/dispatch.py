"""Which foreign loader a ``--model`` value names: ``timm:NAME``, a folder, an .onnx file."""

from __future__ import annotations

from pathlib import Path

from cnn_viewer.models.loading.model_files import Overrides
from cnn_viewer.models.zoo.loaded import LoadedModel


def foreign_kind(name: str) -> str | None:
    """'timm', 'folder', 'onnx' or None (a registry name: digits or torchvision)."""
    if name.startswith("timm:"):
        return "timm"
    path = Path(name)
    if path.suffix.lower() == ".onnx":
        return "onnx"
    # a folder: with a config.json, or named as a path (it then says what it lacks)
    if path.is_dir() and ((path / "config.json").is_file() or len(path.parts) > 1):
        return "folder"
    return None


def load_foreign(name: str, weights: str, over: Overrides) -> LoadedModel:
    kind = foreign_kind(name)
    if over.channels is not None:
        raise ValueError(
            f"--channels {over.channels}: {name} says its own channels; leave --channels out"
        )
    if kind == "timm":
        from cnn_viewer.models.foreign.timm_models import load_timm

        return load_timm(name, weights, over.input_size)
    path = Path(name)
    if kind == "onnx":
        if not path.is_file():
            raise ValueError(f"{path}: no such ONNX file")
        from cnn_viewer.models.foreign.onnx_model import load_onnx

        return load_onnx(path, over.input_size)
    from cnn_viewer.models.foreign.folders import load_folder

    return load_folder(path, over.input_size)
