"""Ctrl+C (SIGINT) and SIGTERM close the window cleanly: its workers stop."""

from __future__ import annotations

import os
import signal

import pytest

from cnn_viewer.ui.window.quit_signals import install_quit_signals, remove_quit_signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_closes_the_window_and_stops_its_workers(qtbot, window, sig):
    before = signal.getsignal(sig)
    install_quit_signals()
    try:
        assert signal.getsignal(sig) is not before
        window.draw_example()
        qtbot.waitUntil(lambda: window.shown > 0, timeout=5000)
        os.kill(os.getpid(), sig)  # handled in the main thread at the next poll
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
        qtbot.waitUntil(lambda: not window.worker.is_alive(), timeout=2000)
    finally:
        remove_quit_signals()
    assert signal.getsignal(sig) is before  # pytest's own Ctrl+C handling is back
