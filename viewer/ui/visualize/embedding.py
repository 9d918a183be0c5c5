"""Visualize tab "Embedding": the penultimate layer of a reference set in 2-D (PCA),
coloured by class, class-centre distances, and the live input as a moving point.

The live point costs one forward pass per shown result, only while this tab is on
screen, on its own Worker (cnn_viewer.ui.workers.worker) and its own copy of the
network; a newer input replaces one waiting (nothing queues)."""

from __future__ import annotations

import dataclasses
from html import escape

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.visualize.embedding import FeatureReader, build_embedding
from cnn_viewer.core.visualize.scan_data import default_digits_folder
from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.ui.visualize.topimages import DataChooser
from cnn_viewer.ui.workers.worker import Failure, Task, Worker

MAX_TABLE = 20  # classes in the distance table (the most frequent ones)
MAX_KEY = 30  # classes named in the colour key under the plot
# Ten colours far apart (matplotlib's tab10); more classes get evenly spaced hues.
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip


def class_colours(present: list[int]) -> dict[int, str]:
    """A colour for each class present, by its place in class order (stable, distinct)."""
    order = sorted(present)
    if len(order) <= len(CLASS_COLOURS):
        return {c: CLASS_COLOURS[i] for i, c in enumerate(order)}
    return {c: pg.mkColor(pg.intColor(i, len(order))).name() for i, c in enumerate(order)}


