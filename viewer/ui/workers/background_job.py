"""One piece of work at a time on a plain Python thread, its progress and answer delivered
to the GUI thread by queued signals; cancel is cooperative and close joins with a bound."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal


class BackgroundJob(QObject):
    """``start(fn)`` runs ``fn(progress, cancel)`` (progress: callable(float 0..1),
    cancel: threading.Event) on a worker thread. Signals carry the job's number so answers
    of a job that was replaced are dropped."""

    progress = pyqtSignal(int, float)
    done = pyqtSignal(int, object)
    failed = pyqtSignal(int, str)  # message; "" when cancelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.number = 0
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, fn: Callable, name: str = "background-job") -> int:
        self.cancel()
        self.number += 1
        number, cancel = self.number, threading.Event()
        self._cancel = cancel

        def run() -> None:
            try:
                result = fn(lambda f: self._emit(self.progress, number, float(f)), cancel)
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, never lost
                cancelled = cancel.is_set() or type(exc).__name__ == "Cancelled"
                self._emit(self.failed, number, "" if cancelled else f"{exc}")
            else:
                self._emit(self.done, number, result)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()
        return number

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window (and this object) is gone
            pass

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Cancel and wait for the thread, at most ``timeout`` seconds."""
        self.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
