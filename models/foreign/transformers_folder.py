"""Hugging Face transformers image classifiers saved with ``save_pretrained``: config.json
(``architectures``, ``id2label``), the weights, and preprocessor_config.json (the image
processor's size, crop and normalisation), loaded offline."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.foreign.finish import sized
from cnn_viewer.models.loading.model_files import IMAGENET_MEAN, IMAGENET_STD
from cnn_viewer.models.zoo.classifier import finish_classifier
from cnn_viewer.models.zoo.loaded import LoadedModel


class ClassifierLogits(nn.Module):
    """A transformers classifier as a plain module: image tensor in, logits out (its
    forward returns an output object; hooks and Grad-CAM need the tensor)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).logits


def is_transformers_folder(config: dict) -> bool:
    """config.json as transformers writes it: a 'model_type' and 'architectures'."""
    return isinstance(config.get("model_type"), str) and bool(config.get("architectures"))


def processor_preprocess(processor: dict, config: dict) -> tuple[Preprocess, str | None]:
    """Our Preprocess from preprocessor_config.json (the keys image processors share:
    size as shortest_edge or height/width, crop_size with do_center_crop, ConvNeXt's
    crop_pct, image_mean/std, do_normalize), and a note where something was assumed."""
    channels = int(config.get("num_channels", 3))
    note = None
    if not processor:
        side = int(config.get("image_size", 224))
        note = f"no preprocessor_config.json: stretched to {side}x{side}, ImageNet mean/std"
        processor = {"size": {"height": side, "width": side}}
    size = processor.get("size") or {"height": 224, "width": 224}
    if isinstance(size, int):
        size = {"shortest_edge": size}
    crop = processor.get("crop_size") if processor.get("do_center_crop", True) else None
    if isinstance(crop, int):
        crop = {"height": crop, "width": crop}
    crop_hw = (int(crop["height"]), int(crop["width"])) if crop else None
    if processor.get("do_normalize", True):
        mean = tuple(float(v) for v in processor.get("image_mean", IMAGENET_MEAN))
        std = tuple(float(v) for v in processor.get("image_std", IMAGENET_STD))
    else:
        mean, std = (0.0,) * channels, (1.0,) * channels
    if "shortest_edge" in size:
        short = int(size["shortest_edge"])
        crop_pct = processor.get("crop_pct")
        if crop_pct is not None:  # ConvNeXt: below 384, resize short/crop_pct and crop
            if short < 384:
                prep = Preprocess((short, short), channels, mean, std, int(short / crop_pct))
            else:
                prep = Preprocess((short, short), channels, mean, std)
        else:
            prep = Preprocess(crop_hw or (short, short), channels, mean, std, short)
    else:
        hw = (int(size["height"]), int(size["width"]))
        if crop_hw is not None and crop_hw != hw:
            prep = Preprocess(crop_hw, channels, mean, std, resize_hw=hw)
        else:
            prep = Preprocess(hw, channels, mean, std)
    return prep, note


def load_transformers_folder(folder: Path, config: dict, input_size) -> LoadedModel:
    """A transformers image classifier folder, offline, with its processor and names."""
    try:
        from transformers import AutoModelForImageClassification
    except ImportError:
        raise ValueError(
            f"{folder} is a Hugging Face transformers model; loading it needs the "
            "transformers package: pip install transformers"
        ) from None
    arch = config["architectures"][0]
    try:
        model = AutoModelForImageClassification.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - an unknown model type, missing weights, ...
        raise ValueError(
            f"{folder}: transformers could not load {arch} as an image classifier "
            f"({type(exc).__name__}: {str(exc)[:300]})"
        ) from None
    processor_file = folder / "preprocessor_config.json"
    processor = json.loads(processor_file.read_text()) if processor_file.is_file() else {}
    prep, note = processor_preprocess(processor, config)
    id2label = getattr(model.config, "id2label", None) or {}
    names = [str(id2label[i]) for i in sorted(id2label)] if id2label else None
    generic = names is not None and all(n == f"LABEL_{i}" for i, n in enumerate(names))
    return finish_classifier(
        ClassifierLogits(model),
        name=folder.name,
        source=f"transformers folder {folder} ({arch})",
        prep=sized(prep, input_size),
        names=None if generic else names,
        names_source="the model's config (id2label)",
        notes=[note] if note else [],
    )
