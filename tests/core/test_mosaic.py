"""Mosaics: one uint8 image per layer, channels tiled with 1-pixel gaps of value 255."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_viewer.core.display.mosaic import (
    GAP,
    LEVELS,
    VECTOR_COLS,
    Scaler,
    build_mosaic,
    grid_for,
    shrink,
    tile_at,
)

SHAPES = [
    (1, 5, 7),
    (3, 4, 4),
    (8, 28, 28),
    (10, 3, 5),
    (16, 14, 14),
    (32, 7, 7),
    (64, 2, 2),
    (100, 1, 3),
    (512, 7, 7),
]


def expected_tile(channel: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Independent normalisation: lo..hi -> 0..254, rounded."""
    span = max(hi - lo, 1e-12)
    return np.round((channel.astype(np.float64) - lo) / span * LEVELS).astype(np.uint8)


def tile_origin(k: int, cols: int, h: int, w: int) -> tuple[int, int]:
    r, c = divmod(k, cols)
    return r * (h + 1), c * (w + 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_grid_and_mosaic_shape(shape):
    c, h, w = shape
    rows, cols = grid_for(c)
    assert rows * cols >= c > (rows - 1) * cols  # enough tiles, no empty row
    assert cols >= rows or cols == c  # wider than tall unless there are too few channels
    assert cols & (cols - 1) == 0 or cols == c  # a power of two (or all channels in one row)
    act = torch.randn(shape)
    mosaic, grid, tile = build_mosaic(act)
    assert grid == (rows, cols)
    assert tile == (h, w)
    assert mosaic.dtype == np.uint8 and mosaic.flags.c_contiguous
    assert mosaic.shape == (rows * (h + 1) - 1, cols * (w + 1) - 1)


def test_known_grids():
    assert grid_for(1) == (1, 1)
    assert grid_for(8) == (1, 8)
    assert grid_for(16) == (2, 8)
    assert grid_for(32) == (2, 16)
    assert grid_for(64) == (4, 16)
    assert grid_for(512) == (8, 64)


@pytest.mark.parametrize("mode", ["channel", "layer"])
@pytest.mark.parametrize("shape", [(3, 4, 4), (10, 3, 5), (16, 14, 14), (100, 1, 3)])
def test_tiles_hold_the_normalised_channels_and_gaps_are_255(shape, mode):
    c, h, w = shape
    gen = torch.Generator().manual_seed(c * 7 + h)
    act = torch.randn(shape, generator=gen) * 3 + 1
    mosaic, (rows, cols), _ = build_mosaic(act, mode)
    a = act.numpy()
    covered = np.zeros(mosaic.shape, bool)
    for k in range(c):
        lo, hi = (a[k].min(), a[k].max()) if mode == "channel" else (a.min(), a.max())
        y, x = tile_origin(k, cols, h, w)
        tile = mosaic[y : y + h, x : x + w]
        np.testing.assert_array_equal(tile, expected_tile(a[k], lo, hi), err_msg=f"channel {k}")
        covered[y : y + h, x : x + w] = True
        if mode == "channel":
            assert tile.min() == 0 and tile.max() == LEVELS
    assert mosaic[covered].max() <= LEVELS  # data never collides with the gap value
    assert np.all(mosaic[~covered] == GAP)  # gaps and empty tiles
    if mode == "layer":
        assert mosaic[covered].min() == 0 and mosaic[covered].max() == LEVELS


def test_constant_channels_give_zero_not_nan():
    mosaic, _, _ = build_mosaic(torch.full((4, 3, 3), 2.5), "channel")
    data = mosaic[mosaic != GAP]
    assert data.size == 4 * 9 and np.all(data == 0)


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="'pixel'"):
        build_mosaic(torch.zeros(2, 3, 3), "pixel")


