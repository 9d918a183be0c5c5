"""A capture backend with switchable faults, for the camera fault tests (core and window)."""

from __future__ import annotations

import threading
import time

import numpy as np


class FakeCamera:
    """A capture backend with switchable faults. ``mode``: "ok" (a new noisy frame per
    read), "fail" (read returns False), "hang" (read blocks until the mode changes),
    "same" (the same frame forever), "gone" (reads fail and reopening fails too)."""

    def __init__(self, shape=(48, 64, 3), period: float = 0.01) -> None:
        self.shape, self.period = shape, period
        self.mode = "ok"
        self.changed = threading.Condition()
        self.opens = 0
        self.rng = np.random.default_rng(0)
        self.frozen = self.rng.integers(0, 256, shape, dtype=np.uint8)

    def set_mode(self, mode: str) -> None:
        with self.changed:
            self.mode = mode
            self.changed.notify_all()

    # the cv2.VideoCapture API the capture thread uses
    def opener(self, target):
        self.opens += 1
        return self

    def isOpened(self) -> bool:
        return self.mode != "gone"

    def read(self):
        time.sleep(self.period)
        with self.changed:
            while self.mode == "hang":
                self.changed.wait()
            mode = self.mode
        if mode in ("fail", "gone"):
            return False, None
        if mode == "same":
            return True, self.frozen  # the very same buffer, as a stuck driver gives it
        return True, self.rng.integers(0, 256, self.shape, dtype=np.uint8)

    def get(self, prop):
        return 0.0

    def set(self, prop, value):
        return True

    def release(self) -> None:
        pass
