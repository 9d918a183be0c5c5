"""Running the Visualize panel's jobs off the GUI thread, and showing their images.

A job is a function ``fn(job)`` run in a daemon thread; it reports through ``job.progress``
and ``job.preview`` and checks ``job.stopped()``. Signals carry the reports to the GUI
thread. Jobs use their own copy of the network (``work_copy``): the inference thread's
hooks and theirs never meet on one module.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import traceback

import numpy as np
from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from cnn_viewer.core.visualize.featurevis import Cancelled
from cnn_viewer.models.zoo.loaded import LoadedModel


def work_copy(model: LoadedModel) -> LoadedModel:
    """The same model with its own module (deep copy), for a worker thread.

    The inference thread may have hooks on the module at this moment (its recorder);
    the copy gets empty hook tables instead of copies of those (the memo hands deepcopy
    a fresh dict for each), so the engine's hooks never fire in a job's passes."""
    memo: dict[int, object] = {}
    for m in model.module.modules():
        for name, value in vars(m).items():
            if name.endswith(("hooks", "hooks_with_kwargs", "hooks_always_called")) and isinstance(
                value, dict
            ):
                memo[id(value)] = type(value)()
    # traces: its own (empty) cache; the original's graphs run the original's weights
    return dataclasses.replace(model, module=copy.deepcopy(model.module, memo), traces={})


class Job(QObject):
    """One background job at a time. Signals arrive in the GUI thread; reports of a job
    that was cancelled or replaced are dropped (each run has its own generation)."""

    progress = pyqtSignal(int, int, int, str)  # generation, done, total, text
    preview = pyqtSignal(int, object)  # generation, payload (e.g. a uint8 image)
    finished = pyqtSignal(int, object)  # generation, result
    failed = pyqtSignal(int, str)  # generation, message ('' when cancelled)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.generation = 0
        self.name = ""

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, name: str, fn) -> bool:
        """Run ``fn(handle)`` in a thread; False (nothing started) while one is running."""
        if self.busy:
            return False
        self.generation += 1
        self.name = name
        self._stop = threading.Event()
        handle = _Handle(self, self.generation, self._stop)
        self._thread = threading.Thread(target=handle.run, args=(fn,), name=name, daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        self._stop.set()

    def stop(self, timeout: float) -> bool:
        """Cancel and wait up to ``timeout`` seconds; True when the thread has ended."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy


class _Handle:
    """What a job function sees: report progress and previews, ask whether to stop."""

    def __init__(self, job: Job, generation: int, stop: threading.Event) -> None:
        self.job, self.generation, self._stop = job, generation, stop

    def stopped(self) -> bool:
        return self._stop.is_set()

    def progress(self, done: int, total: int, text: str = "") -> None:
        self._emit(self.job.progress, done, total, text)

    def preview(self, payload) -> None:
        self._emit(self.job.preview, payload)

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(self.generation, *args)
        except RuntimeError:  # the window (and this QObject) is gone
            self._stop.set()

    def run(self, fn) -> None:
        try:
            result = fn(self)
        except Cancelled:
            self._emit(self.job.failed, "")
        except Exception as exc:  # noqa: BLE001 - any error reaches the panel, not a console
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, (ValueError, KeyError, OSError)):
                message = f"{type(exc).__name__}: {message}\n\n{traceback.format_exc(limit=3)}"
            self._emit(self.job.failed, message)
        else:
            self._emit(self.job.finished, result)


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