class EmbeddingTab(QWidget):
    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.embedding = None
        self._reader: FeatureReader | None = None  # on its own copy of the network
        self._reader_of = None  # the window's model that copy was made from
        self.live_job = Worker(self, name="embedding-live")
        self.live_job.returned.connect(lambda done: self._live_done(*done))
        self.live_job.errored.connect(self._live_failed)
        self._live_model = None  # the window's model the running pass is for
        self._pending = None
        self.data = DataChooser(videos=True)
        self.build_button = QPushButton("Build the embedding")
        self.build_button.clicked.connect(self.run)
        self.nearest = QLabel("")
        self.nearest.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setToolTip("distance between class centres in the penultimate layer")
        left = QVBoxLayout()
        left.addWidget(self.data)
        left.addWidget(self.build_button)
        left.addWidget(self.nearest)
        left.addWidget(QLabel("Distances between class centres"))
        left.addWidget(self.table, 1)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # The colour key sits under the plot, every class in order (a legend inside the
        # plot was cut by its height and listed the classes by count).
        self.key = QLabel("")
        self.key.setWordWrap(True)
        self.live = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("w", width=2),
                                       brush=pg.mkBrush("#ffd700"))  # fmt: skip
        self.trail = pg.PlotDataItem(pen=pg.mkPen("#ffd70088", width=1))
        self._trail: list[np.ndarray] = []
        right = QVBoxLayout()
        right.addWidget(self.plot, 1)
        right.addWidget(self.key)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addLayout(right, 2)

    def model_changed(self, model) -> None:
        self.embedding = None
        self._reader = self._reader_of = None
        self._pending = None
        self._trail = []
        self.plot.clear()
        self.key.setText("")
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.nearest.setText("Build the embedding, then draw: the star is your input.")
        if model.is_digits:
            self.data.set_data("digits", str(default_digits_folder()))

    def select_unit(self, layer: str, channel: int) -> None:
        pass

    def run(self) -> None:
        try:
            spec = self.data.spec()
        except ValueError as exc:
            self.panel.bar.idle(str(exc))
            return
        panel = self.panel
        panel.run(
            "Embedding",
            lambda h: build_embedding(
                panel.work_model(), spec, on_progress=h.progress, should_stop=h.stopped
            ),  # fmt: skip
            self.show_embedding,
        )

    def show_embedding(self, emb) -> None:
        self.embedding = emb
        self._trail = []
        self.plot.clear()
        names = emb.class_names
        counts = {int(c): int((emb.classes == c).sum()) for c in emb.present}
        shown = sorted(counts, key=lambda c: -counts[c])
        self.colours = colours = class_colours(list(counts))
        for c in sorted(counts):
            pts = emb.points[emb.classes == c]
            colour = pg.mkColor(colours[c])
            colour.setAlpha(170)
            item = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=6, pen=None,
                                      brush=pg.mkBrush(colour))  # fmt: skip
            self.plot.addItem(item)
        self.key.setText(self._key_text(names, sorted(counts)))
        self.plot.addItem(self.trail)
        self.plot.addItem(self.live)
        what = "true labels" if emb.labelled else "the model's predictions"
        self.plot.setLabel("bottom", f"PC 1 ({emb.explained[0]:.0%} of the variance)")
        self.plot.setLabel("left", f"PC 2 ({emb.explained[1]:.0%})")
        self.plot.setTitle(f"{emb.layer} input, {len(emb.points)} images, coloured by {what}")
        self._fill_table(emb, shown[:MAX_TABLE])
        result = self.panel.window.last_result
        if result is not None and result.network_image is not None:
            self.on_result(result)

    def _key_text(self, names: list[str], classes: list[int]) -> str:
        def name(c: int) -> str:
            return escape(names[c] if c < len(names) else str(c))

        parts = [
            f"<span style='color:{self.colours[c]}'>&#9632;</span>&nbsp;{name(c)}"
            for c in classes[:MAX_KEY]
        ]
        more = len(classes) - MAX_KEY
        return " &nbsp; ".join(parts) + (f" &nbsp; … and {more} more" if more > 0 else "")

    def _fill_table(self, emb, classes: list[int]) -> None:
        index = {int(c): i for i, c in enumerate(emb.present)}
        names = [emb.class_names[c][:12] for c in classes]
        self.table.setRowCount(len(classes))
        self.table.setColumnCount(len(classes))
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(names)
        d = emb.distances
        scale = d.max() or 1.0
        for r, a in enumerate(classes):
            for c, b in enumerate(classes):
                value = d[index[a], index[b]]
                item = QTableWidgetItem(f"{value:.1f}")
                shade = int(255 - 120 * (1 - value / scale)) if a != b else 255
                item.setBackground(pg.mkColor(shade, shade, 255))
                item.setForeground(pg.mkColor("#000"))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    # ---- the live input ----------------------------------------------------------------
    def on_result(self, result) -> None:
        """A shown Result (GUI thread): project its input when this tab is on screen."""
        if self.embedding is None or result.network_image is None or not self.isVisible():
            return
        self._start_live(result.network_image)

    def _start_live(self, image: np.ndarray) -> None:
        if self.live_job.busy:
            self._pending = image  # the newest waits; older ones are dropped
            return
        model = self.panel.model
        reader = self._reader if self._reader_of is model else None
        self._live_model = model
        self.live_job.start(self._project, reader, model, image)

    def _project(self, task: Task, reader, model, image):
        """In the live thread: (the first time) copy the network, then one forward pass."""
        if reader is None:
            twin = dataclasses.replace(model, module=private_copy(model.module))
            reader = FeatureReader(twin)
        return model, reader, reader.read_image(image)

    def _live_done(self, model, reader, feats) -> None:
        if model is self.panel.model:
            self._reader, self._reader_of = reader, model
            if self.embedding is not None:
                self._place(self.embedding, feats)
        self._next_live()

    def _live_failed(self, failure: Failure) -> None:
        if self._live_model is self.panel.model and self.embedding is not None:
            self.nearest.setText(f"cannot place the input: {failure.message}")
        self._next_live()

    def _next_live(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and self.isVisible():
            self._start_live(pending)

    def _place(self, emb, feats) -> None:
        xy = emb.project(feats)
        self.live.setData([xy[0]], [xy[1]])
        self._trail = [*self._trail[-29:], xy]
        trail = np.array(self._trail)
        self.trail.setData(trail[:, 0], trail[:, 1])
        near = emb.nearest(feats)[:3]
        names = emb.class_names
        self.nearest.setText(
            "Your input (★) is nearest to the centres of: "
            + ", ".join(f"{names[c]} ({d:.1f})" for c, d in near)
        )

    def stop_live(self, timeout: float) -> bool:
        self._pending = None
        return self.live_job.stop(timeout)
