"""Slots that touch widgets must run in the GUI thread: the check, and the window's render
called from a worker thread is refused before it touches a widget."""

from __future__ import annotations

import threading

from cnn_viewer.ui.workers.gui_thread import (
    WrongThreadError,
    assert_gui_thread,
    guard_methods,
    gui_only,
)


def in_thread(fn) -> BaseException | None:
    """Run ``fn`` in a plain worker thread; the exception it raised, or None."""
    caught: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            caught.append(exc)

    t = threading.Thread(target=run, name="worker-under-test")
    t.start()
    t.join(5)
    assert not t.is_alive()
    return caught[0] if caught else None


def test_the_check_passes_on_the_gui_thread_and_fails_elsewhere(qtbot):
    assert_gui_thread("the test")  # the GUI thread: fine
    exc = in_thread(lambda: assert_gui_thread("the panel update"))
    assert isinstance(exc, WrongThreadError)
    assert "the panel update" in str(exc) and "'worker-under-test'" in str(exc)
    assert "queued signal" in str(exc)


def test_gui_only_decorator(qtbot):
    calls = []

    @gui_only
    def touch(x):
        calls.append(x)
        return x * 2

    assert touch(2) == 4
    exc = in_thread(lambda: touch(3))
    assert isinstance(exc, WrongThreadError) and "touch" in str(exc)
    assert calls == [2]  # the worker's call never reached the body


def test_window_render_from_a_worker_thread_is_refused(qtbot, window):
    """What MainWindow.render / _on_result get with one line, assert_gui_thread(...), at
    their top; guard_methods adds the same check from outside for this test."""
    window.draw_example()
    qtbot.waitUntil(lambda: window.last_result is not None and bool(window.last_result.top))
    result = window.last_result
    guard_methods(window, ["render", "_on_result"])
    shown = window.shown
    exc = in_thread(lambda: window.render(result))
    assert isinstance(exc, WrongThreadError) and "render" in str(exc)
    assert window.shown == shown  # nothing was touched
    window.render(result)  # the GUI thread renders as before
    assert window.shown == shown + 1
    # The inference thread's path stays legal: it wakes the GUI thread with a queued
    # signal, and the guarded _on_result and render run there.
    window.draw_example()
    qtbot.waitUntil(lambda: window.shown > shown + 1, timeout=5000)
