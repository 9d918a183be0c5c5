"""The default layers of a detector or segmenter (cnn_viewer.models.zoo.detection): the
backbone's stages (the last block at each resolution), the feature-pyramid levels, and
for a segmenter its head's class map; and the saliency target (the backbone's last
stage)."""

from __future__ import annotations

from typing import Any

from torch import nn

from cnn_viewer.models.zoo.layer_choice import Seen, survey

SURVEY_SIZE = (3, 256, 256)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def _stages(prefix: str, container: nn.Module, seen: dict[str, Seen]) -> list[str]:
    """The children of ``container`` that end a stage, in order: a ResNet's layer1..4,
    else the last block that ran at each output resolution (mobilenet's blocks before
    each stride)."""
    children = dict(container.named_children())
    if all(f"layer{i}" in children for i in range(1, 5)):  # a ResNet (dilated or not)
        return [f"{prefix}layer{i}" for i in range(1, 5)]
    names = [
        f"{prefix}{n}"
        for n, child in children.items()
        if next(child.parameters(), None) is not None and not isinstance(child, _NORMS)
    ]
    if not seen:  # the pass failed: every block with weights
        return names
    shapes = {n: s for n in names if n in seen and (s := seen[n].shape) is not None and len(s) == 3}
    ran = sorted(shapes, key=lambda n: seen[n].order)
    stages = []
    for i, name in enumerate(ran):
        nxt = shapes[ran[i + 1]][1:] if i + 1 < len(ran) else None
        if shapes[name][1:] != nxt:
            stages.append(name)
    return stages


def task_layers(module: nn.Module) -> tuple[list[str], str | None]:
    """(shown layers, saliency layer) for a TaskNet."""
    net: Any = getattr(module, "inner")  # noqa: B009 - a TaskNet's torchvision model
    backbone = net.backbone
    # the backbone alone: a detector's box post-processing on random weights takes seconds
    seen = {f"backbone.{k}": v for k, v in (survey(backbone, SURVEY_SIZE) or {}).items()}
    rows: list[str] = []
    if hasattr(backbone, "body"):  # a backbone with a feature pyramid
        rows += _stages("backbone.body.", backbone.body, seen)
        fpn = backbone.fpn
        rows += [f"backbone.fpn.layer_blocks.{i}" for i in range(len(fpn.layer_blocks))]
        cam = rows[len(rows) - len(fpn.layer_blocks) - 1]
    elif hasattr(backbone, "features") and hasattr(backbone, "extra"):  # SSD
        rows += _stages("backbone.features.", backbone.features, seen)
        cam = rows[-1]
        rows += [f"backbone.extra.{i}" for i in range(len(backbone.extra))]
    else:  # a segmenter: the backbone itself is the list of stages
        rows += _stages("backbone.", backbone, seen)
        cam = rows[-1]
        rows.append("classifier")
    return rows, cam
