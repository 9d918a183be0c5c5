"""Record frames to an MP4 with OpenCV's video writer, on a thread of its own (Qt-free).

The file is written under a temporary name beside the target (``.NAME.part.mp4``) and
renamed only after it was closed and OpenCV read back as many frames as were written.
A failure (folder not writable, disk nearly full, the encoder refusing a frame, a file
that does not read back) removes the partial file and says why in ``outcome.message``:
no broken file is left behind without a word.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FOURCC = "mp4v"
DEFAULT_FPS = 10.0
FPS_RANGE = (1.0, 60.0)
PROBE_FRAMES = 6  # frames whose timestamps give the rate, when none is given
MAX_HOLD_S = 1.0  # real_time: a longer gap (a paused video) is cut to nothing, not held
MIN_FREE_MB = 50  # stop before the disk is this full
FREE_CHECK_EVERY = 15  # frames between free-space checks


class RecordingError(Exception):
    """A recording cannot start; the message names the file and the reason."""


@dataclass
class Outcome:
    """How a recording ended. ``ok``: the file at ``path`` holds ``frames`` frames."""

    ok: bool
    path: Path
    frames: int
    fps: float
    size: tuple[int, int] | None  # (width, height)
    message: str


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.part{path.suffix}")


def free_mb(folder: Path) -> float:
    return shutil.disk_usage(folder).free / 2**20


def fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB H x W x 3 uint8 -> exactly ``size`` (w, h): scaled to fit, bars around it."""
    w, h = size
    fh, fw = frame.shape[:2]
    if (fw, fh) == (w, h):
        return frame
    scale = min(w / fw, h / fh)
    nw, nh = max(1, round(fw * scale)), max(1, round(fh * scale))
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    out[y : y + nh, x : x + nw] = small
    return out


