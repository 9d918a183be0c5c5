"""Activation maximisation and DeepDream on the shipped digit CNN (and a random resnet)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from cnn_viewer.core.hooks.taps import Taps
from cnn_viewer.core.sources.examples import draw_digit
from cnn_viewer.core.visualize.deepdream import deep_dream
from cnn_viewer.core.visualize.featurevis import (
    Settings,
    Target,
    default_settings,
    maximize,
)
from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.data.drawing import center_digit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits(digits_model):
    return digits_model


@pytest.mark.parametrize("digit", [2, 7])
def test_class_maximisation_gives_that_digit(digits, digit):
    target = Target("class", digit)
    s = default_settings(digits, target)
    s.steps = 96
    result = maximize(digits, target, s)
    assert result.image.shape == (28, 28) and result.image.dtype == np.uint8
    # the model, fed the saved uint8 image through its own preprocessing, agrees
    top = digits.predict(result.image, k=1)[0]
    assert top[0] == digit and top[2] > 0.95
    assert result.probs.argmax() == digit
    assert result.value > result.start_value + 10


def test_channel_maximisation_raises_the_channel_mean(digits):
    target = Target("channel", 1, "conv3")
    result = maximize(digits, target, default_settings(digits, target))
    # the mean of conv3 channel 1 on real drawn digits, for scale
    taps = Taps(digits.module, ["conv3"])
    with torch.no_grad():
        x = torch.cat([digits.preprocess(center_digit(draw_digit(d))) for d in range(10)])
        real = taps.run(x)["conv3"][:, 1].flatten(1).mean(1)
    assert result.value > result.start_value + 0.5
    assert result.value > float(real.max())


def test_unit_and_linear_targets(digits):
    s = Settings(steps=24, param="pixel", lr=0.1)
    unit = maximize(digits, Target("unit", 3, "conv2", position=(7, 7)), s)
    assert unit.value > unit.start_value
    fc = maximize(digits, Target("unit", 5, "fc1"), Settings(steps=24, param="fourier"))
    assert fc.value > fc.start_value


def test_bad_targets_say_what_is_wrong(digits):
    with pytest.raises(ValueError, match="classes 0..9"):
        maximize(digits, Target("class", 12), Settings(steps=1))
    with pytest.raises(ValueError, match="channels 0..7"):
        maximize(digits, Target("channel", 8, "conv1"), Settings(steps=1))
    with pytest.raises(KeyError, match="no layer named"):
        maximize(digits, Target("channel", 0, "conv9"), Settings(steps=1))


def test_progress_previews_and_cancel(digits):
    seen = []
    stop = threading.Event()

    def progress(p):
        seen.append(p)
        if p.step == 10:
            stop.set()

    with pytest.raises(Cancelled):
        maximize(digits, Target("class", 3), Settings(steps=50, preview_every=5), progress,
                 stop.is_set)  # fmt: skip
    assert [p.step for p in seen] == list(range(1, 11))
    assert seen[4].image is not None and seen[4].image.shape == (28, 28)
    assert seen[3].image is None
    assert not digits.module._forward_hooks and not digits.module.conv3._forward_hooks


def test_rgb_model_fourier_parametrisation(resnet18_model):
    model = resnet18_model
    target = Target("channel", 0, "layer1")
    result = maximize(model, target, Settings(steps=6, seed=1))
    assert result.image.shape == (224, 224, 3)
    assert result.value > result.start_value
    again = maximize(model, target, Settings(steps=6, seed=1))
    assert np.array_equal(result.image, again.image)  # the seed makes it repeatable


def test_deep_dream_amplifies_the_layer(digits):
    image = center_digit(draw_digit(3))
    dream = deep_dream(digits, image, "conv2", steps=10, strength=0.05)
    assert dream.shape == (28, 28) and dream.dtype == np.uint8
    taps = Taps(digits.module, ["conv2"])
    with torch.no_grad():
        # (to_tensor: both are network images already; preprocess would re-centre the
        # dream's amplified background as if it were a new drawing)
        before = taps.run(digits.preprocess.to_tensor(image))["conv2"].pow(2).mean()
        after = taps.run(digits.preprocess.to_tensor(dream))["conv2"].pow(2).mean()
    assert after > 1.5 * before
    # a linear layer cannot run on smaller octaves: they are skipped, not an error
    assert deep_dream(digits, image, "fc1", steps=2, octaves=3).shape == (28, 28)


def test_deep_dream_cancel(digits):
    calls = []
    with pytest.raises(Cancelled):
        deep_dream(digits, draw_digit(1), "conv1", steps=10, should_stop=lambda: len(calls) > 3,
                   on_progress=calls.append)  # fmt: skip
    assert len(calls) == 4


def test_deep_dream_uses_the_smaller_octaves(digits):
    sizes = []
    conv1 = digits.module.conv1
    handle = conv1.register_forward_pre_hook(lambda _m, inp: sizes.append(inp[0].shape[-1]))
    try:
        deep_dream(digits, draw_digit(5), "conv2", steps=1, octaves=3, octave_scale=1.4)
    finally:
        handle.remove()
    assert {20, 28} <= set(sizes)  # 28 / 1.4 = 20: a conv layer runs at any size
