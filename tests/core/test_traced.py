"""The traced network gives the eager model's numbers, or is refused and the engine
stays eager; the engine's results are the same either way."""

from __future__ import annotations

import copy
import os
import textwrap
import time

import numpy as np
import pytest
import torch
from torch import nn

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.engine.engine import Engine, FrameSettings
from cnn_viewer.core.engine.traced import TraceRefused, trace_network
from cnn_viewer.core.explain.saliency import reference_gradcam
from cnn_viewer.core.hooks.recorder import ActivationRecorder
from cnn_viewer.core.sources.synthetic import synthetic_images
from cnn_viewer.models import load_model
from cnn_viewer.models.data.drawing import center_digit
from cnn_viewer.models.zoo.loaded import freeze as frozen


def last_linear(module: nn.Module) -> nn.Linear:
    return [m for m in module.modules() if isinstance(m, nn.Linear)][-1]


def eager_outputs(module, x, layers):
    rec = ActivationRecorder(module, layers)
    with rec, torch.no_grad():
        logits = module(x)
    return logits, rec.outputs


@pytest.mark.parametrize("fixture", ["digits_model", "resnet18_model", "mobilenet_model"])
def test_traced_outputs_and_gradcam_equal_the_eager_model(fixture, request, hooks_left):
    model = request.getfixturevalue(fixture)
    image = synthetic_images(1)[0]
    x = model.preprocess(image)
    last = last_linear(model.module)
    net = trace_network(model.module, x, model.display_layers, model.cam_layer, last)
    assert hooks_left(model.module) == []
    assert net.last_weight is last.weight  # Grad-CAM's gradient starts at its input
    # A different input than the one traced: the graph must not have frozen any values.
    x2 = model.preprocess(synthetic_images(3)[2])
    logits, reference = eager_outputs(model.module, x2, model.display_layers)
    got = net.run(x2)
    torch.testing.assert_close(got.logits, logits, rtol=1e-4, atol=1e-5)
    assert set(model.display_layers) <= set(got.outputs)
    for name in model.display_layers:
        torch.testing.assert_close(got.outputs[name], reference[name], rtol=1e-4, atol=1e-5)
    target = int(logits.argmax())
    cam = net.cam(x2, got.outputs[model.cam_layer], target)
    ref = reference_gradcam(model.module, x2, model.cam_layer, target)
    scale = float(ref.abs().max())
    torch.testing.assert_close(cam, ref, rtol=1e-4, atol=1e-5 * max(scale, 1e-6))


def test_traced_gradcam_on_a_drawn_digit(digits_model, digit_drawer):
    """A real, non-zero heatmap for the winner and for another class."""
    x = digits_model.preprocess(center_digit(digit_drawer("7", (120, 100), (20, 15, 80))))
    module = digits_model.module
    net = trace_network(module, x, digits_model.display_layers, "relu3", last_linear(module))
    act = net.run(x).outputs["relu3"]
    for target in (7, 1):
        ref = reference_gradcam(digits_model.module, x, "relu3", target)
        assert float(ref.max()) > 0
        torch.testing.assert_close(net.cam(x, act, target), ref, rtol=0, atol=1e-5)


class Branchy(nn.Module):
    """Takes a different path depending on the input's values."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.conv(x)
        if y.mean() > 0:
            y = -y
        return self.fc(y.mean(dim=(2, 3)))


class Bypass(nn.Module):
    """The logits use conv1's output directly too: no head without the input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        a = self.conv1(x)
        return self.fc((self.conv2(a) + a).mean(dim=(2, 3)))