@pytest.mark.parametrize("shape", [(3, 4, 4), (10, 3, 5), (16, 14, 14), (64, 2, 2), (100, 1, 3)])
def test_tile_at_maps_every_pixel_to_its_channel(shape):
    c, h, w = shape
    mosaic, grid, tile = build_mosaic(torch.randn(shape))
    rows, cols = grid
    expected = np.full(mosaic.shape, -1)
    for k in range(c):
        y, x = tile_origin(k, cols, h, w)
        expected[y : y + h, x : x + w] = k
    got = np.array(
        [
            [
                -1 if (k := tile_at(x, y, grid, tile, c)) is None else k
                for x in range(mosaic.shape[1])
            ]
            for y in range(mosaic.shape[0])
        ]
    )
    np.testing.assert_array_equal(got, expected)
    # Outside the mosaic there is no channel.
    assert tile_at(-1, 0, grid, tile, c) is None
    assert tile_at(0, -1, grid, tile, c) is None
    assert tile_at(mosaic.shape[1] + 5, 0, grid, tile, c) is None
    assert tile_at(0, mosaic.shape[0] + 5, grid, tile, c) is None


@pytest.mark.parametrize("n", [1, 10, 64, 100, 1000])
def test_vectors_become_strips(n):
    vec = torch.linspace(-2, 5, n) if n > 1 else torch.tensor([3.0])
    mosaic, grid, tile = build_mosaic(vec)
    cols = min(n, VECTOR_COLS)
    rows = -(-n // cols)
    assert grid == (rows, cols) and tile == (1, 1)
    assert mosaic.shape == (rows, cols)  # no gaps between cells
    flat = mosaic.reshape(-1)
    lo, hi = float(vec.min()), float(vec.max())
    np.testing.assert_array_equal(flat[:n], expected_tile(vec.numpy(), lo, hi))
    assert np.all(flat[n:] == GAP)
    for i in range(n):
        assert tile_at(i % cols, i // cols, grid, tile, n) == i
    if rows * cols > n:
        assert tile_at(cols - 1, rows - 1, grid, tile, n) is None


def test_pooled_maps_c_by_1_by_1_are_strips_and_clicks_hit_the_right_unit():
    """A 512 x 1 x 1 output (resnet's avgpool) is a vector: tile_at must agree with the image."""
    act = torch.arange(512.0).reshape(512, 1, 1)
    mosaic, grid, tile = build_mosaic(act)
    assert grid == (8, 64) and tile == (1, 1) and mosaic.shape == (8, 64)
    np.testing.assert_array_equal(mosaic.reshape(-1), expected_tile(np.arange(512.0), 0, 511))
    for x, y in [(0, 0), (1, 0), (2, 0), (63, 0), (0, 1), (5, 7)]:
        k = tile_at(x, y, grid, tile, 512)
        assert k == y * 64 + x
        assert mosaic[y, x] == expected_tile(np.array([float(k)]), 0, 511)[0]


def test_token_sequence_is_one_map():
    act = torch.randn(6, 9)
    mosaic, grid, tile = build_mosaic(act)
    assert grid == (1, 1) and tile == (6, 9) and mosaic.shape == (6, 9)
    a = act.numpy()
    np.testing.assert_array_equal(mosaic, expected_tile(a, a.min(), a.max()))


def test_a_long_thin_map_keeps_its_short_side():
    """Swin's blocks give channels-last 7 x 7 x 768 outputs, read as 7 maps of 7 x 768:
    the long side is averaged down, the short one must not shrink to nothing."""
    act = torch.arange(7 * 7 * 768, dtype=torch.float32).reshape(7, 7, 768)
    small = shrink(act.numpy())
    assert small.shape == (7, 7, 64)
    np.testing.assert_allclose(small[0, 0, 0], act[0, 0, :12].mean().item())
    mosaic, grid, tile, _ = Scaler("layer").build("x", act)
    assert tile == (7, 64) and grid[0] * grid[1] >= 7
    assert mosaic.shape == (grid[0] * 8 - 1, grid[1] * 65 - 1)
    square = np.ones((2, 128, 128), np.float32)
    assert shrink(square).shape == (2, 64, 64)  # square maps: as before
