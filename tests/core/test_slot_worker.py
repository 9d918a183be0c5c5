"""LatestSlot (newest item only, nothing queues) and the InferenceWorker thread around it."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.pipeline import Engine, InferenceWorker
from cnn_viewer.models.data.images import Preprocess


def test_put_replaces_and_counts_dropped():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.take_nowait() is None and slot.peek() is None
    assert slot.version == 0 and slot.dropped == 0
    slot.put(1)
    assert slot.peek() == 1 and slot.peek() == 1  # peek leaves it there
    slot.put(2)
    slot.put(3)
    assert slot.dropped == 2 and slot.version == 3
    assert slot.take(timeout=0) == 3  # only the newest is kept
    assert slot.take_nowait() is None and slot.peek() is None
    slot.put(4)  # the slot was empty: nothing dropped
    assert slot.dropped == 2
    assert slot.take_nowait() == 4


def test_take_times_out_with_none():
    slot: LatestSlot[str] = LatestSlot()
    assert slot.take(timeout=0.05) is None
    slot.put("a")
    assert slot.take(timeout=0.05) == "a"
    assert slot.take(timeout=0.05) is None  # taken items are gone


def test_take_waits_for_a_put_from_another_thread():
    slot: LatestSlot[str] = LatestSlot()
    got = []
    reader = threading.Thread(target=lambda: got.append(slot.take(timeout=10)))
    reader.start()
    time.sleep(0.05)
    assert got == [] and reader.is_alive()  # still waiting
    slot.put("frame")
    reader.join(timeout=5)
    assert not reader.is_alive() and got == ["frame"]


def test_wake_releases_a_take_without_timeout():
    slot: LatestSlot[int] = LatestSlot()
    got = []
    reader = threading.Thread(target=lambda: got.append(slot.take()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 5
    while reader.is_alive() and time.monotonic() < deadline:
        slot.wake()  # repeated: the reader may not have started waiting yet
        reader.join(timeout=0.02)
    assert not reader.is_alive(), "wake() did not release take()"
    assert got == [None]


def test_every_item_is_taken_or_counted_dropped():
    slot: LatestSlot[int] = LatestSlot()
    n = 2000
    taken: list[int] = []
    done = threading.Event()

    def consume():
        while not done.is_set() or slot.peek() is not None:
            item = slot.take(timeout=0.01)
            if item is not None:
                taken.append(item)

    reader = threading.Thread(target=consume)
    reader.start()
    for i in range(n):
        slot.put(i)
    done.set()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert taken == sorted(set(taken))  # newest-first order is never broken
    assert taken[-1] == n - 1  # the last frame is never lost
    assert len(taken) + slot.dropped == n
    assert slot.version == n


def wait_for(results: LatestSlot[Result], frame_id: int, timeout: float = 20) -> Result:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = results.take(timeout=0.1)
        if r is not None and r.frame_id == frame_id:
            return r
    raise AssertionError(f"no result for frame {frame_id}")


def test_worker_turns_frames_into_results_and_stops(
    digits_model, digit_drawer, torch_threads, hooks_left
):
    frames: LatestSlot[Frame] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    engine = Engine(digits_model, drawing=True)
    woken = threading.Event()
    worker = InferenceWorker(engine, frames, results, threads=1, on_result=woken.set)
    worker.start()
    try:
        one = digit_drawer("1", (90, 90), (10, 10, 70))
        frames.put(Frame(1, time.perf_counter(), one, "test"))
        r = wait_for(results, 1)
        assert woken.is_set()
        assert r.error is None and r.top[0][1] == "1"
        assert [lv.name for lv in r.layers] == digits_model.display_layers

        # Many frames at once: stale ones are dropped, the newest one always arrives.
        seven = digit_drawer("7", (90, 90), (10, 10, 70))
        for i in range(2, 30):
            frames.put(Frame(i, time.perf_counter(), seven, "test"))
        r = wait_for(results, 29)
        assert r.top[0][1] == "7"
        assert worker.processed + frames.dropped == 29  # each frame was processed or dropped

        # A frame that cannot be processed gives a Result with an error; the loop goes on.
        frames.put(Frame(30, time.perf_counter(), np.zeros((1, 1), np.uint8), "test"))
        r = wait_for(results, 30)
        assert r.error is not None and "1x1" in r.error and r.top == []

        # A different engine, swapped in from this thread, is used for the next frame.
        broken = dataclasses.replace(
            digits_model, preprocess=Preprocess((28, 28), 3, (0.5,) * 3, (0.5,) * 3)
        )
        worker.set_engine(Engine(broken, drawing=False))
        frames.put(Frame(31, time.perf_counter(), one, "test"))
        r = wait_for(results, 31)
        assert r.error is not None and r.error.startswith("RuntimeError")  # 3 channels into 1
        worker.set_engine(engine)
        frames.put(Frame(32, time.perf_counter(), one, "test"))
        assert wait_for(results, 32).top[0][1] == "1"
    finally:
        worker.stop()
        worker.join(timeout=1)
    assert not worker.is_alive(), "the inference thread did not stop within 1 s"
    assert hooks_left(digits_model.module) == []


def test_idle_worker_stops_promptly(digits_model, torch_threads):
    worker = InferenceWorker(Engine(digits_model), LatestSlot(), LatestSlot(), threads=1)
    worker.start()
    time.sleep(0.05)
    worker.stop()
    worker.join(timeout=1)
    assert not worker.is_alive()
    assert worker.processed == 0


def test_prefetching_worker_processes_every_frame_and_drops_an_old_engines(
    digits_model, digit_drawer, torch_threads
):
    """Pipelined with prefetch (the finishing thread prepares the waiting frame): frames
    fed one by one each get a result, a burst ends with the newest frame, and a frame
    prepared by an engine that was swapped out is not run."""
    engine = Engine(digits_model, drawing=True)
    engine.warm_up()
    engine.pipelined = engine.prefetch = True
    frames: LatestSlot[Frame] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    worker = InferenceWorker(engine, frames, results, threads=1)
    worker.start()
    try:
        seven = digit_drawer("7", (90, 90), (10, 10, 70))
        for i in range(1, 6):
            frames.put(Frame(i, time.perf_counter(), seven, "test"))
            assert wait_for(results, i).top[0][1] == "7"
        for i in range(6, 40):
            frames.put(Frame(i, time.perf_counter(), seven, "test"))
        assert wait_for(results, 39).top[0][1] == "7"
        seen = worker.processed
        stale = engine.prepare(Frame(40, time.perf_counter(), seven, "test"))
        other = Engine(digits_model, drawing=True)
        worker.set_engine(other)
        worker.prepared.put(stale)
        frames.put(Frame(41, time.perf_counter(), seven, "test"))
        assert wait_for(results, 41).top[0][1] == "7"
        assert worker.processed == seen + 1  # frame 40 (the old engine's) was never run
    finally:
        worker.stop()
        worker.join(timeout=1)
    assert not worker.is_alive()
