"""The Visualize dock (Ctrl+Shift+V, menu Visualize): feature visualisation, DeepDream,
top images per unit, the embedding view and the invariance probe.

Clicking a mosaic tile aims the tabs at that layer and channel. Closing the window
cancels the running job and joins its thread with a bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt

if TYPE_CHECKING:
    from cnn_viewer.ui.visualize.panel import VisualizePanel

DOCK_H = 380  # pixels, the first time the dock opens
JOIN_S = 3.0  # how long closing the window waits for a job's thread


def install(window) -> VisualizePanel:
    from cnn_viewer.ui.visualize.panel import VisualizePanel

    panel = VisualizePanel(window)
    window.add_dock("visualize", "Visualize", panel)
    window.events.shutdown.connect(lambda _timeout: panel.shutdown(JOIN_S))
    window.layers_panel.unit_clicked.connect(panel.select_unit)
    window.events.engine_changed.connect(panel.model_changed)
    window.events.result_shown.connect(panel.embedding.on_result)
    window.add_action(
        "visualize", "Open Visualize", ["Ctrl+Shift+V"], lambda: open_dock(window), "Visualize"
    )
    if window.state.model.is_digits:
        window.add_action(
            "visualize_digit",
            "What does a 2 look like?",
            [],
            lambda: (
                open_dock(window),
                panel.tabs.setCurrentWidget(panel.featurevis),
                panel.featurevis.run_class(2),
            ),  # fmt: skip
            "Visualize",
        )
    return panel


def open_dock(window) -> None:
    """Show the Visualize dock, tall enough for its controls the first time."""
    dock = window.docks["visualize"]
    first = not dock.isVisible()
    window.show_dock("visualize")
    if first:
        window.resizeDocks([dock], [DOCK_H], Qt.Orientation.Vertical)
