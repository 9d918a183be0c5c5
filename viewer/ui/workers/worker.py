"""The one way the UI runs work off the GUI thread: a ``Worker``.

``worker.start(fn, *args)`` runs ``fn(task, *args)`` on a named daemon thread; what the
function reports comes back as queued signals, every one of them emitted in the GUI thread::

    worker = Worker(parent, name="saliency", expected=(ValueError, OSError))
    worker.progress.connect(bar.setValue)  # task.progress(value)
    worker.posted.connect(on_preview)  # task.post(kind, value): anything else on the way
    worker.returned.connect(show)  # fn's return value
    worker.cancelled.connect(lambda exc: say(str(exc)))  # fn raised Cancelled
    worker.errored.connect(lambda failure: window._error("Saliency failed", failure.message))
    worker.start(fn, *args)
    ...
    worker.stop(timeout)  # at shutdown: cancel, then join with a bound

Cancelling has one mechanism: ``worker.cancel()`` sets the run's flag, which the function
reads as ``task.cancelled()`` (a ``should_stop`` callable), ``task.check(message)`` (raises
Cancelled), ``task.stop_event`` (a threading.Event) or ``task.on_cancel(callback)`` (e.g. a
TrainControl's cancel). A function that stops on request raises
``cnn_viewer.models.cancelled.Cancelled``, told apart by class. Any other exception is a
failure: logged with its traceback (logger ``cnn_viewer.ui.workers.worker``), kept as
``worker.last_failure`` and handed to the GUI thread as a ``Failure``; classes the owner
lists as ``expected`` (bad input, no network) are the user's to fix and logged without one.

Reports of a run that a newer ``start`` replaced are dropped (``latest_only``), and so is
everything after ``detach()``; a worker whose QObject was deleted with its window stops
its run at the next report instead of emitting.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.models.cancelled import Cancelled, stop_if

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """An exception a worker's function raised (other than Cancelled), in the GUI thread.
    The frames' locals are cleared (no tensors kept alive); the text stays."""

    error: Exception
    expected: bool  # one of the worker's ``expected`` classes: a message, not a bug
    traceback: str  # the whole traceback, formatted (also in the log when not expected)

    @property
    def message(self) -> str:
        """One line or paragraph for the user, never empty."""
        text = str(self.error) or type(self.error).__name__
        return text if self.expected else f"{type(self.error).__name__}: {text}"

    def tail(self, frames: int = 3) -> str:
        """The innermost ``frames`` frames of the traceback and the error, formatted."""
        return "".join(traceback.format_exception(self.error, limit=-frames))


