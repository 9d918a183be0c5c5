"""The training studio in the window: a bottom dock "Train" (Ctrl+T, menu Train).

The window's shutdown (on close) cancels a running training and joins its thread with
the window's bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnn_viewer.ui.train.panel import TrainPanel

DOCK_H = 360  # pixels


def install(window) -> TrainPanel:
    from cnn_viewer.ui.train.panel import TrainPanel

    panel = TrainPanel(window)
    window.add_dock("train", "Train", panel)
    window.events.shutdown.connect(panel.shutdown)
    window.add_action(
        "train", "Open the training studio", ["Ctrl+T"], lambda: open_dock(window), "Train"
    )
    return panel


def open_dock(window) -> None:
    """Show the Train dock, tall enough for its controls the first time."""
    from PyQt6.QtCore import Qt

    first = not window.docks["train"].isVisible()
    window.show_dock("train")
    if first:
        window.resizeDocks([window.docks["train"]], [DOCK_H], Qt.Orientation.Vertical)
