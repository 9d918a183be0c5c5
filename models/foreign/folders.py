"""``--model DIR``: a model folder, recognised by its config.json (timm's or transformers')."""

from __future__ import annotations

import json
from pathlib import Path

from cnn_viewer.models.zoo.loaded import LoadedModel


def load_folder(folder: Path, input_size: tuple[int, int] | None) -> LoadedModel:
    from cnn_viewer.models.foreign.timm_models import is_timm_folder, load_timm_folder
    from cnn_viewer.models.foreign.transformers_folder import (
        is_transformers_folder,
        load_transformers_folder,
    )

    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"{folder}: a model folder needs a config.json (written by timm's save_for_hf "
            "or a transformers model's save_pretrained); this one has none"
        )
    try:
        config = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_file}: not readable JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_file}: expected a JSON object")
    if is_timm_folder(config):
        return load_timm_folder(folder, config, input_size)
    if is_transformers_folder(config):
        return load_transformers_folder(folder, config, input_size)
    raise ValueError(
        f"{config_file}: neither timm's (an 'architecture') nor transformers' (a 'model_type' "
        "and 'architectures'); cnn-viewer loads folders written by those two libraries"
    )
