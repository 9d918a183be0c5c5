"""A small generated image-folder dataset: circles, squares and triangles drawn with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SHAPES = ("circle", "square", "triangle")


def draw_shape(kind: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """One size x size RGB uint8 image: a filled shape in a random colour, place and size
    on a random darker background."""
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(0, 90, 3)
    colour = tuple(int(c) for c in rng.integers(150, 256, 3))
    r = rng.uniform(0.22, 0.36) * size
    cx, cy = rng.uniform(r + 1, size - r - 1, 2)
    if kind == "circle":
        cv2.circle(img, (round(cx), round(cy)), round(r), colour, -1, cv2.LINE_AA)
        return img
    n = 4 if kind == "square" else 3
    turn = np.pi / 4 if kind == "square" else -np.pi / 2  # upright, with a small wobble
    turn += rng.uniform(-0.15, 0.15)
    angles = turn + np.arange(n) * 2 * np.pi / n
    pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)
    cv2.fillPoly(img, [np.round(pts).astype(np.int32)], colour, cv2.LINE_AA)
    return img


def write_shapes(root: Path, per_class: int, size: int = 32, seed: int = 0) -> Path:
    """root/<shape>/<i>.png for each shape; returns root."""
    rng = np.random.default_rng(seed)
    for kind in SHAPES:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rgb = draw_shape(kind, rng, size)
            cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root
