"""What a detector or segmenter (cnn_viewer.models.zoo.detection) says about an image:
the detections (index, label, score, box in the image's own pixels) above a score, or
each class's share of the pixels. Qt-free; any thread."""

from __future__ import annotations

import numpy as np
import torch

from cnn_viewer.models.data.images import to_rgb
from cnn_viewer.models.zoo.loaded import LoadedModel

DEFAULT_MIN_SCORE = 0.5


def full_size_input(model: LoadedModel, image: np.ndarray) -> torch.Tensor:
    """``image`` (any gray/RGB/RGBA array) at its own size as the 1 x 3 x H x W float
    tensor the model takes: 0..1 for a detector (it resizes and normalises inside),
    normalised with the model's mean and std for a segmenter."""
    rgb = to_rgb(image)
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(255.0)
    prep = model.preprocess
    mean = torch.tensor(prep.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(prep.std, dtype=torch.float32)[:, None, None]
    return ((x - mean) / std)[None]


def detection_list(
    packed: torch.Tensor,
    labels: list[str],
    min_score: float = DEFAULT_MIN_SCORE,
    scale: tuple[float, float] = (1.0, 1.0),
) -> list[dict]:
    """A detector's N x 6 output (x0, y0, x1, y1, score, label) -> dicts with "index",
    "label", "score", "box" ([x0, y0, x1, y1] times ``scale`` (sx, sy)), sorted by
    score (highest first, ties in the model's order), those with score >= min_score."""
    rows = packed.detach().float().cpu()
    order = torch.argsort(rows[:, 4], descending=True, stable=True)
    sx, sy = scale
    out = []
    for row in rows[order].tolist():
        if row[4] < min_score:
            break
        index = int(row[5])
        out.append(
            {
                "index": index,
                "label": labels[index] if 0 <= index < len(labels) else str(index),
                "score": float(row[4]),
                "box": [row[0] * sx, row[1] * sy, row[2] * sx, row[3] * sy],
            }
        )
    return out


def segment_list(scores: torch.Tensor, labels: list[str]) -> list[dict]:
    """A segmenter's 1 x K x H x W class scores -> dicts with "index", "label" and
    "fraction" (the share of the H x W pixels whose top class it is), classes with
    pixels only, largest share first."""
    return class_shares(scores[0].max(0).indices, labels)  # max: faster than argmax here


def class_shares(winners: torch.Tensor, labels: list[str]) -> list[dict]:
    """Each pixel's top class (H x W integers) -> ``segment_list``'s dicts."""
    flat = winners.cpu().numpy().ravel()
    counts = np.bincount(flat, minlength=len(labels))
    order = np.argsort(-counts, kind="stable")
    return [
        {
            "index": int(i),
            "label": labels[i] if i < len(labels) else str(i),
            "fraction": int(counts[i]) / flat.size,
        }
        for i in order.tolist()
        if counts[i] > 0
    ]


def detect(
    model: LoadedModel, image: np.ndarray, min_score: float = DEFAULT_MIN_SCORE
) -> list[dict]:
    """The detections in ``image``, run at its own size (boxes in its pixels)."""
    with torch.inference_mode():
        packed = model.module(full_size_input(model, image).to(model.device))
    return detection_list(packed, model.labels, min_score)


def segment(model: LoadedModel, image: np.ndarray) -> list[dict]:
    """The classes' pixel shares in ``image``, run at its own size."""
    with torch.inference_mode():
        scores = model.module(full_size_input(model, image).to(model.device))
    return segment_list(scores, model.labels)
