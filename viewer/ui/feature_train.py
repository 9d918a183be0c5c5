"""The training studio in the window: a bottom dock "Train" (Ctrl+T, menu Train).

Closing the window cancels a running training and joins its thread with a bound.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject

ORDER = 20
DOCK_H = 360  # pixels
JOIN_S = 5.0  # how long closing the window waits for the training thread


class _CloseWatch(QObject):
    """Stops the training when the window closes (an event filter: main_window stays as is)."""

    def __init__(self, window, panel) -> None:
        super().__init__(window)
        self.panel = panel

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Close:
            self.panel.shutdown(JOIN_S)
        return False


def install(window) -> None:
    from viewer.ui.train_panel import TrainPanel

    panel = TrainPanel(window)
    window.train_panel = panel
    window.add_dock("train", "Train", panel)
    window.installEventFilter(_CloseWatch(window, panel))
    window.destroyed.connect(lambda *_: panel.worker.stop(JOIN_S))
    window.add_action(
        "train", "Open the training studio", ["Ctrl+T"], lambda: open_dock(window), "Train"
    )


def open_dock(window) -> None:
    """Show the Train dock, tall enough for its controls the first time."""
    from PyQt6.QtCore import Qt

    first = not window.docks["train"].isVisible()
    window.show_dock("train")
    if first:
        window.resizeDocks([window.docks["train"]], [DOCK_H], Qt.Orientation.Vertical)
