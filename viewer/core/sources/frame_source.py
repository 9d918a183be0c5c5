"""What every frame source offers (camera, video, images), and its status. Qt-free."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot

STATES = ("starting", "running", "paused", "stalled", "unavailable", "ended")
RATE_WINDOW_S = 2.0  # measured fps counts frames delivered in the last 2 s

_frame_ids = itertools.count(1)


def new_frame_id() -> int:
    """A process-wide increasing frame id (any thread)."""
    return next(_frame_ids)


@dataclass(frozen=True)
class SourceStatus:
    """What the status bar shows. ``state`` is one of STATES; ``fps``: frames delivered
    per second over the last 2 s; ``frames``: delivered since start; ``dropped``: frames the
    slot replaced unread since start (its counter covers every writer of that slot)."""

    state: str
    message: str
    fps: float
    frames: int
    dropped: int


class FrameSource:
    """What every source offers: ``name``, ``start``, ``stop``, ``status``, ``resend``."""

    kind = "source"

    def __init__(self, slot: LatestSlot[Frame]) -> None:
        self.slot = slot
        self._lock = threading.Condition()
        self._frames = 0
        self._times: deque[float] = deque(maxlen=512)
        self._dropped_base = slot.dropped
        self._last_image: np.ndarray | None = None

    @property
    def name(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: float = 1.0) -> bool:
        raise NotImplementedError

    def status(self) -> SourceStatus:
        raise NotImplementedError

    def resend(self) -> bool:
        """Put the last delivered image into the slot again (new id and timestamp), e.g.
        after the model changed. False when nothing was delivered yet."""
        with self._lock:
            image = self._last_image
        if image is None:
            return False
        self._deliver(image, time.perf_counter())
        return True

    def _deliver(self, image: np.ndarray, timestamp: float) -> None:
        """Put one RGB uint8 image into the slot and count it (any thread)."""
        self.slot.put(Frame(new_frame_id(), timestamp, image, self.name))
        with self._lock:
            self._frames += 1
            self._times.append(timestamp)
            self._last_image = image

    def _counters(self, now: float) -> tuple[float, int, int]:
        """(fps, frames, dropped); call with ``self._lock`` held."""
        recent = [t for t in self._times if now - t <= RATE_WINDOW_S]
        span = now - recent[0] if recent else 0.0  # to now: a stream that stops decays to 0
        fps = (len(recent) - 1) / span if len(recent) >= 2 and span > 0 else 0.0
        return fps, self._frames, max(0, self.slot.dropped - self._dropped_base)
