"""The unit inspector's numbers: recorded maps, conv arithmetic, receptive fields, the
last layer's contributions, statistics and dead channels."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.engine.engine import Engine, FrameSettings
from cnn_viewer.core.explain.answer import logit_parts, softmax_story
from cnn_viewer.core.explain.inspect import (
    FiringTracker,
    arithmetic,
    diverging,
    filter_mosaic,
    network_map,
    stats,
)
from cnn_viewer.core.explain.network_map import NetworkMap
from cnn_viewer.models.private_copy import private_copy


@pytest.fixture(scope="module")
def seven(digit_drawer):
    return digit_drawer("7", (120, 100), (20, 15, 80))


def run(engine: Engine, image: np.ndarray, layer: str | None):
    settings = FrameSettings(inspect_layer=layer)
    return engine.process(Frame(1, time.perf_counter(), image, "test"), settings)


@pytest.mark.parametrize("layer", ["conv1", "relu1", "pool1", "relu2", "pool2", "conv3", "pool3"])
def test_patch_times_kernel_plus_bias_through_the_activation_is_the_map_value(
    digits_model, seven, layer, hooks_left
):
    engine = Engine(digits_model, drawing=True)
    result = run(engine, seven, layer)
    probe = result.probe
    assert probe.layer == layer and probe.output.ndim == 3
    chain = network_map(digits_model).conv_chain(layer)
    assert chain is not None and chain.conv_name == f"conv{layer[-1]}"
    checked = 0
    for channel in range(0, probe.output.shape[0], 3):
        out = probe.output[channel]
        peak = np.unravel_index(int(out.argmax()), out.shape)
        for y, x in {peak, (0, 0), (out.shape[0] // 2, out.shape[1] - 1)}:
            a = arithmetic(chain, probe.conv_input, channel, int(y), int(x))
            # The arithmetic itself, redone here from its parts.
            pre = float(np.sum(a.patch * a.kernel, dtype=np.float64)) + a.bias
            assert a.pre_activation == pytest.approx(pre, abs=1e-6)
            after = pre
            for name, _what, value in a.steps:
                if name.startswith("relu"):
                    after = max(after, 0.0)  # the activation function
                assert value == pytest.approx(after, abs=1e-4)  # a max pool keeps its maximum
            assert a.value == pytest.approx(float(out[y, x]), abs=1e-4), (channel, y, x)
            checked += 1
    assert checked >= 6
    assert hooks_left(digits_model.module) == []


def test_probe_is_off_without_a_layer_and_the_head_input_is_kept(digits_model, seven):
    engine = Engine(digits_model, drawing=True)
    probe = run(engine, seven, None).probe
    assert probe.layer is None and probe.output is None
    assert probe.head_input.shape == (64,)
    assert probe.network_input.shape == (1, 28, 28)


def _grad_region(module: nn.Module, x: torch.Tensor, layer: str, y: int, x_: int):
    """Input pixels with a non-zero gradient of the value at (y, x_) of the channel that is
    largest there (a ReLU that is off passes no gradient): (y0, x0, y1, x1)."""
    twin = private_copy(module)
    store = {}
    target = dict(twin.named_modules())[layer]

    def keep(_m, _i, out) -> None:
        store["out"] = out

    handle = target.register_forward_hook(keep)
    try:
        x = x.clone().requires_grad_(True)
        with torch.enable_grad():
            twin(x)
            c = int(store["out"][0, :, y, x_].argmax())
            (grad,) = torch.autograd.grad(store["out"][0, c, y, x_], x)
    finally:
        handle.remove()
    ys, xs = np.nonzero(grad[0].abs().amax(0).numpy())
    assert ys.size, "no gradient at all: the check would say nothing"
    return ys.min(), xs.min(), ys.max() + 1, xs.max() + 1


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2", "pool2", "relu3", "pool3"])
def test_receptive_box_holds_every_pixel_with_a_gradient_on_the_digit_cnn(digits_model, layer):
    nm = NetworkMap(digits_model.module, (1, 28, 28))
    torch.manual_seed(0)
    x = torch.randn(1, 1, 28, 28)
    h = nm.node_for(layer).out_shape[1]
    for y, x_ in ((0, 0), (h // 2, h // 2), (h - 1, 1)):
        gy0, gx0, gy1, gx1 = _grad_region(digits_model.module, x, layer, y, x_)
        by0, bx0, by1, bx1 = nm.receptive_box(layer, y, x_)
        assert by0 <= gy0 and bx0 <= gx0 and gy1 <= by1 and gx1 <= bx1, (y, x_)
        if layer == "conv1":  # one conv: the box is exactly the kernel's footprint
            assert (gy0, gx0, gy1, gx1) == (by0, bx0, by1, bx1)


def test_receptive_box_on_resnet18_main_path():
    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None).eval()
    nm = NetworkMap(module, (3, 96, 96))
    assert nm.receptive_size("layer4") == (435, 435)  # the published figure for resnet18
    x = torch.randn(1, 3, 96, 96)
    for layer, pos in (("layer1", (5, 7)), ("layer2.0.conv1", (3, 2))):
        gy0, gx0, gy1, gx1 = _grad_region(module, x, layer, *pos)
        by0, bx0, by1, bx1 = nm.receptive_box(layer, *pos)
        assert by0 <= gy0 and bx0 <= gx0 and gy1 <= by1 and gx1 <= bx1


def test_contributions_add_up_to_the_logit_and_name_their_units(digits_model, seven):
    engine = Engine(digits_model, drawing=True)
    result = run(engine, seven, None)
    head = network_map(digits_model).head()
    assert (head.name, head.source, head.pooled) == ("fc2", "fc1_act", None)
    target = result.top[0][0]
    parts = logit_parts(head, result.probe.head_input, target, k=5)
    assert parts.total == pytest.approx(float(result.logits[target]), abs=1e-4)
    assert len(parts.top) == 5 and parts.count == 64
    mags = [abs(c.product) for c in parts.top]
    assert mags == sorted(mags, reverse=True)
    first = parts.top[0]
    assert first.layer == "fc1_act" and first.channel == first.index and first.y is None
    assert first.product == pytest.approx(first.weight * first.activation)
    story = softmax_story(result.logits)
    np.testing.assert_allclose(story.probs, result.probs, atol=1e-6)
    assert story.exps.max() == pytest.approx(1.0) and story.total == pytest.approx(story.exps.sum())


def test_head_units_after_flatten_and_after_global_pooling():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    head = NetworkMap(net, (1, 6, 6)).head()
    assert (head.source, head.source_shape) == ("1", (3, 4, 4))
    assert head.unit(1 * 16 + 2 * 4 + 3) == (1, 2, 3)
    r18 = NetworkMap(torchvision.models.resnet18(weights=None).eval(), (3, 64, 64)).head()
    assert (r18.name, r18.source, r18.pooled) == ("fc", "layer4", "mean")
    assert r18.unit(17) == (17, None, None)


def test_stats_histogram_dead_channels_and_filter_colours():
    s = stats(np.array([[0.0, 2.0], [0.0, -1.0]], np.float32))
    assert (s.minimum, s.maximum, s.mean, s.zeros) == (-1.0, 2.0, 0.25, 0.5)
    tracker = FiringTracker(frames=3)
    for frame in range(4):
        out = np.zeros((4, 2, 2), np.float32)
        out[0, 0, 0] = 1.0  # always fires
        out[2, 1, 1] = 1.0 if frame == 0 else -1.0  # fired once, 4 frames ago
        tracker.add("relu1", out)
    assert tracker.seen == 3 and tracker.dead().tolist() == [1, 2, 3]
    tracker.add("relu2", np.ones((5, 1, 1), np.float32))  # a new layer starts afresh
    assert tracker.seen == 1 and tracker.dead().size == 0
    rgb = diverging(np.array([-2.0, 0.0, 2.0]))
    assert rgb[1].tolist() == [255, 255, 255]
    assert rgb[0, 2] > rgb[0, 0] and rgb[2, 0] > rgb[2, 2]  # blue below zero, red above
    mosaic = filter_mosaic(np.ones((10, 3, 3), np.float32))
    assert mosaic.shape == (2 * 4 - 1, 8 * 4 - 1, 3)
