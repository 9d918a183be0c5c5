"""The one background-worker abstraction (cnn_viewer.ui.workers.worker.Worker) on real Qt
(offscreen): the returned value, progress, an error that reaches the window, cancelling
with Cancelled (told apart by class), replaced runs and joining at shutdown."""

from __future__ import annotations

import logging
import threading
import time

from PyQt6 import sip

from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.ui.workers.gui_thread import on_gui_thread
from cnn_viewer.ui.workers.worker import Failure, Worker


def until_cancelled(task, seconds: float = 10.0) -> None:
    """A job that stops only when asked (or fails the test after ``seconds``)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        task.check("stopped on request")
        time.sleep(0.005)
    raise AssertionError("never cancelled")


def test_the_return_value_and_progress_arrive_in_the_gui_thread(qtbot):
    worker = Worker(name="worker-under-test")
    seen, threads = [], []

    def job(task, n):
        threads.append(threading.current_thread().name)
        for i in range(n):
            task.progress(i / n)
        task.post("preview", "picture")
        return n * 2

    worker.progress.connect(lambda v: seen.append(("progress", v, on_gui_thread())))
    worker.posted.connect(lambda kind, v: seen.append((kind, v, on_gui_thread())))
    with qtbot.waitSignals([worker.returned, worker.finished], timeout=5000) as blocker:
        worker.start(job, 4)
    assert [s.args for s in blocker.all_signals_and_args] == [(8,), ()]
    assert threads == ["worker-under-test"]
    assert seen == [
        ("progress", 0.0, True),
        ("progress", 0.25, True),
        ("progress", 0.5, True),
        ("progress", 0.75, True),
        ("preview", "picture", True),
    ]
    assert worker.wait(2.0) and not worker.busy


def test_an_error_reaches_the_window_and_its_traceback_the_log(qtbot, window, caplog):
    worker = Worker(window, name="broken-job", expected=(ValueError,))
    worker.errored.connect(lambda f: window._error("The job failed", f.message))

    def broken(_task):
        return {}["missing"]

    with caplog.at_level(logging.ERROR, logger="cnn_viewer.ui.workers.worker"):
        with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
            worker.start(broken)
    failure = blocker.args[0]
    assert isinstance(failure, Failure) and not failure.expected
    assert failure.message == "KeyError: 'missing'"
    assert window.last_error == "KeyError: 'missing'"
    assert window.statusBar().currentMessage() == "KeyError: 'missing'"
    assert "in broken" in failure.traceback and "in broken" in failure.tail(1)
    assert worker.last_failure is failure
    logged = [r for r in caplog.records if r.name == "cnn_viewer.ui.workers.worker"]
    assert len(logged) == 1 and "broken-job failed" in logged[0].getMessage()
    assert logged[0].exc_info[0] is KeyError  # the traceback is in the log

    # An expected class is the user's to fix: its message, no traceback logged.
    caplog.clear()
    with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
        worker.start(lambda _task: int("seven"))
    assert blocker.args[0].expected
    assert blocker.args[0].message == "invalid literal for int() with base 10: 'seven'"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    worker.stop(2.0)


def test_cancel_raises_cancelled_told_apart_by_class_not_name(qtbot):
    worker = Worker(name="cancel-under-test")
    returned = []
    worker.returned.connect(returned.append)
    with qtbot.waitSignal(worker.cancelled, timeout=5000) as blocker:
        worker.start(until_cancelled)
        qtbot.waitUntil(lambda: worker.busy, timeout=2000)
        worker.cancel()
    exc = blocker.args[0]
    assert isinstance(exc, Cancelled) and str(exc) == "stopped on request"
    assert worker.wait(2.0) and not returned

    class Cancelled2(Exception):  # another class, even one named like it, is an error
        pass

    Cancelled2.__name__ = "Cancelled"

    def impostor(_task):
        raise Cancelled2("not a cancel")

    cancels = []
    worker.cancelled.connect(cancels.append)
    with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
        worker.start(impostor)
    assert blocker.args[0].message == "Cancelled: not a cancel" and not cancels

    # The other ways a job sees the one flag: an Event, and a callback (a TrainControl's).
    calls, seen = [], []

    def listening(task):
        task.on_cancel(lambda: calls.append(True))
        task.stop_event.wait(5.0)
        seen.append(task.cancelled())
        task.check()

    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.start(listening)
        qtbot.waitUntil(lambda: worker.busy, timeout=2000)
        worker.cancel()
    assert calls == [True] and seen == [True]


def test_a_replaced_run_says_nothing_more(qtbot):
    worker = Worker(name="replace-under-test")
    results = []
    worker.returned.connect(results.append)
    release = threading.Event()

    def first(task):
        release.wait(5.0)
        return "first"

    worker.start(first)
    with qtbot.waitSignal(worker.returned, timeout=5000):
        assert worker.start(lambda _task: "second") == 2  # the first run is cancelled
        release.set()
    assert worker.wait(2.0)
    qtbot.wait(50)  # the first run's answer, had it been delivered, would be here now
    assert results == ["second"]


def test_shutdown_stops_and_joins_within_the_bound(qtbot, window):
    worker = Worker(window, name="shutdown-under-test")
    window.events.shutdown.connect(worker.stop)
    worker.start(until_cancelled)
    qtbot.waitUntil(lambda: worker.busy, timeout=2000)
    thread = worker.thread
    t0 = time.monotonic()
    window.close()  # the window's shutdown: events.shutdown(timeout)
    assert not thread.is_alive() and time.monotonic() - t0 < 2.0

    # A job that ignores the flag: stop() gives up at the bound and says so.
    stubborn = Worker(name="stubborn")
    release = threading.Event()
    stubborn.start(lambda _task: release.wait(5.0))
    t0 = time.monotonic()
    assert stubborn.stop(0.2) is False
    assert time.monotonic() - t0 < 1.0
    release.set()
    assert stubborn.wait(2.0)


def test_a_deleted_worker_stops_its_run_instead_of_emitting(qtbot):
    worker = Worker(name="deleted-under-test")
    go, seen = threading.Event(), []

    def job(task):
        go.wait(5.0)
        task.progress(1)  # the Worker is gone: this cancels the run
        seen.append(task.cancelled())

    worker.start(job)
    thread = worker.thread
    sip.delete(worker)
    go.set()
    thread.join(5.0)
    assert not thread.is_alive() and seen == [True]
