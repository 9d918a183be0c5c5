"""Normalisations (per layer, per channel, fixed) and the diverging colormap's zero."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_viewer.core.display.colormaps import FEATURE_MAPS, is_diverging, mosaic_lut
from cnn_viewer.core.display.mosaic import FIXED_HISTORY, GAP, LEVELS, Scaler, parse_norm

MID = LEVELS // 2


def data(mosaic: np.ndarray) -> np.ndarray:
    return mosaic[mosaic != GAP]


def test_parse_norm_accepts_the_modes_and_names_bad_ones():
    assert parse_norm("layer") == ("layer", None)
    assert parse_norm("channel") == ("channel", None)
    assert parse_norm("fixed") == ("fixed", None)
    assert parse_norm("fixed:2.5") == ("fixed", 2.5)
    for bad in ("pixel", "fixed:0", "fixed:-1", "fixed:abc", "fixed:nan", "layer:3"):
        with pytest.raises(ValueError, match="normalisation"):
            parse_norm(bad)


def test_layer_range_is_reported_and_spans_the_levels():
    act = torch.tensor([[[-1.0, 0.0], [1.0, 3.0]], [[0.5, 0.5], [2.0, -1.0]]])
    mosaic, _, _, value_range = Scaler("layer").build("x", act)
    assert value_range == (-1.0, 3.0)
    assert data(mosaic).min() == 0 and data(mosaic).max() == LEVELS
    # 1.0 sits half-way between -1 and 3
    assert mosaic[1, 0] == round(0.5 * LEVELS)


def test_channel_stretches_each_tile_and_has_no_single_range():
    act = torch.stack(
        [torch.linspace(0, 1, 16).reshape(4, 4), torch.linspace(0, 100, 16).reshape(4, 4)]
    )
    mosaic, _, _, value_range = Scaler("channel").build("x", act)
    assert value_range is None
    left, right = mosaic[:, :4], mosaic[:, 5:9]
    np.testing.assert_array_equal(left, right)  # same shape of values -> same levels


def test_fixed_keeps_the_range_across_frames():
    scaler = Scaler("fixed")
    bright = torch.full((2, 3, 3), 4.0)
    bright[0, 0, 0] = 0.0
    dim = bright / 4  # the same pattern, a quarter as strong
    m1, _, _, r1 = scaler.build("conv", bright)
    m2, _, _, r2 = scaler.build("conv", dim)
    assert r1 == r2 == (0.0, 4.0)
    assert data(m1).max() == LEVELS
    assert data(m2).max() == round(LEVELS / 4)  # dim stays dim, unlike per layer
    _, _, _, layer_range = Scaler("layer").build("conv", dim)
    assert layer_range == (0.0, 1.0)
    # other layers keep their own history; reset forgets it
    _, _, _, other = scaler.build("fc", dim)
    assert other == (0.0, 1.0)
    scaler.reset()
    assert scaler.build("conv", dim)[3] == (0.0, 1.0)


def test_fixed_history_is_bounded():
    scaler = Scaler("fixed")
    scaler.build("conv", torch.full((1, 2, 2), 9.0))
    for _ in range(FIXED_HISTORY):
        _, _, _, r = scaler.build("conv", torch.full((1, 2, 2), 1.0))
    assert r == (1.0, 1.0)


def test_fixed_user_value_clips():
    act = torch.tensor([[[-5.0, 0.0], [1.0, 10.0]]])
    mosaic, _, _, value_range = Scaler("fixed:2").build("x", act)
    assert value_range == (0.0, 2.0)
    assert mosaic.tolist() == [[0, 0], [MID, LEVELS]]  # -5 clipped to 0, 10 to 2
    mosaic, _, _, value_range = Scaler("fixed:2", symmetric=True).build("x", act)
    assert value_range == (-2.0, 2.0)
    assert mosaic.tolist() == [[0, MID], [int(0.75 * LEVELS + 0.5), LEVELS]]


@pytest.mark.parametrize("norm", ["layer", "channel", "fixed"])
def test_symmetric_puts_zero_in_the_middle(norm):
    act = torch.tensor([[[-2.0, 0.0], [1.0, 0.5]], [[0.0, 3.0], [-1.0, 0.0]]])
    mosaic, _, _, value_range = Scaler(norm, symmetric=True).build("x", act)
    zeros = (act.reshape(2, 4) == 0).numpy()
    tiles = np.stack([mosaic[:, :2].reshape(-1), mosaic[:, 3:5].reshape(-1)])
    assert np.all(tiles[zeros] == MID)
    assert np.all(tiles[(act.reshape(2, 4) < 0).numpy()] < MID)
    assert np.all(tiles[(act.reshape(2, 4) > 0).numpy()] > MID)
    if value_range is not None:
        assert value_range[0] == -value_range[1] == -3.0


def test_symmetric_all_zero_is_the_middle_colour():
    mosaic, _, _, _ = Scaler("layer", symmetric=True).build("x", torch.zeros(3, 2, 2))
    assert np.all(data(mosaic) == MID)


def test_vectors_use_the_layer_range_even_per_channel():
    vec = torch.tensor([-1.0, 0.0, 1.0])
    mosaic, _, tile, value_range = Scaler("channel").build("fc", vec)
    assert tile == (1, 1) and value_range == (-1.0, 1.0)
    assert mosaic.tolist() == [[0, MID, LEVELS]]


def test_feature_colormaps_and_the_diverging_middle():
    for name in FEATURE_MAPS:
        lut = mosaic_lut(name)
        assert lut.shape == (256, 4) and len({tuple(c) for c in lut[:LEVELS:16]}) > 10
    assert is_diverging("coolwarm") and not is_diverging("inferno")
    lut = mosaic_lut("coolwarm").astype(int)
    middle = lut[MID, :3]
    assert middle.min() > 230 and np.ptp(middle) < 4  # zero is (near) white
    assert lut[0, 2] > lut[0, 0] and lut[LEVELS, 0] > lut[LEVELS, 2]  # blue low, red high
    # lightness rises towards the middle on both sides
    light = lut[: LEVELS + 1, :3].sum(axis=1)
    assert np.all(np.diff(light[: MID + 1]) >= 0) and np.all(np.diff(light[MID:]) <= 0)
    with pytest.raises(ValueError, match="'rainbow'"):
        mosaic_lut("rainbow")
