"""Engine.process: one frame in, one finished Result out, with the real digit CNN."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.display.mosaic import build_mosaic
from cnn_viewer.core.engine.engine import PIPELINE_MIN_FORWARD_MS, Engine
from cnn_viewer.core.hooks.recorder import LayerNotFound
from cnn_viewer.models.data.drawing import center_digit


def frame(image: np.ndarray, fid: int = 1) -> Frame:
    return Frame(fid, 12.5, image, "test")


def test_result_for_a_drawn_digit(digits_model, digit_drawer, hooks_left):
    engine = Engine(digits_model, top_k=3, drawing=True)
    image = digit_drawer("7", (300, 200), (50, 60, 180), dark_on_light=True)
    result = engine.process(frame(np.dstack([image] * 3), fid=7))
    assert hooks_left(digits_model.module) == []
    assert result.frame_id == 7 and result.frame_time == 12.5 and result.source == "test"
    assert result.error is None and not result.empty
    np.testing.assert_array_equal(result.network_image, center_digit(image))
    # Top-k and probabilities agree with a plain forward pass of the same input.
    x = digits_model.preprocess.to_tensor(result.network_image)
    with torch.inference_mode():
        logits = digits_model.module(x)[0]
    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.probs, torch.softmax(logits, 0).numpy(), rtol=0, atol=1e-6)
    assert result.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert len(result.top) == 3
    assert [t[0] for t in result.top] == list(np.argsort(-result.probs)[:3])
    assert result.top[0][:2] == (7, "7")
    assert result.top[0][2] == pytest.approx(float(result.probs[7]))
    # One mosaic per display layer, equal to a mosaic of the layer's own output.
    assert [lv.name for lv in result.layers] == digits_model.display_layers
    outputs = {}
    h = x
    with torch.inference_mode():
        for name in digits_model.module._block_names:
            h = getattr(digits_model.module, name)(h.clone())
            outputs[name] = h.clone()
    for lv in result.layers:
        if lv.name in outputs:
            expected, grid, tile = build_mosaic(outputs[lv.name][0])
            np.testing.assert_array_equal(lv.mosaic, expected, err_msg=lv.name)
            assert (lv.grid, lv.tile) == (grid, tile)
        assert lv.mosaic.dtype == np.uint8
    shapes = {lv.name: lv.shape for lv in result.layers}
    assert shapes["conv1"] == (8, 28, 28) and shapes["pool3"] == (32, 3, 3)
    assert shapes["fc1"] == (64,) and shapes["fc2"] == (10,)
    types = {lv.name: lv.type for lv in result.layers}
    assert types["conv1"] == "Conv2d" and types["fc2"] == "Linear"
    assert set(result.timings_ms) >= {"preprocess", "forward", "saliency", "mosaics", "total"}
    assert all(v >= 0 for v in result.timings_ms.values())


def test_empty_drawing_gives_an_empty_result(digits_model):
    engine = Engine(digits_model, drawing=True)
    for blank in (np.zeros((50, 80), np.uint8), np.full((50, 80, 3), 255, np.uint8)):
        result = engine.process(frame(blank))
        assert result.empty and result.error is None
        assert result.top == [] and result.layers == [] and result.saliency is None
        assert result.network_image is None


def test_bad_image_gives_an_error_result(digits_model):
    engine = Engine(digits_model)
    result = engine.process(frame(np.zeros((1, 1, 3), np.uint8)))
    assert result.error is not None and "1x1" in result.error
    assert result.top == [] and not result.empty


def test_saliency_none_and_layer_choice(digits_model, digit_drawer):
    engine = Engine(digits_model, layers=["conv2", "fc1"], saliency="none", drawing=True)
    result = engine.process(frame(digit_drawer("1", (64, 64), (10, 8, 48))))
    assert result.saliency is None
    assert [lv.name for lv in result.layers] == ["conv2", "fc1"]
    assert result.top[0][1] == "1"
    with pytest.raises(ValueError, match="'guided'"):
        Engine(digits_model, saliency="guided")
    with pytest.raises(LayerNotFound, match="'conv7'"):
        Engine(digits_model, layers=["conv7"])


def test_channel_normalisation_reaches_the_mosaics(digits_model, digit_drawer):
    image = digit_drawer("0", (64, 64), (10, 8, 48))
    per_layer = Engine(digits_model, layers=["conv1"], norm="layer", drawing=True)
    per_channel = Engine(digits_model, layers=["conv1"], norm="channel", drawing=True)
    a = per_layer.process(frame(image)).layers[0].mosaic
    b = per_channel.process(frame(image)).layers[0].mosaic
    assert a.shape == b.shape and not np.array_equal(a, b)
    tiles = b.reshape(b.shape[0], -1)  # conv1: one row of 8 tiles, each spans 0..254
    assert tiles[tiles != 255].max() == 254


def test_warm_up_on_torchvision_model_leaves_no_hooks(mobilenet_model, hooks_left):
    engine = Engine(mobilenet_model)
    engine.warm_up(runs=1)
    assert hooks_left(mobilenet_model.module) == []
    result = engine.process(frame(np.full((120, 90, 3), 128, np.uint8)))
    assert result.network_image.shape == (224, 224, 3)
    assert len(result.probs) == 1000 and len(result.top) == 5
    assert {lv.name for lv in result.layers} == set(mobilenet_model.display_layers)
    assert result.saliency is not None and result.saliency.shape == (224, 224)


def test_a_rebuilt_engine_keeps_the_measured_worker_mode(resnet18_model):
    # Eager both times: a traced engine's mode also depends on whether its own layer set
    # has been traced yet, which a rebuilt engine for other layers has not.
    first = Engine(resnet18_model, trace="off")
    first.warm_up(runs=1)
    forward_ms = first.memory.forward_ms
    assert forward_ms is not None and forward_ms > 0
    # A new engine for the same model (saliency toggled, layers picked) needs no warm-up
    # to know whether to finish results on a second thread.
    again = Engine(
        resnet18_model, saliency="none", layers=["layer1"], trace="off", memory=first.memory
    )
    assert again.pipelined == first.pipelined
    # ... and the mode is the measured one, not the default for an unmeasured model.
    assert again.pipelined == (forward_ms >= PIPELINE_MIN_FORWARD_MS or (os.cpu_count() or 1) >= 4)
