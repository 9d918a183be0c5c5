"""The inference worker is told things, never written into: a settings change during a
forward pass applies from the next frame, and a replaced engine's work is dropped."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.engine import Engine, FrameSettings
from cnn_viewer.core.engine.pipeline import InferenceWorker
from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze


class GatedNet(nn.Module):
    """A small real CNN whose forward pass waits at a gate while ``hold`` is set, so a
    test can act while a frame is inside the network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.fc = nn.Linear(6, 3)
        self.hold = threading.Event()
        self.inside = threading.Event()
        self.gate = threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        if self.hold.is_set():
            self.inside.set()
            assert self.gate.wait(10), "the test never opened the gate"
        y = torch.relu(self.conv2(y))
        return self.fc(y.mean(dim=(2, 3)))


def gated_model() -> LoadedModel:
    net = freeze(GatedNet())
    return LoadedModel(
        name="gated",
        module=net,
        labels=["a", "b", "c"],
        preprocess=Preprocess((32, 32), 3, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
        display_layers=["conv1", "conv2"],
        cam_layer="conv2",
    )


def frame(i: int) -> Frame:
    rng = np.random.default_rng(i)
    return Frame(i, time.perf_counter(), rng.integers(0, 256, (40, 50, 3), np.uint8), "test")


def take(results: LatestSlot[Result], timeout: float = 10.0) -> Result:
    result = results.take(timeout)
    assert result is not None, "no result arrived"
    return result


@pytest.fixture
def running():
    started: list[InferenceWorker] = []

    def start(engine: Engine) -> tuple[InferenceWorker, LatestSlot[Frame], LatestSlot[Result]]:
        frames: LatestSlot[Frame] = LatestSlot()
        results: LatestSlot[Result] = LatestSlot()
        worker = InferenceWorker(engine, frames, results, threads=1)
        worker.start()
        started.append(worker)
        return worker, frames, results

    yield start
    for worker in started:
        worker.stop()
        worker.join(5)


def test_a_settings_change_during_a_forward_pass_applies_from_the_next_frame(running):
    model = gated_model()
    net = model.module
    engine = Engine(model, trace="off")
    worker, frames, results = running(engine)
    worker.set_settings(FrameSettings(visible=frozenset({"conv1"})))
    net.hold.set()
    frames.put(frame(1))
    assert net.inside.wait(10)
    # The frame is inside the network: the window scrolls to the other row.
    worker.set_settings(FrameSettings(visible=frozenset({"conv2"})))
    net.hold.clear()
    net.gate.set()
    first = take(results)
    assert first.frame_id == 1 and [lv.name for lv in first.layers] == ["conv1"]
    frames.put(frame(2))
    second = take(results)
    assert second.frame_id == 2 and [lv.name for lv in second.layers] == ["conv2"]


def test_an_inspected_layer_change_during_a_pass_applies_next_frame(running):
    model = gated_model()
    net = model.module
    worker, frames, results = running(Engine(model, trace="off"))
    net.hold.set()
    frames.put(frame(1))
    assert net.inside.wait(10)
    worker.set_settings(FrameSettings(inspect_layer="conv1"))
    net.hold.clear()
    net.gate.set()
    assert take(results).probe.layer is None
    frames.put(frame(2))
    probe = take(results).probe
    assert probe.layer == "conv1" and probe.output is not None and probe.output.shape[0] == 4


def test_a_result_from_a_replaced_engine_is_never_published(running):
    model = gated_model()
    net = model.module
    old = Engine(model, trace="off")
    worker, frames, results = running(old)
    net.hold.set()
    frames.put(frame(1))
    assert net.inside.wait(10)
    # The user picks other layers while frame 1 is inside the old engine's network.
    new = Engine(model, layers=["conv2"], trace="off", memory=old.memory)
    worker.set_engine(new)
    net.hold.clear()
    net.gate.set()
    deadline = time.monotonic() + 10
    while worker.processed < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.processed == 1  # frame 1 went through the old engine ...
    assert results.take(0.3) is None  # ... and was dropped
    frames.put(frame(2))
    result = take(results)
    assert (result.frame_id, result.engine_id) == (2, new.id) and new.id != old.id
    assert [lv.name for lv in result.layers] == ["conv2"]


def test_each_engine_names_itself_in_its_results():
    model = gated_model()
    a, b = Engine(model, trace="off"), Engine(model, trace="off")
    assert a.id != b.id
    assert a.process(frame(1)).engine_id == a.id
    assert b.process(frame(1)).engine_id == b.id
    bad = Frame(3, time.perf_counter(), np.zeros((0, 5, 3), np.uint8), "test")
    failed = b.process(bad)
    assert failed.error and failed.engine_id == b.id  # errors are named too
