"""Video files played at their own frame rate through the capture thread: pause,
resume, step one frame, loop. Qt-free."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

import cv2

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.capture import CaptureSource, release_quietly

DEFAULT_FPS = 30.0
FPS_RANGE = (1.0, 240.0)  # a video claiming a rate outside this plays at DEFAULT_FPS


def video_fps(value: float | None) -> float:
    """The rate to play at: CAP_PROP_FPS if sane (FPS_RANGE), else DEFAULT_FPS."""
    if value is None or not math.isfinite(value) or not FPS_RANGE[0] <= value <= FPS_RANGE[1]:
        return DEFAULT_FPS
    return float(value)


class VideoFileSource(CaptureSource):
    """A video file played at its own frame rate; pause, resume, step, loop.

    Opened here, in the caller's thread: a file that cannot be opened raises ValueError
    naming it. At the end it loops (``loop``, settable any time) or its state becomes
    "ended"; ``resume()`` after the end plays it again from the start.
    """

    kind = "video"
    live = False

    def __init__(
        self, path: str | Path, slot: LatestSlot[Frame], *, loop: bool = True, **kwargs: Any
    ) -> None:
        self.path = Path(path)
        super().__init__(str(path), slot, **kwargs)
        self.loop = loop
        self._reads_at_rewind = 0
        self._restart = False
        cap = self._open()
        if cap is None:
            raise ValueError(f"cannot open video {self.path}: OpenCV could not read it")
        self._cap = cap
        self._fps = video_fps(self._get(cap, cv2.CAP_PROP_FPS))
        self._interval = 1.0 / self._fps
        self._state, self._message = "starting", f"opening {self.name}"

    @property
    def name(self) -> str:
        return f"video {self.path.name}"

    @property
    def fps(self) -> float:
        """The rate the file plays at (its own, or DEFAULT_FPS when it has none)."""
        return self._fps

    @staticmethod
    def _get(cap: Any, prop: int) -> float | None:
        try:
            return float(cap.get(prop))
        except Exception:  # noqa: BLE001 - a backend without the property: unknown
            return None

    def _open_failed_message(self, reason: str) -> str:
        return f"cannot open video {self.path}{reason}"

    def _stall_message(self, quiet: float) -> str:
        return f"{self.name}: no frame decoded for {quiet:.1f} s"

    def resume(self) -> None:
        with self._lock:
            if self._state == "ended":
                self._restart = True
        super().resume()

    def _failed_read(self, cap: Any, fails: int) -> Any:
        """End of file (or a read error): loop, end, or give up if nothing can be read."""
        if self._reads == self._reads_at_rewind:  # not one frame since (re)start
            self._set("unavailable", f"no frames could be read from {self.path}")
            self._stop_event.wait()
            return cap
        if not self.loop:
            with self._lock:
                self._state, self._message = "ended", f"{self.name} ended"
                self._since = None
                while not (self._restart or self._stop_event.is_set()):
                    self._lock.wait()
                self._restart = False
                self._due = None
        if self._stop_event.is_set():
            return cap
        self._reads_at_rewind = self._reads
        with self._lock:
            self._since = time.perf_counter()
        with contextlib.suppress(Exception):
            if cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                return cap
        release_quietly(cap)
        return None  # rewinding failed: the loop reopens the file