class VideoRecorder:
    """``write(frame, t)`` from any one thread (the GUI's, for a window recording); the
    encoding runs on the recorder's thread. ``stop()`` finishes the file and returns the
    Outcome (also passed to ``on_done`` from the recorder's thread).

    ``fps``: the rate stored in the file; None measures it from the timestamps of the
    first PROBE_FRAMES frames, so the video plays at the rate frames arrived.
    ``real_time`` (with ``fps``, e.g. a video source's own rate): each frame is placed at
    its timestamp on the file's constant-rate timeline, the previous frame held over the
    slots in between (up to MAX_HOLD_S), so the file plays as fast as it was shown even
    when frames came slower than ``fps``; never a frame dropped.
    ``size``: (width, height); None takes the first frame's, rounded down to even sides
    (MPEG-4 needs them). Frames of another size are scaled to fit.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float | None = None,
        real_time: bool = False,
        size: tuple[int, int] | None = None,
        min_free_mb: float = MIN_FREE_MB,
        queue_size: int = 32,
        on_done: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.part = partial_path(self.path)
        if real_time and fps is None:
            raise ValueError("real_time recording needs the rate: give fps")
        self.fps = None if fps is None else float(min(max(fps, FPS_RANGE[0]), FPS_RANGE[1]))
        self.real_time = real_time
        self.size = size
        self.min_free_mb = min_free_mb
        self.on_done = on_done
        self.frames_written = 0
        self.dropped = 0
        self.started_at = 0.0
        self.outcome: Outcome | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._writer: cv2.VideoWriter | None = None
        self._failed: str | None = None
        self._stop_asked = False
        # real_time: the first frame's time, the next slot on the file's timeline, the
        # frame in the slot before it (held over gaps)
        self._t0: float | None = None
        self._slot = 0
        self._held: np.ndarray | None = None

    # ---- called by the owner ---------------------------------------------------------
    def start(self) -> None:
        """Check the target, then start the thread. RecordingError says what is wrong."""
        if self.path.suffix.lower() != ".mp4":
            raise RecordingError(f"{self.path}: record to a file ending in .mp4")
        folder = self.path.parent
        if not folder.is_dir():
            raise RecordingError(f"{self.path}: the folder {folder} does not exist")
        if self.path.is_dir():
            raise RecordingError(f"{self.path} is a folder; give the name of the video file")
        if not os.access(folder, os.W_OK):
            raise RecordingError(f"{self.path}: the folder {folder} is not writable")
        free = free_mb(folder)
        if free < self.min_free_mb:
            raise RecordingError(
                f"{self.path}: only {free:.0f} MB free on that disk; free some space "
                f"(at least {self.min_free_mb:.0f} MB) or record elsewhere"
            )
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="video-recorder", daemon=True)
        self._thread.start()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at if self.started_at else 0.0

    @property
    def running(self) -> bool:
        return self._thread is not None and self.outcome is None and not self._stop_asked

    @property
    def failed(self) -> str | None:
        """Why the recording stopped by itself (disk full, encoder error), or None."""
        return self._failed

    def write(self, frame: np.ndarray, t: float | None = None) -> bool:
        """Queue one RGB (H x W x 3 uint8) frame; the recorder owns it from now on.
        False when the recording has stopped or its queue is full (counted in ``dropped``)."""
        if not self.running or self._failed:
            return False
        try:
            self._queue.put_nowait((frame, time.monotonic() if t is None else t))
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def request_stop(self) -> None:
        """Finish the file in the background; ``on_done`` gets the Outcome."""
        if self._thread is None:
            raise RecordingError("the recording was never started")
        if not self._stop_asked:
            self._stop_asked = True
            self._queue.put(None)

    def stop(self, timeout: float = 10.0) -> Outcome:
        """Finish the file (waits up to ``timeout`` s for queued frames to be encoded)."""
        self.request_stop()
        assert self._thread is not None  # request_stop raised otherwise
        self._thread.join(timeout)
        if self.outcome is None:  # still encoding or stuck on the disk
            return Outcome(
                False,
                self.path,
                self.frames_written,
                self.fps or 0.0,
                self.size,
                f"{self.path}: still writing after {timeout:.0f} s; "
                f"the partial file is {self.part}",
            )
        return self.outcome

    # ---- the recorder's thread ------------------------------------------------------
    def _run(self) -> None:
        pending: list[tuple[np.ndarray, float]] = []
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self._failed:
                continue  # drain, so that write() never blocks
            if self._writer is None:
                pending.append(item)
                if self.fps is None and len(pending) < PROBE_FRAMES:
                    continue
                self._open(pending)
                pending = []
            else:
                self._place(*item)
        if self._writer is None and pending and not self._failed:
            self._open(pending)
        self._finish()

    def _open(self, pending: list[tuple[np.ndarray, float]]) -> None:
        if self.fps is None:
            span = pending[-1][1] - pending[0][1]
            rate = (len(pending) - 1) / span if len(pending) > 1 and span > 0 else DEFAULT_FPS
            self.fps = float(min(max(rate, FPS_RANGE[0]), FPS_RANGE[1]))
        if self.size is None:
            h, w = pending[0][0].shape[:2]
            self.size = (max(2, w - w % 2), max(2, h - h % 2))
        writer = cv2.VideoWriter(
            str(self.part), cv2.VideoWriter.fourcc(*FOURCC), self.fps, self.size
        )
        if not writer.isOpened():
            self._fail(f"OpenCV could not open a {FOURCC} video writer for {self.part}")
            return
        self._writer = writer
        for frame, t in pending:
            self._place(frame, t)

    def _place(self, frame: np.ndarray, t: float) -> None:
        """Encode ``frame``; with ``real_time``, first hold the previous one over the slots
        of the timeline that passed since it (see the class docstring)."""
        if self.real_time:
            assert self.fps is not None  # __init__ checked
            if self._t0 is None:
                self._t0 = t
            gap = round((t - self._t0) * self.fps) - self._slot
            if gap > MAX_HOLD_S * self.fps:  # a pause: start the timeline afresh from here
                self._t0, gap = t - self._slot / self.fps, 0
            held = self._held
            if held is not None:
                for _ in range(max(gap, 0)):
                    self._encode(held)
            self._slot += max(gap, 0) + 1
            self._held = frame
        self._encode(frame)

    def _encode(self, frame: np.ndarray) -> None:
        if self._failed:
            return
        assert self._writer is not None and self.size is not None  # _open set both
        try:
            image = frame if frame.ndim == 3 else np.repeat(frame[..., None], 3, axis=2)
            bgr = cv2.cvtColor(
                fit_frame(np.ascontiguousarray(image[..., :3]), self.size), cv2.COLOR_RGB2BGR
            )
            self._writer.write(bgr)
        except (cv2.error, ValueError) as exc:
            self._fail(f"the video encoder refused frame {self.frames_written + 1}: {exc}")
            return
        self.frames_written += 1
        if self.frames_written % FREE_CHECK_EVERY == 0:
            free = free_mb(self.path.parent)
            if free < self.min_free_mb:
                self._fail(f"the disk is nearly full ({free:.0f} MB free)")

    def _fail(self, reason: str) -> None:
        self._failed = reason

    def _finish(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(cv2.error):
                self._writer.release()
        size, fps, n = self.size, self.fps or 0.0, self.frames_written
        if self._failed:
            message = self._discard(f"recording stopped: {self._failed}")
        elif n == 0:
            message = self._discard("no frames were shown while recording, so nothing was saved")
        else:
            read = _frames_in(self.part)
            if read != n:
                message = self._discard(
                    f"the video did not read back ({read} of {n} frames); it was not saved"
                )
            else:
                try:
                    os.replace(self.part, self.path)
                    message = ""
                except OSError as exc:
                    message = self._discard(f"could not rename {self.part.name}: {exc}")
        ok = not message
        if ok:
            assert size is not None  # frames were written
            message = f"saved {self.path} ({n} frames, {size[0]} x {size[1]}, {fps:.1f} fps)"
            if self.dropped:
                message += f"; {self.dropped} frames skipped: the encoder fell behind"
        self.outcome = Outcome(ok, self.path, n if ok else 0, fps, size, message)
        if self.on_done is not None:
            self.on_done(self.outcome)

    def _discard(self, message: str) -> str:
        """Remove the partial file; the message says what happened to it."""
        try:
            self.part.unlink(missing_ok=True)
        except OSError as exc:
            return f"{self.path}: {message}; the partial file {self.part} is left ({exc})"
        return f"{self.path}: {message}"


def _frames_in(path: Path) -> int:
    """Frames OpenCV reads back from a finished video file (0 when it cannot open it)."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
