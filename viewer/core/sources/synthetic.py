"""A synthetic frame source for benchmarks: a new frame the moment the last one is taken."""

from __future__ import annotations

import threading
import time

import numpy as np

from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.frame_source import FrameSource, SourceStatus


def synthetic_images(count: int = 8, size: tuple[int, int] = (480, 640)) -> list[np.ndarray]:
    """``count`` different RGB uint8 camera-sized images (smooth gradients plus noise)."""
    rng = np.random.default_rng(0)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    images = []
    for i in range(count):
        base = np.stack([(xx + 40 * i) % 256, (yy + 25 * i) % 256, (xx + yy) / 4 % 256], axis=2)
        noise = rng.normal(0, 12, (h, w, 3))
        images.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return images


class SyntheticSource(FrameSource):
    """Puts a frame whenever the slot is empty, so the engine never waits for input and
    no frame is ever dropped: the engine's own speed is what gets measured."""

    kind = "synthetic"

    def __init__(self, slot: LatestSlot, size: tuple[int, int] = (480, 640)) -> None:
        super().__init__(slot)
        self._images = synthetic_images(size=size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return "synthetic"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="synthetic", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self._deliver(self._images[i % len(self._images)], time.perf_counter())
            i += 1
            while not self._stop.is_set() and not self.slot.wait_empty(0.1):
                pass

    def stop(self, timeout: float = 1.0) -> bool:
        self._stop.set()
        self.slot.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def status(self) -> SourceStatus:
        now = time.perf_counter()
        with self._lock:
            fps, frames, dropped = self._counters(now)
        return SourceStatus("running", "", fps, frames, dropped)
