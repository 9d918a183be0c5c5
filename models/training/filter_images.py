"""Pictures of filters and probe feature maps, and the filter timeline as a video or a
PNG strip. Qt-free numpy + OpenCV; used by the Train panel and its exports.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from cnn_viewer.models.training.studio import Snapshot

GAP = 1
BACKGROUND = 40  # gray between tiles


def _grid(tiles: np.ndarray, cols: int) -> np.ndarray:
    """n x h x w x 3 uint8 tiles -> one image, ``cols`` tiles a row, GAP pixels apart."""
    n, h, w, _ = tiles.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + GAP) + GAP, cols * (w + GAP) + GAP, 3), BACKGROUND, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = GAP + r * (h + GAP), GAP + c * (w + GAP)
        out[y : y + h, x : x + w] = tiles[i]
    return out


def _zoom(tiles: np.ndarray, min_side: int) -> np.ndarray:
    f = max(1, -(-min_side // max(tiles.shape[1:3])))
    return tiles.repeat(f, axis=1).repeat(f, axis=2)


def diverging(values: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] -> RGB uint8: blue negative, white zero, red positive."""
    v = np.clip(values, -1, 1)[..., None]
    pos = np.array([255, 255, 255]) * (1 - v) + np.array([200, 30, 30]) * v
    neg = np.array([255, 255, 255]) * (1 + v) + np.array([30, 60, 200]) * (-v)
    return np.where(v >= 0, pos, neg).astype(np.uint8)


def _cols(n: int) -> int:
    """Columns for n tiles: about twice as wide as tall."""
    return max(1, min(n, math.ceil(math.sqrt(2 * n))))


def filter_grid(weights: np.ndarray, min_tile: int = 12) -> np.ndarray:
    """out x in x kh x kw weights -> RGB uint8 mosaic, each filter scaled by its own largest
    |weight|. 3 inputs: one colour tile per filter (0 = gray); 1 input: one tile per filter;
    more: one column per filter, one row per input channel. Red positive, blue negative."""
    w = np.asarray(weights, np.float32)
    o, i = w.shape[:2]
    scale = np.abs(w).reshape(o, -1).max(1).reshape(o, 1, 1, 1)
    w = w / np.maximum(scale, 1e-12)
    if i == 3:
        tiles = (128 + 127 * w.transpose(0, 2, 3, 1)).astype(np.uint8)
        return _grid(_zoom(tiles, min_tile), _cols(o))
    if i == 1:
        return _grid(_zoom(diverging(w[:, 0]), min_tile), _cols(o))
    tiles = diverging(w.transpose(1, 0, 2, 3).reshape(i * o, *w.shape[2:]))
    return _grid(_zoom(tiles, min_tile), o)


def maps_grid(maps: np.ndarray, min_tile: int = 24) -> np.ndarray:
    """C x H x W activations -> gray RGB uint8 mosaic, each map scaled to its own range."""
    m = np.asarray(maps, np.float32)
    lo = m.min(axis=(1, 2), keepdims=True)
    hi = m.max(axis=(1, 2), keepdims=True)
    g = ((m - lo) * (255 / np.maximum(hi - lo, 1e-12))).astype(np.uint8)
    tiles = np.repeat(g[..., None], 3, axis=3)
    return _grid(_zoom(tiles, min_tile), _cols(len(tiles)))


def timeline_frame(snap: Snapshot, layer: str, min_height: int = 240) -> np.ndarray:
    """One snapshot's filters of ``layer`` with 'step N' written above (RGB uint8)."""
    grid = filter_grid(snap.filters[layer])
    f = max(1, -(-min_height // grid.shape[0]))
    grid = grid.repeat(f, 0).repeat(f, 1)
    bar = np.full((28, grid.shape[1], 3), 255, np.uint8)
    text = f"step {snap.step}  epoch {snap.epoch}"
    cv2.putText(bar, text, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, grid])


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def export_video(timeline: list[Snapshot], layer: str, path: str | Path, fps: float = 8) -> int:
    """Write the timeline of ``layer``'s filters as a video (MP4 by its suffix; mp4v codec).
    Returns the number of frames. OSError when OpenCV cannot write the file."""
    if not timeline:
        raise ValueError("the timeline is empty: train first")
    frames = [_even(timeline_frame(s, layer)) for s in timeline]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write a video there (try a .mp4 name)")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return len(frames)


def strip(timeline: list[Snapshot], layer: str, count: int = 8) -> np.ndarray:
    """Up to ``count`` snapshots, evenly spread from first to last, side by side."""
    if not timeline:
        raise ValueError("the timeline is empty: train first")
    picks = sorted({round(i) for i in np.linspace(0, len(timeline) - 1, min(count, len(timeline)))})
    frames = [timeline_frame(timeline[i], layer) for i in picks]
    gap = np.full((frames[0].shape[0], 6, 3), 255, np.uint8)
    parts = [p for f in frames for p in (f, gap)][:-1]
    return np.hstack(parts)


def export_strip(timeline: list[Snapshot], layer: str, path: str | Path, count: int = 8) -> None:
    image = strip(timeline, layer, count)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(
            f"{path}: could not be written (is it a .png name in a folder you can write?)"
        )
