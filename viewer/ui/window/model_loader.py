"""Load a model off the GUI thread: fetch weights with progress, build, warm up.

The load runs on a Worker (cnn_viewer.ui.workers.worker); its results come back to the
GUI thread as Qt signals; a failed load leaves the window with the model it had.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QCoreApplication, QObject, pyqtSignal

from cnn_viewer.core.options import ModelOptions
from cnn_viewer.models import CheckpointError
from cnn_viewer.models.zoo.loaded import WeightsUnavailable
from cnn_viewer.models.zoo.weights_download import prefetch
from cnn_viewer.ui.workers.worker import Failure, Task, Worker


class ModelLoader(QObject):
    """One load at a time; reports ``progress(done, total, text)``, ``loaded(payload)``
    and ``failed(kind, message)``.

    ``build(model)`` runs in the loader thread after loading (e.g. make and warm up an
    Engine); its return value is the payload of ``loaded``.
    """

    QUIT_JOIN_S = 1.5  # at application quit, wait this long for a load to stop

    progress = pyqtSignal(int, int, str)
    loaded = pyqtSignal(object)
    failed = pyqtSignal(str, str)  # kind: "offline", "checkpoint", "error", "cancelled"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._label = ""
        self.worker = Worker(
            self, name="model-loader", expected=(WeightsUnavailable, CheckpointError)
        )
        self.worker.progress.connect(lambda p: self.progress.emit(*p))
        self.worker.returned.connect(self.loaded.emit)
        self.worker.cancelled.connect(
            lambda _exc: self.failed.emit("cancelled", f"loading {self._label} was cancelled")
        )
        self.worker.errored.connect(self._errored)
        app = QCoreApplication.instance()
        if app is not None:  # a load must not outlive the event loop (it emits signals)
            app.aboutToQuit.connect(self._stop_for_quit)

    @property
    def busy(self) -> bool:
        return self.worker.busy

    def cancel(self) -> None:
        self.worker.cancel()

    def wait(self, timeout: float) -> bool:
        """Join the loading thread for at most ``timeout`` s; True if none is running.
        A cancelled load stops at its next step (download chunk, build, warm-up)."""
        return self.worker.wait(timeout)

    def _stop_for_quit(self) -> None:
        self.worker.stop(self.QUIT_JOIN_S)

    def start(self, options: ModelOptions, build: Callable[[object], object]) -> None:
        self._label = options.checkpoint or options.model
        self.worker.start(_load, options, build, self._label)

    def _errored(self, failure: Failure) -> None:
        if isinstance(failure.error, WeightsUnavailable):
            self.failed.emit("offline", failure.message)
        elif isinstance(failure.error, CheckpointError):
            self.failed.emit("checkpoint", failure.message)
        else:  # any model the user names: report, never crash (traceback in the log)
            self.failed.emit("error", f"{self._label}: {failure.message}")


def _load(task: Task, options: ModelOptions, build: Callable[[object], object], label: str):
    """In the loader thread: the payload for ``loaded``; raises Cancelled when asked."""
    stopped = f"loading {label} was cancelled"
    if options.checkpoint is None and options.model_file is None:
        task.progress((0, 0, f"fetching weights for {label}"))
        prefetch(
            options.model,
            options.weights,
            on_progress=lambda d, t: task.progress((d, t, f"downloading {label}")),
            should_cancel=task.cancelled,
        )
    task.check(stopped)
    task.progress((0, 0, f"loading {label}"))
    model = options.load()
    task.check(stopped)
    task.progress((0, 0, f"warming up {label}"))
    payload = build(model)
    task.check(stopped)
    return payload
