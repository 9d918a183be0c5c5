"""Tile a layer's channels into one uint8 image, vectorised (no per-channel loop).

Values 0..254 carry the data (after normalising); 255 marks the gaps between tiles
and empty tiles, so a colormap lookup table can paint them as background for free.
"""

from __future__ import annotations

import math

import numpy as np
import torch

GAP = 255
LEVELS = 254  # data spans 0..LEVELS
VECTOR_COLS = 64


def grid_for(channels: int) -> tuple[int, int]:
    """(rows, cols) for ``channels`` tiles: a power-of-two column count, wider than tall."""
    cols = min(channels, max(8, 2 ** math.ceil(math.log2(math.sqrt(4 * channels)))))
    return math.ceil(channels / cols), cols


def _scale(x: torch.Tensor, mode: str) -> torch.Tensor:
    """x: C x H x W float -> same shape uint8 in 0..LEVELS."""
    if mode == "channel":
        lo = x.amin(dim=(1, 2), keepdim=True)
        hi = x.amax(dim=(1, 2), keepdim=True)
    elif mode == "layer":
        lo, hi = x.min(), x.max()
    else:
        raise ValueError(f"normalisation {mode!r}: use 'layer' or 'channel'")
    span = (hi - lo).clamp_min(1e-12)
    return ((x - lo) / span * LEVELS).round_().to(torch.uint8)


def as_maps(act: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """One sample's activation (batch dim removed) -> (C x H x W, is_vector).

    3-D maps stay as they are, except C x 1 x 1 (e.g. after global pooling), which is a
    vector; a vector of length N becomes N cells of 1x1; a token sequence (N x D)
    becomes one N x D map; anything else is flattened to a vector.
    """
    act = act.detach().float()
    if act.ndim == 3 and act.shape[1:] != (1, 1):
        return act, False
    if act.ndim == 2:
        return act[None], False
    return act.reshape(-1, 1, 1), True


def build_mosaic(
    act: torch.Tensor, mode: str = "layer"
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Activation of one sample -> (mosaic uint8 HxW, (rows, cols), (tile_h, tile_w)).

    Maps get a 1-pixel gap between tiles; vectors are cells in rows of VECTOR_COLS
    with no gap (a strip).
    """
    maps, is_vector = as_maps(act)
    c, h, w = maps.shape
    if is_vector:
        cols = min(c, VECTOR_COLS)
        rows = math.ceil(c / cols)
        flat = torch.full((rows * cols,), GAP, dtype=torch.uint8)
        flat[:c] = _scale(maps, mode if mode == "layer" else "layer").view(-1)
        return flat.view(rows, cols).numpy(), (rows, cols), (1, 1)
    rows, cols = grid_for(c)
    u8 = _scale(maps, mode)
    canvas = torch.full((rows * cols, h + 1, w + 1), GAP, dtype=torch.uint8)
    canvas[:c, :h, :w] = u8
    canvas = canvas.view(rows, cols, h + 1, w + 1).permute(0, 2, 1, 3)
    mosaic = canvas.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1]
    return np.ascontiguousarray(mosaic.numpy()), (rows, cols), (h, w)


def tile_at(
    x: int, y: int, grid: tuple[int, int], tile: tuple[int, int], channels: int, gap: int = 1
) -> int | None:
    """Channel index under mosaic pixel (x, y), or None on a gap or empty tile."""
    rows, cols = grid
    th, tw = tile
    gap = 0 if tile == (1, 1) else gap
    r, ry = divmod(y, th + gap)
    c, cx = divmod(x, tw + gap)
    if ry >= th or cx >= tw or r >= rows or c >= cols or r < 0 or c < 0:
        return None
    index = r * cols + c
    return index if index < channels else None