class Task:
    """One run of a worker, as its function sees it (in the worker thread)."""

    def __init__(self, worker: Worker, number: int) -> None:
        self.number = number
        self.stop_event = threading.Event()  # set by cancel(); for APIs that take an Event
        self.thread: threading.Thread | None = None
        self.ended = False  # its end reached the GUI thread
        self._worker = worker
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], Any]] = []

    def cancelled(self) -> bool:
        """True once the run was asked to stop (usable as a ``should_stop`` callable)."""
        return self.stop_event.is_set()

    def check(self, message: str = "cancelled") -> None:
        """Raise Cancelled(message) when the run was asked to stop."""
        stop_if(self.cancelled, message)

    def on_cancel(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when the run is cancelled (now, if it already is)."""
        with self._lock:
            if not self.stop_event.is_set():
                self._on_cancel.append(callback)
                return
        callback()

    def cancel(self) -> None:
        """Ask the run to stop (any thread)."""
        with self._lock:
            self.stop_event.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            callback()

    def progress(self, value: Any) -> None:
        """Hand ``value`` to the worker's ``progress`` signal."""
        self._send("progress", value)

    def post(self, kind: str, value: Any = None) -> None:
        """Hand ``(kind, value)`` to the worker's ``posted`` signal (previews, stages)."""
        self._send("posted", (kind, value))

    def _send(self, what: str, payload: Any) -> None:
        try:
            self._worker._report.emit(self.number, what, payload)
        except RuntimeError:  # the Worker went with its window: stop, emit nothing
            self.cancel()


class Worker(QObject):
    """Runs one function at a time on a daemon thread named ``name``; see the module."""

    progress = pyqtSignal(object)  # what the function passed to task.progress
    posted = pyqtSignal(str, object)  # kind, value: what it passed to task.post
    returned = pyqtSignal(object)  # its return value
    cancelled = pyqtSignal(object)  # the Cancelled it raised (its message says where)
    errored = pyqtSignal(object)  # a Failure
    finished = pyqtSignal()  # after returned, cancelled or errored
    _report = pyqtSignal(int, str, object)  # from the thread: run number, what, payload

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        name: str = "worker",
        expected: tuple[type[Exception], ...] = (),
        cancelled_by: tuple[type[Exception], ...] = (),
        latest_only: bool = True,
    ) -> None:
        """``expected``: failures that are messages for the user (logged without a
        traceback). ``cancelled_by``: more classes that mean "stopped on request", for
        libraries that still raise their own instead of Cancelled. ``latest_only=False``:
        the reports of every run arrive, not only the newest run's."""
        super().__init__(parent)
        self.name = name
        self.expected = tuple(expected)
        self.stops = (Cancelled, *cancelled_by)
        self.latest_only = latest_only
        self.number = 0  # the newest run's number
        self.task: Task | None = None  # the newest run
        self.last_failure: Failure | None = None
        self._tasks: list[Task] = []  # runs whose thread may still be running
        self._detached = False
        self._report.connect(self._deliver)

    @property
    def thread(self) -> threading.Thread | None:
        return None if self.task is None else self.task.thread

    @property
    def busy(self) -> bool:
        """The newest run's thread is running and its end has not been delivered."""
        task = self.task
        return task is not None and not task.ended and task.thread.is_alive()

    def start(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> int:
        """Run ``fn(task, *args)`` on a new thread (named ``name`` or the worker's); a run
        still going is cancelled and its reports dropped. The new run's number."""
        if self.task is not None:
            self.task.cancel()
        self.number += 1
        task = Task(self, self.number)
        task.thread = threading.Thread(
            target=self._main, args=(task, fn, args), name=name or self.name, daemon=True
        )
        self._tasks = [t for t in self._tasks if t.thread.is_alive()] + [task]
        self.task = task
        task.thread.start()
        return task.number

    def cancel(self) -> None:
        """Ask every run still going to stop (cooperative: at its next check)."""
        for task in self._tasks:
            task.cancel()

    def wait(self, timeout: float) -> bool:
        """Join the threads, all within ``timeout`` s; True when none is left running."""
        deadline = time.monotonic() + max(0.0, timeout)
        for task in list(self._tasks):
            if task.thread is not threading.current_thread():
                task.thread.join(max(0.0, deadline - time.monotonic()))
        self._tasks = [t for t in self._tasks if t.thread.is_alive()]
        return not self._tasks

    def stop(self, timeout: float) -> bool:
        """Cancel and join (shutdown); True when every thread has ended in time."""
        self.cancel()
        return self.wait(timeout)

    def detach(self) -> None:
        """The receivers are going away: deliver nothing more."""
        self._detached = True

    # ---- the worker thread ---------------------------------------------------------------
    def _main(self, task: Task, fn: Callable[..., Any], args: tuple) -> None:
        try:
            value = fn(task, *args)
        except self.stops as exc:
            task._send("cancelled", exc)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the GUI thread
            task._send("errored", self._failure(exc))
        else:
            task._send("returned", value)

    def _failure(self, exc: Exception) -> Failure:
        expected = isinstance(exc, self.expected)
        if expected:
            log.info("%s: %s", self.name, exc)
        else:
            log.error("%s failed", self.name, exc_info=exc)
        text = "".join(traceback.format_exception(exc))
        traceback.clear_frames(exc.__traceback__)  # the text stays, the locals go
        return Failure(exc, expected, text)

    # ---- the GUI thread ------------------------------------------------------------------
    def _deliver(self, number: int, what: str, payload: Any) -> None:
        if self._detached or (self.latest_only and number != self.number):
            return
        if what == "progress":
            self.progress.emit(payload)
        elif what == "posted":
            self.posted.emit(*payload)
        else:
            if self.task is not None and number == self.task.number:
                self.task.ended = True
            if what == "errored":
                self.last_failure = payload
            getattr(self, what).emit(payload)
            self.finished.emit()
