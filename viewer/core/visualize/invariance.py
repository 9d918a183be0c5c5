"""Invariance probe: shift, rotate or scale an input and watch the class probabilities.

The transforms act on the image as the network sees it (its input size), with
cv2.warpAffine about the image centre; value 0 (scale 1) leaves the image unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.zoo.loaded import LoadedModel

# kind: the unit of its values
TRANSFORMS = {
    "shift_x": "pixels",
    "shift_y": "pixels",
    "rotation": "degrees",
    "scale": "factor",
}


def identity_value(kind: str) -> float:
    return 1.0 if kind == "scale" else 0.0


def default_values(kind: str, size: tuple[int, int], count: int = 41) -> np.ndarray:
    """A symmetric sweep around the identity: shifts up to a third of the side, rotations
    up to 180 degrees, scales 0.5 to 2 (log-spaced). ``count`` is made odd, so the
    identity is one of the values."""
    count = count | 1
    if kind not in TRANSFORMS:
        raise ValueError(f"transform {kind!r}: choose one of {', '.join(TRANSFORMS)}")
    if kind == "rotation":
        return np.linspace(-180, 180, count)
    if kind == "scale":
        return np.geomspace(0.5, 2.0, count)
    side = size[1] if kind == "shift_x" else size[0]
    reach = max(1, round(side / 3))
    return np.linspace(-reach, reach, count)


def warp(image: np.ndarray, kind: str, value: float) -> np.ndarray:
    """``image`` (uint8 HxW or HxWx3) shifted / rotated / scaled about its centre. Gray
    images (digits: white on black) are filled with black, colour ones reflect."""
    h, w = image.shape[:2]
    if kind == "shift_x":
        m: np.ndarray = np.array([[1, 0, value], [0, 1, 0]], np.float32)
    elif kind == "shift_y":
        m = np.array([[1, 0, 0], [0, 1, value]], np.float32)
    elif kind in ("rotation", "scale"):
        angle, zoom = (value, 1.0) if kind == "rotation" else (0.0, value)
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, zoom)
    else:
        raise ValueError(f"transform {kind!r}: choose one of {', '.join(TRANSFORMS)}")
    border = cv2.BORDER_CONSTANT if image.ndim == 2 else cv2.BORDER_REFLECT_101
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


@dataclass
class Sweep:
    kind: str
    values: np.ndarray  # V
    probs: np.ndarray  # V x classes
    classes: list[int]  # the classes to plot: the top ones at the identity, then any
    # class that wins somewhere along the sweep
    labels: list[str]
    images: list[np.ndarray]  # the transformed inputs, one per value

    def curve(self, cls: int) -> np.ndarray:
        return self.probs[:, cls]


def sweep(
    model: LoadedModel,
    net_image: np.ndarray,
    kind: str,
    values: np.ndarray | None = None,
    top: int = 3,
    batch: int = 32,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Sweep:
    """Class probabilities of ``net_image`` (uint8, the network's input size, as in
    Result.network_image) under each transform value."""
    if values is None:
        values = default_values(kind, model.input_size)
    values = np.asarray(values, np.float64)
    images = [warp(net_image, kind, float(v)) for v in values]
    chunks: list[np.ndarray] = []
    for start in range(0, len(images), batch):
        stop_if(should_stop, f"stopped after {start} of {len(images)} images")
        x = torch.cat([model.preprocess.to_tensor(im) for im in images[start : start + batch]])
        with torch.no_grad():
            logits = model.module(x.to(model.device)).float()
        chunks.append(torch.softmax(logits, dim=1).cpu().numpy())
        if on_progress is not None:
            done = min(start + batch, len(images))
            on_progress(done, len(images), f"{kind} {done} / {len(images)}")
    probs = np.concatenate(chunks)
    at_identity = int(np.argmin(np.abs(values - identity_value(kind))))
    classes = [int(c) for c in np.argsort(-probs[at_identity])[:top]]
    for c in probs.argmax(axis=1):
        if int(c) not in classes and len(classes) < top + 4:
            classes.append(int(c))
    return Sweep(kind, values, probs, classes, model.labels, images)
