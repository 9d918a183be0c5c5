"""Colormaps as lookup tables, applied in the engine's thread (Qt-free, from OpenCV).

The window then gets ready RGBA images: painting an RGBA image costs Qt far less than
an indexed one whose colour table pyqtgraph rebuilds in Python on every paint
(measured: 30 ms per digit-CNN result before, see README).
"""

from __future__ import annotations

import cv2
import numpy as np

from cnn_viewer.core.display.mosaic import GAP, LEVELS

BACKGROUND = (38, 40, 46)
NAMES = {
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA,
    "cividis": cv2.COLORMAP_CIVIDIS,
    "turbo": cv2.COLORMAP_TURBO,
}
# Diverging maps for signed values: built here (OpenCV has none that is perceptually even).
DIVERGING = {"coolwarm": ((59, 76, 192), (242, 242, 242), (180, 4, 38))}
# What the window offers for feature maps: perceptually uniform ones, then diverging.
FEATURE_MAPS = ("inferno", "viridis", "magma", "plasma", "cividis", "coolwarm")


def is_diverging(name: str) -> bool:
    """True for a colormap whose middle colour means zero (mosaics scaled around zero)."""
    return name in DIVERGING


def _diverging_rgb(ends: tuple, n: int = 256) -> np.ndarray:
    """n x 3 uint8: low colour -> middle -> high colour, interpolated in CIELAB so
    lightness changes evenly on both sides; entry (n - 1) / 2 is the middle colour."""
    anchors = np.array(ends, np.float32).reshape(3, 1, 3) / 255.0
    lab = cv2.cvtColor(anchors, cv2.COLOR_RGB2Lab).reshape(3, 3)
    mid = (n - 1) / 2
    t = np.arange(n, dtype=np.float32)
    left = np.clip(t / mid, 0, 1)[:, None]
    right = np.clip((t - mid) / mid, 0, 1)[:, None]
    mixed = np.where(
        t[:, None] <= mid, lab[0] + (lab[1] - lab[0]) * left, lab[1] + (lab[2] - lab[1]) * right
    )
    rgb = cv2.cvtColor(mixed.reshape(n, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.round(np.clip(rgb.reshape(n, 3), 0, 1) * 255).astype(np.uint8)


def _rgb(name: str) -> np.ndarray:
    """256 x 3 uint8 RGB samples of a named colormap."""
    if name in DIVERGING:
        return _diverging_rgb(DIVERGING[name])
    if name not in NAMES:
        choices = ", ".join([*NAMES, *DIVERGING])
        raise ValueError(f"colormap {name!r}: choose one of {choices}")
    bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), NAMES[name])
    return bgr[:, 0, ::-1].copy()


def mosaic_lut(name: str = "inferno") -> np.ndarray:
    """256 x 4 uint8 RGBA: mosaic values 0..LEVELS along the colormap, GAP as background.
    For a diverging map, level LEVELS // 2 (zero in a symmetric scale) is its middle."""
    lut = np.full((256, 4), 255, np.uint8)
    if name in DIVERGING:  # sampled at the levels, so that LEVELS // 2 is the middle
        lut[: LEVELS + 1, :3] = _diverging_rgb(DIVERGING[name], LEVELS + 1)
    else:
        rgb = _rgb(name)
        lut[: LEVELS + 1, :3] = rgb[np.round(np.arange(LEVELS + 1) * 255 / LEVELS).astype(int)]
    lut[GAP, :3] = BACKGROUND
    return lut


def heat_lut(name: str = "turbo") -> np.ndarray:
    """256 x 4 uint8 RGBA for a saliency overlay: transparent at 0, mostly opaque at 1."""
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = _rgb(name)
    lut[:, 3] = (np.clip(np.linspace(0, 1.6, 256), 0, 1) * 200).astype(np.uint8)
    return lut


def colorize(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """uint8 H x W -> H x W x 4 RGBA through ``lut`` (one lookup per pixel).

    Each RGBA entry is looked up as one 32-bit word: 0.4 ms for a 227 x 911 mosaic,
    where indexing the 256 x 4 table directly took 5.3 ms."""
    words = np.ascontiguousarray(lut).view(np.uint32).reshape(256)
    return np.take(words, values).view(np.uint8).reshape(*values.shape, 4)
