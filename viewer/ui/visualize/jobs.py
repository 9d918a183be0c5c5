"""Running the Visualize panel's jobs off the GUI thread, and showing their images.

A job is a function ``fn(job)`` run on a Worker (cnn_viewer.ui.workers.worker); it
reports through ``job.progress`` and ``job.preview`` and checks ``job.stopped()``, and
raises Cancelled when it stops. The reports reach the GUI thread as signals. Jobs use
their own copy of the network (``private_copy``): the inference thread's hooks and
theirs never meet on one module.
"""

from __future__ import annotations

import threading

import numpy as np
from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from cnn_viewer.ui.workers.worker import Failure, Task, Worker

USER_ERRORS = (ValueError, KeyError, OSError)  # shown as their message, no traceback


class Job(QObject):
    """One background job at a time. Signals arrive in the GUI thread; reports of a job
    that was replaced are dropped (each run has its own generation)."""

    progress = pyqtSignal(int, int, int, str)  # generation, done, total, text
    preview = pyqtSignal(int, object)  # generation, payload (e.g. a uint8 image)
    finished = pyqtSignal(int, object)  # generation, result
    failed = pyqtSignal(int, str)  # generation, message ('' when cancelled)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.worker = Worker(self, name="visualize", expected=USER_ERRORS)
        w = self.worker
        w.progress.connect(lambda p: self.progress.emit(w.number, *p))
        w.posted.connect(lambda _kind, payload: self.preview.emit(w.number, payload))
        w.returned.connect(lambda result: self.finished.emit(w.number, result))
        w.cancelled.connect(lambda _exc: self.failed.emit(w.number, ""))
        w.errored.connect(self._errored)

    @property
    def generation(self) -> int:
        return self.worker.number

    @property
    def busy(self) -> bool:
        return self.worker.busy

    @property
    def thread(self) -> threading.Thread | None:
        return self.worker.thread

    def start(self, name: str, fn) -> bool:
        """Run ``fn(handle)`` in a thread; False (nothing started) while one is running."""
        if self.busy:
            return False
        self.name = name
        self.worker.start(lambda task: fn(_Handle(task)), name=name)
        return True

    def cancel(self) -> None:
        self.worker.cancel()

    def stop(self, timeout: float) -> bool:
        """Cancel and wait up to ``timeout`` seconds; True when the thread has ended."""
        return self.worker.stop(timeout)

    def _errored(self, failure: Failure) -> None:
        message = failure.message
        if not failure.expected:  # a bug: where it happened, too (all of it is in the log)
            message = f"{message}\n\n{failure.tail(3)}"
        self.failed.emit(self.worker.number, message)


class _Handle:
    """What a job function sees: report progress and previews, ask whether to stop."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def stopped(self) -> bool:
        return self.task.cancelled()

    def progress(self, done: int, total: int, text: str = "") -> None:
        self.task.progress((done, total, text))

    def preview(self, payload) -> None:
        self.task.post("preview", payload)


class JobBar(QWidget):
    """A progress bar, a status line and a Cancel button for a Job."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(260)
        self.bar.setTextVisible(True)
        self.text = QLabel("")
        self.text.setObjectName("dim")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the running job (Esc)")
        self.cancel.setShortcut("Esc")
        self.cancel.clicked.connect(job.cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel)
        lay.addWidget(self.text, 1)
        self.idle("")

    def running(self, text: str) -> None:
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.bar.show()
        self.cancel.show()
        self.text.setText(text)

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))
        if text:
            self.text.setText(text)

    def idle(self, text: str) -> None:
        self.bar.hide()
        self.cancel.hide()
        self.text.setText(text)


def to_pixmap(image: np.ndarray) -> QPixmap:
    """uint8 HxW or HxWx3 -> QPixmap (copied, so the array may change afterwards)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2:
        qimg = QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        qimg = QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimg.copy())


class ImageView(QLabel):
    """Shows a small uint8 image enlarged with sharp pixels, kept square-ish and centred."""

    def __init__(self, side: int = 224, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.setMinimumSize(side // 2, side // 2)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setObjectName("imageView")
        self.image: np.ndarray | None = None
        self._pixmap: QPixmap | None = None

    def show_image(self, image: np.ndarray | None) -> None:
        self.image = image
        self._pixmap = None if image is None else to_pixmap(image)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._pixmap is None:
            self.clear()
            return
        w, h = max(1, self.width() - 4), max(1, self.height() - 4)
        small = max(self._pixmap.width(), self._pixmap.height()) < 128
        mode = (
            Qt.TransformationMode.FastTransformation
            if small
            else Qt.TransformationMode.SmoothTransformation
        )
        self.setPixmap(self._pixmap.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio, mode))
