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
MAX_TILE = 64  # map sides above this are average-pooled down before tiling


def grid_for(channels: int) -> tuple[int, int]:
    """(rows, cols) for ``channels`` tiles: a power-of-two column count, wider than tall."""
    cols = min(channels, max(8, 2 ** math.ceil(math.log2(math.sqrt(4 * channels)))))
    return math.ceil(channels / cols), cols


NORMS = ("layer", "channel", "fixed")
FIXED_HISTORY = 50  # frames a "fixed" scale without a user value looks back over


def parse_norm(norm: str) -> tuple[str, float | None]:
    """A normalisation spec -> (mode, limit).

    'layer': each layer's own min..max in this frame. 'channel': each channel's own
    min..max (every tile is stretched on its own). 'fixed': each layer keeps one range
    across frames, its min..max over the last FIXED_HISTORY frames, so brightness can be
    compared from frame to frame. 'fixed:V' (V > 0): every layer maps 0..V (or -V..V
    with a diverging colormap); values outside are clipped to the ends.
    """
    mode, _, value = str(norm).partition(":")
    if mode not in NORMS or (value and mode != "fixed"):
        raise ValueError(f"normalisation {norm!r}: use 'layer', 'channel', 'fixed' or 'fixed:V'")
    if not value:
        return mode, None
    try:
        limit = float(value)
    except ValueError:
        limit = float("nan")
    if not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"normalisation {norm!r}: V in 'fixed:V' must be a number above 0")
    return mode, limit


def _ranges(x: np.ndarray, per_channel: bool, symmetric: bool) -> tuple:
    """(lo, hi) of C x H x W maps: per channel (C x 1 x 1 arrays) or for the whole layer
    (floats); symmetric: -max|x|..max|x| so that zero lands in the middle."""
    axes = (1, 2) if per_channel else None
    if symmetric:
        m = np.abs(x).max(axis=axes, keepdims=per_channel)
        m = np.maximum(m, 1e-12)
        return -m, m
    return x.min(axis=axes, keepdims=per_channel), x.max(axis=axes, keepdims=per_channel)


def _to_levels(x: np.ndarray, lo, hi, clip: bool = False) -> np.ndarray:
    """x float32 mapped lo..hi -> 0..LEVELS uint8 (rounded); ``clip`` for values outside.

    numpy, not torch: these arrays are small and torch's per-op dispatch cost was more
    than half the time here (2.6 ms vs 1.1 ms for mobilenet_v3_small's 16 layers)."""
    k = LEVELS / np.maximum(hi - lo, 1e-12)
    out = x - lo
    out *= k
    out += 0.5
    if clip:
        np.clip(out, 0, LEVELS + 0.5, out=out)
    return out.astype(np.uint8)


def shrink(maps: np.ndarray, max_side: int = MAX_TILE) -> np.ndarray:
    """Average C x H x W maps over f x f blocks (a whole factor f) so no side exceeds
    ``max_side``; leftover edge rows/columns are dropped. The window never draws a tile
    that large, and smaller mosaics render faster. Summing f*f strided views: 0.2 ms
    for 16 x 112 x 112, where torch's avg_pool2d took 0.7 ms and numpy's mean 2.3 ms."""
    c, h, w = maps.shape
    f = math.ceil(max(h, w) / max_side)
    if f <= 1:
        return maps
    # A side shorter than f stays whole (Swin's 7 x 7 x 768 channels-last output would
    # otherwise shrink to 0 rows); the long one is still averaged down.
    fh, fw = (f if h >= f else 1), (f if w >= f else 1)
    hh, ww = h // fh, w // fw
    acc = np.zeros((c, hh, ww), np.float32)
    for dy in range(fh):
        for dx in range(fw):
            acc += maps[:, dy : hh * fh : fh, dx : ww * fw : fw]
    acc *= 1.0 / (fh * fw)
    return acc


def as_maps(act: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """One sample's activation (batch dim removed) -> (C x H x W, is_vector).

    3-D maps stay as they are, except C x 1 x 1 (e.g. after global pooling), which is a
    vector; a vector of length N becomes N cells of 1x1; a token sequence (N x D)
    becomes one N x D map; anything else is flattened to a vector.
    """
    act = act.detach().float().cpu()
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
    with no gap (a strip). ``mode``: a normalisation (see ``parse_norm``); one call sees
    one frame, so plain 'fixed' equals 'layer' here (a Scaler keeps the history).
    """
    return Scaler(mode).build("", act)[:3]


class Scaler:
    """Builds mosaics with one normalisation (see ``parse_norm``); keeps the per-layer
    history a 'fixed' scale needs. ``symmetric`` (for a diverging colormap): ranges are
    centred on zero, so zero is the middle colour (level LEVELS // 2). Called by one
    thread at a time (the engine's finishing step)."""

    def __init__(self, norm: str = "layer", symmetric: bool = False) -> None:
        self.mode, self.limit = parse_norm(norm)
        self.symmetric = symmetric
        self._history: dict[str, list[tuple[float, float]]] = {}

    def reset(self) -> None:
        """Forget the frames seen so far (e.g. after warm-up frames)."""
        self._history.clear()

    def _layer_range(self, name: str, x: np.ndarray) -> tuple[float, float]:
        if self.limit is not None:
            return (-self.limit if self.symmetric else 0.0), self.limit
        lo, hi = _ranges(x, False, self.symmetric)
        if self.mode == "layer":
            return float(lo), float(hi)
        seen = self._history.setdefault(name, [])
        seen.append((float(lo), float(hi)))
        del seen[:-FIXED_HISTORY]
        return min(a for a, _ in seen), max(b for _, b in seen)

    def _levels(self, name: str, x: np.ndarray, vector: bool):
        """C x H x W float32 -> (uint8 levels, value range or None when per channel)."""
        if self.mode == "channel" and not vector:
            lo, hi = _ranges(x, True, self.symmetric)
            return _to_levels(x, lo, hi), None
        lo, hi = self._layer_range(name, x)
        return _to_levels(x, lo, hi, clip=self.mode == "fixed"), (lo, hi)

    def build(
        self, name: str, act: torch.Tensor
    ) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[float, float] | None]:
        """One sample's activation -> (mosaic, (rows, cols), (tile_h, tile_w), value range).

        The value range is what the two ends of the colormap mean for this layer (None
        for per-channel scales, where every tile has its own)."""
        maps, is_vector = as_maps(act)
        if is_vector:
            c = maps.shape[0]
            cols = min(c, VECTOR_COLS)
            rows = math.ceil(c / cols)
            flat = np.full(rows * cols, GAP, np.uint8)
            levels, value_range = self._levels(name, maps.numpy(), True)
            flat[:c] = levels.reshape(-1)
            return flat.reshape(rows, cols), (rows, cols), (1, 1), value_range
        tiles = shrink(maps.numpy())
        c, h, w = tiles.shape
        rows, cols = grid_for(c)
        canvas: np.ndarray = np.full((rows * cols, h + 1, w + 1), GAP, np.uint8)
        canvas[:c, :h, :w], value_range = self._levels(name, tiles, False)
        canvas = canvas.reshape(rows, cols, h + 1, w + 1).transpose(0, 2, 1, 3)
        mosaic = canvas.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1]
        return np.ascontiguousarray(mosaic), (rows, cols), (h, w), value_range


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
