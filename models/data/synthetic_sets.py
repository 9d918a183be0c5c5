"""Small, varied, generated image-folder data sets for the training benchmark (Qt-free).

Each set is ``root/<set>/train/<class>/*.png`` and a held-out ``root/<set>/test/<class>``
(seeded; the held-out images are never seen by training or by its validation split):

- ``shapes``: filled circle / square / triangle / star in a random colour, place, size and
  turn on a noisy coloured background (a gradient, blobs and pixel noise);
- ``letters``: A / E / K / R in several OpenCV fonts, thicknesses, sizes and slants on
  photographed-paper-like backgrounds (tinted texture, uneven lighting, slight
  perspective, blur and sensor noise);
- ``stripes``: stripes at 0 / 45 / 90 / 135 degrees with random period, phase, colours,
  contrast and noise.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.float32]

SETS = ("shapes", "letters", "stripes")
SHAPES = ("circle", "square", "triangle", "star")
LETTERS = ("A", "E", "K", "R")
STRIPES = ("0", "45", "90", "135")
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)


def _noisy_background(rng: np.random.Generator, size: int) -> Image:
    """A coloured gradient with soft blobs and pixel noise, float32 H x W x 3 in [0, 255]."""
    a, b = rng.uniform(0, 200, 3), rng.uniform(0, 200, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    img: Image = (a + (b - a) * ramp[..., None]).astype(np.float32)
    for _ in range(rng.integers(2, 6)):
        disc = np.zeros((size, size), np.float32)
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        cv2.circle(disc, (cx, cy), int(rng.integers(size // 10, size // 3)), 1.0, -1)
        blob = np.asarray(cv2.GaussianBlur(disc, (0, 0), size / 12), np.float32)
        img += (blob[..., None] * rng.uniform(-70, 70, 3)).astype(np.float32)
    img += rng.normal(0, rng.uniform(5, 22), img.shape).astype(np.float32)
    return img


def _shape_points(kind: str, cx: float, cy: float, r: float, turn: float) -> np.ndarray:
    if kind == "star":
        angles = turn + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    else:
        n = 4 if kind == "square" else 3
        angles = turn + np.arange(n) * 2 * np.pi / n
        radii = np.full(n, r)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
    return np.round(pts * 16).astype(np.int32)  # 4 fractional bits


def draw_shape(kind: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """One RGB uint8 image of ``kind`` (a SHAPES name) anywhere, any size, any turn."""
    img = _noisy_background(rng, size)
    r = rng.uniform(0.14, 0.36) * size
    cx, cy = rng.uniform(r, size - r, 2)
    mean = img.reshape(-1, 3).mean(0)
    picked = np.where(mean > 110, rng.uniform(0, 70, 3), rng.uniform(170, 255, 3))
    colour = tuple(float(c) for c in picked)
    if kind == "circle":
        cv2.circle(img, (round(cx * 16), round(cy * 16)), round(r * 16), colour, -1,
                   cv2.LINE_AA, 4)  # fmt: skip
    else:
        pts = _shape_points(kind, cx, cy, r, rng.uniform(0, 2 * np.pi))
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, 4)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paper(rng: np.random.Generator, size: int) -> Image:
    """Tinted paper: fibre texture, a lighting gradient, float32 H x W x 3."""
    tint = np.array([235, 228, 210], np.float32) + rng.uniform(-25, 15, 3)
    noise = rng.normal(0, 1, (size, size)).astype(np.float32)
    fibre = np.asarray(cv2.GaussianBlur(noise, (0, 0), 1.2), np.float32)
    fibre = fibre / max(float(fibre.std()), 1e-6) * rng.uniform(3, 9)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    gx, gy = rng.uniform(-1, 1, 2)
    light = 1 - rng.uniform(0.05, 0.35) * np.clip(gx * (xx - 0.5) + gy * (yy - 0.5) + 0.5, 0, 1)
    return ((tint[None, None, :] + fibre[..., None]) * light[..., None]).astype(np.float32)


def draw_letter(letter: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """One RGB uint8 photo-like image of ``letter`` in a random font on paper."""
    mask8 = np.zeros((size, size), np.uint8)
    font = FONTS[rng.integers(len(FONTS))]
    thick = int(rng.integers(2, 6))
    target = rng.uniform(0.4, 0.65) * size
    (w, h), _ = cv2.getTextSize(letter, font, 1.0, thick)
    scale = target / max(h, 1)
    (w, h), _ = cv2.getTextSize(letter, font, scale, thick)
    x = rng.uniform(0.05 * size, max(0.05 * size, size - w - 0.05 * size))
    y = rng.uniform(h + 0.05 * size, max(h + 0.05 * size, size - 0.05 * size))
    cv2.putText(mask8, letter, (int(x), int(y)), font, scale, 255, thick, cv2.LINE_AA)
    mask = mask8.astype(np.float32) / 255
    # a slight turn, slant and perspective, as a hand-held photo of a page
    jitter = rng.uniform(-0.08, 0.08, (4, 2)) * size
    src = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
    dst = (src + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    rot = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-12, 12), 1.0)
    warped = cv2.warpPerspective(mask, m, (size, size))
    mask = np.asarray(cv2.warpAffine(warped, rot, (size, size)), np.float32)
    ink = np.array([30, 30, 40], np.float32) + rng.uniform(-25, 60, 3)
    paper = _paper(rng, size)
    img = paper * (1 - mask[..., None]) + ink * mask[..., None] * (paper / 230)
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.4)), np.float32)
    img += rng.normal(0, rng.uniform(2, 8), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_stripes(name: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """Stripes at ``name`` degrees (a STRIPES name) with random period, phase and colours."""
    theta = np.radians(float(name) + rng.uniform(-8, 8))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(0.1, 0.25) * size
    # 0 degrees: horizontal stripes (the value changes along y)
    u = xx * np.sin(theta) + yy * np.cos(theta)
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * u / period + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:
        wave = (wave > 0.5).astype(np.float32)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if np.abs(a - b).sum() < 120:
        b = 255 - a
    img = a + (b - a) * wave[..., None]
    img = _noisy_background(rng, size) * rng.uniform(0.1, 0.4) + img * 0.75
    img += rng.normal(0, 10, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


DRAW = {"shapes": (SHAPES, draw_shape), "letters": (LETTERS, draw_letter),
        "stripes": (STRIPES, draw_stripes)}  # fmt: skip


def write_set(
    root: str | Path,
    name: str,
    per_class: int = 72,
    *,
    held_out: float = 0.25,
    size: int = 96,
    seed: int = 0,
) -> Path:
    """Write set ``name`` (one of SETS) under ``root/name``: ``train/<class>/NNN.png`` and
    the held-out ``test/<class>/NNN.png`` (``held_out`` of ``per_class`` per class).
    Returns ``root/name``."""
    if name not in DRAW:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(SETS)}")
    classes, draw = DRAW[name]
    rng = np.random.default_rng([seed, SETS.index(name)])
    out = Path(root) / name
    n_test = max(1, round(per_class * held_out))
    for cls in classes:
        for split in ("train", "test"):
            (out / split / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            split = "test" if i < n_test else "train"
            rgb = draw(cls, rng, size)
            path = out / split / cls / f"{i:03d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return out


def write_sets(root: str | Path, names=SETS, per_class: int = 72, seed: int = 0) -> list[Path]:
    """Every set in ``names`` under ``root``; their folders."""
    return [write_set(root, n, per_class, seed=seed) for n in names]