class Scaled(nn.Module):
    """Something happens after the last Linear: its weight row is not the gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return torch.tanh(self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3))))


def test_a_head_that_goes_on_after_its_last_linear_is_differentiated_whole():
    torch.manual_seed(0)
    model, x = frozen(Scaled()), torch.rand(1, 1, 8, 8)
    net = trace_network(model, x, ["conv"], "conv", model.fc)
    assert net.last_weight is None
    out = net.run(x)
    peaks = []
    for target in range(3):
        ref = reference_gradcam(model, x, "conv", target)
        torch.testing.assert_close(net.cam(x, out.outputs["conv"], target), ref)
        peaks.append(float(ref.max()))
    assert max(peaks) > 0, "all reference maps are zero: the comparison would say nothing"


def test_value_dependent_branches_are_refused():
    with pytest.raises(TraceRefused, match="branches on values"):
        trace_network(frozen(Branchy()), torch.rand(1, 1, 8, 8), ["conv"])


def test_a_path_around_the_gradcam_layer_is_refused_but_works_without_gradcam():
    model, x = frozen(Bypass()), torch.rand(1, 1, 8, 8)
    with pytest.raises(TraceRefused, match="a path goes around that layer"):
        trace_network(model, x, ["conv1", "conv2"], "conv2")
    net = trace_network(model, x, ["conv1", "conv2"])
    torch.testing.assert_close(net.run(x).logits, model(x))


def test_in_place_ops_after_a_layer_do_not_change_its_traced_output(hooks_left):
    model = frozen(
        nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(48, 2))
    )
    x = torch.randn(1, 1, 6, 6)
    net = trace_network(model, x, ["0", "1"])
    out = net.run(x).outputs
    assert float(out["0"].min()) < 0, "the conv output was overwritten by the in-place ReLU"
    torch.testing.assert_close(out["1"], out["0"].clamp(min=0))
    assert hooks_left(model) == []


def _digit_frame(drawer) -> Frame:
    return Frame(0, time.perf_counter(), drawer("7", (280, 280), (60, 40, 200)), "pad")


def test_engine_traced_and_eager_give_the_same_result(digits_model, digit_drawer):
    frame = _digit_frame(digit_drawer)
    traced = Engine(digits_model, drawing=True, trace="auto")
    a = traced.process(frame)
    eager = Engine(digits_model, drawing=True, trace="off")  # made after a trace exists
    b = eager.process(frame)
    assert traced.traced is not None and traced.trace_note == ""
    assert eager.traced is None and eager.trace_note == "tracing is off"
    assert [t[0] for t in a.top] == [t[0] for t in b.top] and a.top[0][0] == 7
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)
    np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-5)
    assert [v.name for v in a.layers] == [v.name for v in b.layers]
    for va, vb in zip(a.layers, b.layers, strict=True):
        assert np.abs(va.mosaic.astype(int) - vb.mosaic).max() <= 1
    # The Answer tab's numbers come from the traced pass too.
    np.testing.assert_allclose(a.probe.head_input, b.probe.head_input, atol=1e-5)
    np.testing.assert_array_equal(a.probe.network_input, b.probe.network_input)
    assert {"preprocess", "forward", "saliency", "mosaics"} <= set(a.timings_ms)


def test_engine_inspecting_a_layer_runs_eager_then_traced_again(digits_model, digit_drawer):
    frame = _digit_frame(digit_drawer)
    engine = Engine(digits_model, drawing=True)
    engine.process(frame)
    assert engine.traced is not None
    probe = engine.process(frame, FrameSettings(inspect_layer="conv2")).probe
    assert probe.layer == "conv2" and probe.output is not None and probe.conv_input is not None
    probe = engine.process(frame, FrameSettings()).probe
    assert probe.layer is None and probe.head_input is not None


def test_a_rebuilt_engine_reuses_the_trace(digits_model):
    first = Engine(digits_model, drawing=True)
    first.warm_up()
    again = Engine(digits_model, drawing=True, colormap="viridis", memory=first.memory)
    assert again.traced is first.traced  # no second trace for the same layers
    # The memory is the engine's, not the model's: a fresh engine traces anew.
    assert Engine(digits_model, drawing=True).traced is None
    with pytest.raises(ValueError, match="another network"):
        Engine(copy.deepcopy(digits_model), memory=first.memory)


def test_engine_on_an_untraceable_model_stays_eager_and_says_why(tmp_path):
    net = tmp_path / "branchy.py"
    net.write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3, padding=1)
                    self.fc = nn.Linear(8, 4)

                def forward(self, x):
                    y = torch.relu(self.conv(x))
                    if y.sum() > 1e9:
                        y = y * 0
                    return self.fc(y.mean(dim=(2, 3)))
            """
        )
    )
    model = load_model(model_file=f"{net}:Net", input_size=32)
    engine = Engine(model)
    result = engine.process(Frame(0, time.perf_counter(), synthetic_images(1)[0], "x"))
    assert result.error is None and len(result.top) == 4
    assert engine.traced is None
    assert "eager" in engine.trace_note and "branches on values" in engine.trace_note


def test_inspecting_a_layer_makes_a_short_eager_pass_serial(mobilenet_model, monkeypatch):
    """Traced, a 10 ms pass pipelines on 2 CPUs (it leaves the GIL to the finishing
    thread); while the inspector runs the eager model, it would take turns at the GIL."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    engine = Engine(mobilenet_model)
    engine.process(Frame(0, time.perf_counter(), synthetic_images(1)[0], "x"))
    engine.memory.forward_ms = 10.0
    engine._set_mode()
    plain, inspecting = FrameSettings(), FrameSettings(inspect_layer="features.3")
    assert engine.traced is not None and engine.pipelined and engine.pipelined_for(plain)
    assert engine.pipelined and not engine.pipelined_for(inspecting)
    assert engine.runs_traced(plain) and not engine.runs_traced(inspecting)
