"""Waiting in window tests: until the pad's latest drawing has its answer on screen; where
a widget sits inside one of its ancestors."""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRect


def wait_pad_answer(qtbot, window, timeout: int = 5000) -> None:
    """Until the window's latest result is for the pad's latest drawing, and not empty."""
    qtbot.waitUntil(
        lambda: (
            window.last_result is not None
            and window.last_result.frame_id == window.pad_frame_id
            and not window.last_result.empty
        ),
        timeout=timeout,
    )


def rect_in(ancestor, widget) -> QRect:
    """``widget``'s rectangle in ``ancestor``'s coordinates."""
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())
