"""Visualize tab "Invariance": class probabilities while the input shifts, turns, grows."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from cnn_viewer.core.visualize.invariance import default_values, identity_value, sweep
from cnn_viewer.ui.visualize.jobs import ImageView
from cnn_viewer.ui.widgets.form_controls import spin_box

TRANSFORM_TEXT = [("Shift left-right (pixels)", "shift_x"), ("Shift up-down (pixels)", "shift_y"),
                  ("Rotation (degrees)", "rotation"), ("Scale (factor)", "scale")]  # fmt: skip
COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#bfef45", "#fabed4", "#469990"]  # fmt: skip


class InvarianceTab(QWidget):
    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.result = None
        self.kind = QComboBox()
        for text, key in TRANSFORM_TEXT:
            self.kind.addItem(text, key)
        self.count = spin_box(3, 401, 41, "how many transform values in the sweep")
        self.top = spin_box(1, 10, 3, "plot this many top classes (plus any that wins on the way)")
        self.run_button = QPushButton("Sweep the current input")
        self.run_button.clicked.connect(self.run)
        form = QGridLayout()
        for r, (text, w) in enumerate((("Transform", self.kind), ("Values", self.count),
                                       ("Classes", self.top))):  # fmt: skip
            form.addWidget(QLabel(text), r, 0)
            form.addWidget(w, r, 1)
        form.addWidget(self.run_button, 3, 0, 1, 2)
        self.sample = ImageView(120)
        self.sample_label = QLabel("")
        self.sample_label.setObjectName("dim")
        form.addWidget(self.sample, 4, 0, 1, 2)
        form.addWidget(self.sample_label, 5, 0, 1, 2)
        form.setRowStretch(4, 1)
        self.plot = pg.PlotWidget()
        self.plot.setYRange(0, 1)
        self.plot.setLabel("left", "probability")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#888", width=1))
        self.cursor.sigPositionChanged.connect(self._cursor_moved)
        self.plot.addItem(self.cursor)
        lay = QHBoxLayout(self)
        lay.addLayout(form, 1)
        lay.addWidget(self.plot, 3)

    def model_changed(self, model) -> None:
        self.result = None
        self.plot.clear()
        self.legend.clear()
        self.plot.addItem(self.cursor)
        self.sample.show_image(None)
        self.sample_label.setText("")

    def select_unit(self, layer: str, channel: int) -> None:
        pass

    def run(self) -> None:
        result = self.panel.window.last_result
        image = None if result is None else result.network_image
        if image is None:
            self.panel.bar.idle("no input yet: draw a digit or choose a source first")
            return
        kind = self.kind.currentData()
        values = default_values(kind, self.panel.model.input_size, self.count.value())
        top, panel = self.top.value(), self.panel
        panel.run(
            f"Invariance ({kind})",
            lambda h: sweep(
                panel.work_model(),
                image,
                kind,
                values,
                top,
                on_progress=h.progress,
                should_stop=h.stopped,
            ),  # fmt: skip
            self.show_sweep,
        )

    def show_sweep(self, result) -> None:
        self.result = result
        self.plot.clear()
        self.legend.clear()
        unit = {"rotation": "degrees", "scale": "factor"}.get(result.kind, "pixels")
        self.plot.setLabel("bottom", f"{result.kind} ({unit})")
        for n, c in enumerate(result.classes):
            pen = pg.mkPen(COLOURS[n % len(COLOURS)], width=2)
            self.plot.plot(result.values, result.curve(c), pen=pen, name=result.labels[c])
        if result.kind == "scale":
            self.plot.setLogMode(x=True, y=False)
        else:
            self.plot.setLogMode(x=False, y=False)
        self.plot.addItem(self.cursor)
        identity = identity_value(result.kind)
        self.cursor.setValue(np.log10(identity) if result.kind == "scale" else identity)
        self._cursor_moved()

    def _cursor_moved(self) -> None:
        r = self.result
        if r is None:
            return
        x = self.cursor.value()
        value = 10**x if r.kind == "scale" else x
        i = int(np.argmin(np.abs(r.values - value)))
        self.sample.show_image(r.images[i])
        best = int(r.probs[i].argmax())
        self.sample_label.setText(
            f"{r.kind} {r.values[i]:.3g}: {r.labels[best]} {r.probs[i, best]:.1%}"
        )
