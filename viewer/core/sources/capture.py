"""The OpenCV capture thread (one per open camera or video) feeding a latest-frame slot,
the camera source, and camera probing. Qt-free (video files: cnn_viewer.core.sources.video).

Threads: the capture thread reads, converts BGR -> RGB and puts Frames into the slot;
every public method may be called from any thread (the GUI calls them).
Nothing queues: a frame the consumer has not taken is replaced by the next one.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.frame_source import FrameSource, SourceStatus

Opener = Callable[[Any], Any]  # int | str -> object with read/isOpened/get/set/release


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: int | None = None


@contextlib.contextmanager
def _quiet_opencv():
    """Silence OpenCV's per-attempt "can't open camera" warnings while any thread opens
    (the log level is process-wide: the first to enter saves it, the last to leave restores
    it)."""
    global _quiet_depth, _quiet_saved
    with _quiet_lock:
        if _quiet_depth == 0:
            with contextlib.suppress(Exception):
                _quiet_saved = cv2.utils.logging.getLogLevel()
                cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                with contextlib.suppress(Exception):
                    cv2.utils.logging.setLogLevel(_quiet_saved)
                _quiet_saved = None


def default_opener(target: int | str) -> Any:
    """cv2.VideoCapture(target) without the warning spam of failed attempts."""
    with _quiet_opencv():
        return cv2.VideoCapture(target)


def release_quietly(cap: Any) -> None:
    with contextlib.suppress(Exception):
        cap.release()


class CaptureSource(FrameSource):
    """A capture object read by its own daemon thread (base of camera and video sources).

    ``opener(target)`` returns an object with read(), isOpened(), get(prop), set(prop, v)
    and release(); default cv2.VideoCapture. The thread owns the capture and releases it
    itself when its (possibly hung) read returns, so ``stop`` never waits on the device.
    """

    live = True  # a camera: frames read while paused are discarded, not held
    stall_after = 1.0  # s without a frame (while running) before status() says "stalled"
    # s of identical frames from a live source before status() says it is frozen (a hung
    # driver repeating its last buffer); real sensors are never noise-free that long
    frozen_after = 1.0

    def __init__(
        self,
        target: int | str,
        slot: LatestSlot[Frame],
        *,
        opener: Opener | None = None,
        retry_interval: float = 1.0,
        reopen_after: int = 10,
        fail_wait: float = 0.05,
    ) -> None:
        super().__init__(slot)
        self._target = target
        self._opener = opener or default_opener
        self.retry_interval = retry_interval
        self.reopen_after = reopen_after  # consecutive failed reads before a reopen
        self.fail_wait = fail_wait
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: Any = None  # handed to the thread on start
        self._state = "starting"
        self._message = f"opening {self.name}"
        self._since: float | None = None  # last good frame (or open) time, for stall checks
        self._paused = False
        self._steps = 0
        self._interval: float | None = None  # pacing (video); None: deliver as read
        self._due: float | None = None
        self._reads = 0  # good reads (the thread's count)
        self._previous: np.ndarray | None = None  # last frame read (live sources)
        self._same_since: float | None = None  # first read of the current identical run

    # ----------------------------------------------------------------- control (any thread)
    def start(self) -> None:
        """Start the capture thread (once; a stopped source cannot be restarted)."""
        with self._lock:
            if self._stop_event.is_set():
                raise RuntimeError(f"{self.name} was stopped; open a new source")
            if self._thread is not None:
                return
            self._dropped_base = self.slot.dropped
            self._thread = threading.Thread(
                target=self._run, name=f"capture {self.name}", daemon=True
            )
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to end and wait up to ``timeout`` s. True if it ended; False if a
        read is still hung (the daemon thread then releases the capture when it returns)."""
        self._stop_event.set()
        with self._lock:
            self._lock.notify_all()
            thread = self._thread
            if thread is None and self._cap is not None:
                release_quietly(self._cap)
                self._cap = None
        if thread is None:
            return True
        thread.join(max(0.0, timeout))
        return not thread.is_alive()

    def pause(self) -> None:
        """Stop delivering; returns once no further frame will be delivered until resumed."""
        with self._lock:
            self._paused = True
            self._steps = 0
            self._lock.notify_all()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._due = None
            self._lock.notify_all()

    def step(self) -> None:
        """Pause if playing and deliver exactly one more frame."""
        with self._lock:
            self._paused = True
            self._steps += 1
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> SourceStatus:
        now = time.perf_counter()
        with self._lock:
            state, message = self._state, self._message
            if state in ("starting", "running") and self._since is not None:
                quiet = now - self._since
                limit = max(self.stall_after, 3 * (self._interval or 0.0))
                if quiet > limit and not (self._paused and not self.live):
                    state, message = "stalled", self._stall_message(quiet)
            same = self._same_since
            if state == "running" and same is not None and now - same > self.frozen_after:
                state, message = "stalled", self._frozen_message(now - same)
            if self._paused and state in ("starting", "running"):
                state, message = "paused", f"{self.name} paused"
            return SourceStatus(state, message, *self._counters(now))

    # ----------------------------------------------------------------- subclass hooks
    def _open_failed_message(self, reason: str) -> str:
        return f"cannot open {self.name}{reason}"

    def _stall_message(self, quiet: float) -> str:
        return f"{self.name} sent no frame for {quiet:.1f} s; waiting for it to come back"

    def _frozen_message(self, quiet: float) -> str:
        return (
            f"{self.name} has sent the very same picture for {quiet:.1f} s (its driver may "
            "be stuck, or the lens covered); waiting for it to change"
        )

    def _after_open(self, cap: Any) -> None:
        """Called in the thread after a successful open."""

    def _failed_read(self, cap: Any, fails: int) -> Any:
        """A read returned no frame; return the capture to go on with (None: reopen)."""
        if fails >= self.reopen_after:
            release_quietly(cap)
            return None
        self._stop_event.wait(self.fail_wait)
        return cap

    # ----------------------------------------------------------------- the thread
    def _check_repeat(self, rgb: np.ndarray, read_time: float) -> None:
        """Track runs of identical frames (cheap: a strided sample first, then all)."""
        prev, self._previous = self._previous, rgb
        same = (
            prev is not None
            and prev.shape == rgb.shape
            and np.array_equal(prev[::16, ::16], rgb[::16, ::16])
            and np.array_equal(prev, rgb)
        )
        with self._lock:
            if not same:
                self._same_since = None
            elif self._same_since is None:
                self._same_since = read_time

    def _set(self, state: str, message: str) -> None:
        with self._lock:
            self._state, self._message = state, message

    def _open(self) -> Any:
        reason = ""
        try:
            cap = self._opener(self._target)
            if cap is not None and cap.isOpened():
                return cap
            if cap is not None:
                release_quietly(cap)
        except Exception as exc:  # noqa: BLE001 - a broken backend must not kill the thread
            reason = f" ({type(exc).__name__}: {exc})"
        with self._lock:
            if self._frames == 0:
                self._state, self._message = "unavailable", self._open_failed_message(reason)
            else:
                self._state = "stalled"
                self._message = f"{self.name} was lost; trying to reopen it{reason}"
        return None

    def _gate(self) -> bool:
        """Wait until the frame just read may be delivered. False: drop it (or stopping)."""
        with self._lock:
            while not self._stop_event.is_set():
                if self._paused:
                    if self._steps:
                        self._steps -= 1
                        return True
                    if self.live:
                        return False
                    self._lock.wait()
                    continue
                if self._due is None:
                    return True
                delay = self._due - time.perf_counter()
                if delay <= 0:
                    return True
                self._lock.wait(delay)
            return False

    def _run(self) -> None:
        cap, self._cap = self._cap, None
        fails = 0
        try:
            while not self._stop_event.is_set():
                if cap is None:
                    cap = self._open()
                    if cap is None:
                        self._stop_event.wait(self.retry_interval)
                        continue
                    fails = 0
                    with self._lock:
                        if self._since is None:  # a reopen keeps the last good frame's time
                            self._since = time.perf_counter()
                        if self._frames == 0:
                            self._state = "starting"
                            self._message = f"{self.name} opened; waiting for the first frame"
                    self._after_open(cap)
                ok, bgr = cap.read()  # may block for as long as the device likes
                read_time = time.perf_counter()
                if self._stop_event.is_set():
                    break
                if not ok or bgr is None:
                    fails += 1
                    cap = self._failed_read(cap, fails)
                    continue
                fails = 0
                self._reads += 1
                rgb = _to_rgb(bgr)
                if self.live:
                    self._check_repeat(rgb, read_time)
                with self._lock:
                    self._since = read_time
                if not self._gate():
                    continue
                now = time.perf_counter()
                self._deliver(rgb, read_time if self.live else now)
                with self._lock:
                    self._state, self._message = "running", ""
                    if self._interval is not None:
                        due = self._due
                        if due is None or due < now - self._interval:  # behind
                            due = now
                        self._due = due + self._interval
        finally:
            if cap is not None:
                release_quietly(cap)


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    """BGR(A) or gray capture frame -> HxWx3 RGB uint8 (a new array)."""
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class CameraSource(CaptureSource):
    """Camera ``index``. Not found: state "unavailable", retried every ``retry_interval`` s.
    Unplugged or hung: "stalled" after ``stall_after`` s; reopened after ``reopen_after``
    failed reads; delivering again ("running") when frames come back."""

    kind = "camera"

    def __init__(self, index: int, slot: LatestSlot[Frame], **kwargs: Any) -> None:
        self.index = index
        super().__init__(index, slot, **kwargs)

    @property
    def name(self) -> str:
        return f"camera {self.index}"

    def _open_failed_message(self, reason: str) -> str:
        return (
            f"no camera found at index {self.index}{reason}; the drawing pad or a file still work"
        )

    def _stall_message(self, quiet: float) -> str:
        return (
            f"{self.name} sent no frame for {quiet:.1f} s (unplugged, or in use by another "
            "program?); waiting for it to come back"
        )

    def _after_open(self, cap: Any) -> None:
        with contextlib.suppress(Exception):
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep no stale frames where the backend can


def list_cameras(
    max_index: int = 4, opener: Opener | None = None, timeout: float = 3.0
) -> list[int]:
    """Indices 0..max_index (inclusive) of cameras that open, probed quietly.

    On Linux an index without a /dev/videoN node is skipped without asking OpenCV. The
    probe runs in a daemon thread and gives up after ``timeout`` s (a driver can hang on
    open): cameras found until then are returned. Do not call it while a camera is open.
    """
    found: list[int] = []
    use_dev_nodes = opener is None and sys.platform.startswith("linux")
    opener = opener or default_opener

    def probe() -> None:
        for index in range(max_index + 1):
            if use_dev_nodes and not Path(f"/dev/video{index}").exists():
                continue
            try:
                cap = opener(index)
            except Exception:  # noqa: BLE001 - a backend that fails to probe is not a camera
                continue
            try:
                if cap is not None and cap.isOpened():
                    found.append(index)
            finally:
                if cap is not None:
                    release_quietly(cap)

    thread = threading.Thread(target=probe, name="list cameras", daemon=True)
    thread.start()
    thread.join(timeout)
    return list(found)
