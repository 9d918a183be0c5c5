"""Widgets belong to the GUI thread: a check for code that touches them.

Qt widgets are not thread-safe; touching one from a worker thread corrupts state or
crashes later, far from the cause. ``assert_gui_thread()`` at the top of a slot that
touches widgets turns that into an immediate RuntimeError naming the caller's thread.
Workers hand results over with a queued signal instead (see MainWindow's wake-up).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from PyQt6.QtCore import QCoreApplication, QThread


class WrongThreadError(RuntimeError):
    """Widget code ran outside the GUI thread."""


def on_gui_thread() -> bool:
    """True in the thread that owns the QApplication (or when there is none yet)."""
    app = QCoreApplication.instance()
    return app is None or QThread.currentThread() is app.thread()


def assert_gui_thread(what: str = "this code") -> None:
    """Raise WrongThreadError unless called in the GUI thread (cost: about a microsecond)."""
    if not on_gui_thread():
        raise WrongThreadError(
            f"{what} touches widgets but ran in thread {threading.current_thread().name!r}; "
            "only the GUI thread may: hand the data over with a queued signal"
        )


def gui_only(method: Callable) -> Callable:
    """Decorator: ``assert_gui_thread`` before each call of ``method``."""

    @functools.wraps(method)
    def guarded(*args, **kwargs):
        assert_gui_thread(method.__qualname__)
        return method(*args, **kwargs)

    return guarded


def guard_methods(obj: object, names: list[str]) -> None:
    """Wrap the bound methods ``names`` of one object with ``gui_only`` (in place)."""
    for name in names:
        setattr(obj, name, gui_only(getattr(obj, name)))
