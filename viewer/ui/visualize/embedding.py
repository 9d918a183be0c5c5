"""Visualize tab "Embedding": the penultimate layer of a reference set in 2-D (PCA),
coloured by class, class-centre distances, and the live input as a moving point.

The live point costs one forward pass per shown result, only while this tab is on
screen, in its own thread on its own copy of the network; a newer input replaces one
waiting (nothing queues)."""

from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
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
from cnn_viewer.ui.visualize.invariance import COLOURS
from cnn_viewer.ui.visualize.jobs import work_copy
from cnn_viewer.ui.visualize.topimages import DataChooser

MAX_TABLE = 20  # classes in the distance table (the most frequent ones)


class EmbeddingTab(QWidget):
    live_ready = pyqtSignal(object, object, object)  # window model, its reader, features

    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.embedding = None
        self._reader: FeatureReader | None = None  # on its own copy of the network
        self._reader_of = None  # the window's model that copy was made from
        self._live_thread: threading.Thread | None = None
        self._pending = None
        self.live_ready.connect(self._live_done)
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
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.live = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("w", width=2),
                                       brush=pg.mkBrush("#ffd700"))  # fmt: skip
        self.trail = pg.PlotDataItem(pen=pg.mkPen("#ffd70088", width=1))
        self._trail: list[np.ndarray] = []
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addWidget(self.plot, 2)

    def model_changed(self, model) -> None:
        self.embedding = None
        self._reader = self._reader_of = None
        self._pending = None
        self._trail = []
        self.plot.clear()
        self.legend.clear()
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
        self.legend.clear()
        names = emb.class_names
        counts = {int(c): int((emb.classes == c).sum()) for c in emb.present}
        shown = sorted(counts, key=lambda c: -counts[c])
        for n, c in enumerate(shown):
            pts = emb.points[emb.classes == c]
            colour = pg.mkColor(COLOURS[n % len(COLOURS)]) if n < len(COLOURS) else pg.mkColor(
                pg.intColor(n, len(shown)))  # fmt: skip
            colour.setAlpha(170)
            item = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=6, pen=None,
                                      brush=pg.mkBrush(colour))  # fmt: skip
            self.plot.addItem(item)
            if n < 12:
                self.legend.addItem(item, names[c] if c < len(names) else str(c))
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
        if self._live_thread is not None and self._live_thread.is_alive():
            self._pending = image  # the newest waits; older ones are dropped
            return
        model = self.panel.model
        reader = self._reader if self._reader_of is model else None
        self._live_thread = threading.Thread(
            target=self._project, args=(reader, model, image), name="embedding-live", daemon=True
        )
        self._live_thread.start()

    def _project(self, reader, model, image) -> None:
        """In the live thread: (the first time) copy the network, then one forward pass."""
        try:
            reader = reader or FeatureReader(work_copy(model))
            feats = reader.read_image(image)
        except Exception as exc:  # noqa: BLE001 - shown in the tab, never a console
            feats = exc
        try:
            self.live_ready.emit(model, reader, feats)
        except RuntimeError:
            pass  # the tab is gone

    def _live_done(self, model, reader, feats) -> None:
        pending, self._pending = self._pending, None
        emb = self.embedding
        if model is self.panel.model:
            self._reader, self._reader_of = reader, model
            if emb is not None and isinstance(feats, Exception):
                self.nearest.setText(f"cannot place the input: {feats}")
            elif emb is not None:
                self._place(emb, feats)
        if pending is not None and self.isVisible():
            self._live_thread = None
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
        t = self._live_thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True
