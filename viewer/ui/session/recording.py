"""Record the window (or one of its columns) to MP4: one video frame per shown result.

The GUI thread grabs the chosen widget after each shown result (empty and error results
too: the window shows them) and hands the pixels to a VideoRecorder, which encodes on
its own thread. A red indicator in the status bar shows
the elapsed time and frame count while recording.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QLabel

from cnn_viewer.core.output.recording import Outcome, RecordingError, VideoRecorder
from cnn_viewer.core.sources.video import VideoFileSource

TARGETS = [
    ("window", "Whole window"),
    ("input", "Input column"),
    ("layers", "Layers column"),
    ("side", "Right column (prediction and tabs)"),
]


def widget_rgb(widget) -> np.ndarray:
    """The widget as it looks now: H x W x 3 RGB uint8 (a copy; GUI thread)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits().asstring(bpl * h), np.uint8)
    return data.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


class _Done(QObject):
    finished = pyqtSignal(object, object)  # (VideoRecorder, Outcome), from its thread


class RecordControl(QObject):
    """Start/stop recordings, feed them the shown results, report how they ended."""

    stopped = pyqtSignal(object)  # Outcome, in the GUI thread
    recorded = pyqtSignal()  # after each frame handed to the recorder

    def __init__(self, window, action=None) -> None:
        super().__init__(window)
        self.window = window
        self.action = action  # the checkable Record action, kept in step
        self.target = "window"
        self.recorder: VideoRecorder | None = None
        self.frame_limit: int | None = None
        self.handed = 0  # frames the recorder took
        self._reported: set = set()  # recorders whose outcome was shown
        self.last_outcome: Outcome | None = None
        self._done = _Done()
        self._done.finished.connect(self._finished)
        self.indicator = QLabel()
        self.indicator.setObjectName("recording")
        self.indicator.setStyleSheet("color: #ff5c5c; font-weight: bold; padding: 0 6px;")
        self.indicator.hide()
        window.statusBar().addPermanentWidget(self.indicator)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        # Every rendered result, empty pads and errors included.
        window.events.rendered.connect(self.capture)

    @property
    def recording(self) -> bool:
        return self.recorder is not None and self.recorder.running

    def target_widget(self):
        split = self.window.splitter
        return {
            "window": self.window,
            "input": split.widget(0),
            "layers": split.widget(1),
            "side": split.widget(2),
        }.get(self.target, self.window)

    def start(self, path: str | Path, frames: int | None = None) -> bool:
        """Record to ``path`` (.mp4) until ``stop()``, or ``frames`` results. False and a
        message when it cannot start."""
        if self.recording:
            self.stop(wait=False)
        # a video file: the recording keeps its rate (and plays in real time when the
        # network is slower than the video); the pad and cameras: the rate results came
        source = self.window.source
        rate = source.fps if isinstance(source, VideoFileSource) else None
        recorder = VideoRecorder(path, fps=rate, real_time=rate is not None)
        recorder.on_done = lambda outcome: self._done.finished.emit(recorder, outcome)
        try:
            recorder.start()
        except RecordingError as exc:
            self.window._error("Cannot record", str(exc))
            self._sync_action(False)
            return False
        self.recorder, self.frame_limit, self.handed = recorder, frames, 0
        self.indicator.show()
        self._tick()
        self._timer.start(500)
        self._sync_action(True)
        self.window.request_frame()  # the pad and still images give a first frame now
        return True

    def capture(self, result=None) -> None:
        """Hand the target widget as it looks now to the recorder (GUI thread), stamped
        with the time its frame was delivered (the source's own pacing, not the jitter of
        the display timer), or now when there is no result."""
        rec = self.recorder
        if rec is None or not rec.running:
            return
        if rec.failed:
            self.stop(wait=False)
            return
        t = time.perf_counter() if result is None else result.frame_time
        if rec.write(widget_rgb(self.target_widget()), t):
            self.handed += 1
            self.recorded.emit()
        if self.frame_limit is not None and self.handed >= self.frame_limit:
            self.stop(wait=False)

    def stop(self, wait: bool = True, timeout: float = 10.0) -> Outcome | None:
        """Finish the file. ``wait``: block (bounded) until it is written, e.g. on close;
        otherwise the outcome arrives through ``stopped``."""
        rec = self.recorder
        if rec is None:
            return None
        self._timer.stop()
        self._sync_action(False)
        self.indicator.setText("● saving…")
        if not wait:
            rec.request_stop()  # the outcome comes through on_done -> stopped
            return None
        outcome = rec.stop(timeout)
        self._finished(rec, outcome)  # now: after a close no event loop may deliver it
        return outcome

    def _finished(self, rec: VideoRecorder, outcome: Outcome) -> None:
        if rec in self._reported:
            return
        self._reported.add(rec)
        if rec is self.recorder:
            self.recorder = None
            self.indicator.hide()
        self.last_outcome = outcome
        if outcome.ok:
            self.window.statusBar().showMessage(outcome.message, 8000)
        else:
            self.window._error("Recording not saved", outcome.message)
        self.stopped.emit(outcome)

    def _tick(self) -> None:
        rec = self.recorder
        if rec is None:
            return
        if rec.failed:
            self.stop(wait=False)
            return
        s = int(rec.elapsed)
        text = f"● REC {s // 60}:{s % 60:02d}  {rec.frames_written} frames"
        if rec.dropped:
            text += f" ({rec.dropped} skipped)"
        self.indicator.setText(text)
        self.indicator.setToolTip(f"recording to {rec.path}")

    def _sync_action(self, on: bool) -> None:
        if self.action is not None and self.action.isChecked() != on:
            self.action.blockSignals(True)
            self.action.setChecked(on)
            self.action.blockSignals(False)
