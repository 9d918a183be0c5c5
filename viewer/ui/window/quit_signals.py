"""Ctrl+C and SIGTERM close the viewer cleanly (workers stopped and joined, exit status 0).

Without this, Python's SIGINT handler raises KeyboardInterrupt inside whatever Qt slot
runs next: measured here (PyQt6 6.11), a traceback from MainWindow._on_result is printed
and the viewer keeps running, so Ctrl+C does not quit it (PyQt versions that treat an
exception escaping a slot as fatal abort instead). SIGTERM kills the process without
stopping the camera or the workers.
"""

from __future__ import annotations

import signal

from PyQt6.QtCore import QCoreApplication, QTimer

POLL_MS = 200  # Python runs signal handlers only between bytecodes: wake it this often

_installed: dict[int, object] = {}


def install_quit_signals(app: QCoreApplication | None = None) -> None:
    """Close every window on SIGINT/SIGTERM (main thread only; once per process)."""
    app = app or QCoreApplication.instance()
    if app is None or _installed:
        return

    def on_signal(signum, frame) -> None:
        closer = getattr(app, "closeAllWindows", None)
        if closer is not None:
            closer()  # each window's closeEvent stops its source and workers
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        _installed[sig] = signal.signal(sig, on_signal)
    timer = QTimer(app)
    timer.setObjectName("quit-signal-poll")
    timer.timeout.connect(lambda: None)
    timer.start(POLL_MS)  # owned by the app (its parent)


def remove_quit_signals() -> None:
    """Put back the handlers that were there before (tests)."""
    for sig, previous in _installed.items():
        signal.signal(sig, previous)
    _installed.clear()
    app = QCoreApplication.instance()
    timer = app.findChild(QTimer, "quit-signal-poll") if app is not None else None
    if timer is not None:
        timer.stop()
        timer.deleteLater()
