"""One piece of work at a time (a Worker, worker.py), with its answers numbered: the API
of the Inspect features' jobs (the saliency suite, the frozen-frame probe)."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.ui.workers.worker import Failure, Worker


class BackgroundJob(QObject):
    """``start(fn)`` runs ``fn(progress, cancel)`` (progress: callable(float 0..1),
    cancel: threading.Event) on a worker thread. Signals (GUI thread) carry the job's
    number; a job that was replaced says nothing more."""

    progress = pyqtSignal(int, float)
    done = pyqtSignal(int, object)
    failed = pyqtSignal(int, str)  # message; "" when cancelled (Cancelled raised)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = Worker(self, name="background-job")
        w = self.worker
        w.progress.connect(lambda f: self.progress.emit(w.number, f))
        w.returned.connect(lambda result: self.done.emit(w.number, result))
        w.cancelled.connect(lambda _exc: self.failed.emit(w.number, ""))
        w.errored.connect(self._errored)

    @property
    def number(self) -> int:
        return self.worker.number

    @property
    def busy(self) -> bool:
        return self.worker.busy

    def start(self, fn: Callable, name: str = "background-job") -> int:
        """Run ``fn`` (a job still running is cancelled); the new job's number."""
        return self.worker.start(
            lambda task: fn(lambda f: task.progress(float(f)), task.stop_event), name=name
        )

    def cancel(self) -> None:
        self.worker.cancel()

    def stop(self, timeout: float = 2.0) -> bool:
        """Cancel and wait for the thread, at most ``timeout`` seconds."""
        return self.worker.stop(timeout)

    def _errored(self, failure: Failure) -> None:
        self.failed.emit(self.worker.number, failure.message)
