"""A detector's boxes (class and score) and a segmenter's translucent class overlay
drawn over the frame view, the score threshold control, and the class legend. GUI
thread only; the arrays come finished from the engine (Result.detections,
Result.segments, Result.segment_rgba)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QPen
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.dataflow.frames import Result

LEGEND_ROWS = 8
DEFAULT_MIN_SCORE = 0.5


def shown_detections(result: Result, min_score: float) -> list[dict]:
    """The detections at or above ``min_score`` (best first)."""
    return [d for d in result.detections or [] if d["score"] >= min_score]


class ObjectControls(QWidget):
    """'min score' for boxes, and the legend of the classes shown (colour, name, share)."""

    min_score_changed = pyqtSignal(float)
    box_map_changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1.0)
        self.spin.setSingleStep(0.05)
        self.spin.setDecimals(2)
        self.spin.setValue(DEFAULT_MIN_SCORE)
        self.spin.setToolTip("boxes scoring less are hidden (the list on the right too)")
        self.spin.valueChanged.connect(self.min_score_changed.emit)
        self.score_row = QWidget()
        row = QHBoxLayout(self.score_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("min score"))
        row.addWidget(self.spin)
        row.addStretch(1)
        self.method = QComboBox()
        self.method.addItem("Grad-CAM", "gradcam")
        self.method.addItem("EigenCAM", "eigencam")
        self.method.setToolTip("click a box: the map of its score (EigenCAM: no gradient)")
        self.layer = QComboBox()
        self.layer.setToolTip("the layer the box map is taken at")
        self.method.currentIndexChanged.connect(self.box_map_changed.emit)
        self.layer.currentIndexChanged.connect(self.box_map_changed.emit)
        map_row = QHBoxLayout()
        map_row.addWidget(QLabel("box map"))
        map_row.addWidget(self.method)
        map_row.addWidget(self.layer, 1)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.score_row)
        self.hint = QLabel("click a box for its map")
        self.hint.setObjectName("dim")
        layout.addWidget(self.hint)
        self.map_widget = QWidget()
        self.map_widget.setLayout(map_row)
        map_row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.map_widget)
        layout.addWidget(self.legend)
        self.set_task("classify")

    @property
    def min_score(self) -> float:
        return float(self.spin.value())

    def set_task(self, task: str, layers: list[str] | None = None, cam: str | None = None) -> None:
        """Show the controls for ``task``; ``layers``: the box map's layer choices."""
        self.layer.blockSignals(True)
        self.layer.clear()
        for name in layers or []:
            self.layer.addItem(name, name)
        if cam is not None and cam in (layers or []):
            self.layer.setCurrentIndex((layers or []).index(cam))
        self.layer.blockSignals(False)
        for w in (self.score_row, self.hint, self.map_widget):
            w.setVisible(task == "detect")
        self.legend.setVisible(task == "segment")
        self.setVisible(task != "classify")

    def set_legend(self, segments: list[dict], colours: np.ndarray) -> None:
        rows = []
        shown = [s for s in segments if s["index"] != 0]  # background: no colour
        for s in shown[:LEGEND_ROWS]:
            r, g, b = (int(v) for v in colours[s["index"]])
            swatch = (
                f"<span style='background-color:#{r:02x}{g:02x}{b:02x}'>&nbsp;&nbsp;&nbsp;</span>"
            )
            rows.append(f"{swatch} {s['label']} {s['fraction']:.0%}")
        self.legend.setText("<br>".join(rows) or "background only")


class ObjectOverlay:
    """Boxes and the class overlay on a FrameView's ViewBox (frame pixel coordinates)."""

    def __init__(self, box: pg.ViewBox) -> None:
        self.box = box
        self.mask = pg.ImageItem(axisOrder="row-major")
        self.mask.setZValue(5)
        box.addItem(self.mask)
        self.rects: list[QGraphicsRectItem] = []
        self.texts: list[QGraphicsSimpleTextItem] = []

    def clear(self) -> None:
        self.mask.clear()
        for item in (*self.rects, *self.texts):
            item.setVisible(False)

    def show(self, result: Result, min_score: float, colours: np.ndarray) -> None:
        """Draw ``result``'s boxes scoring ``min_score`` or more, or its class overlay."""
        self.clear()
        if result.segment_rgba is not None and result.frame_image is not None:
            h, w = result.frame_image.shape[:2]
            self.mask.setImage(result.segment_rgba, autoLevels=False)
            self.mask.setRect(QRectF(0, 0, w, h))
        for i, d in enumerate(shown_detections(result, min_score)):
            rect, text = self._item(i)
            x0, y0, x1, y1 = d["box"]
            r, g, b = (int(v) for v in colours[d["index"] % len(colours)])
            pen = QPen(QColor(r, g, b))
            pen.setWidth(2)
            pen.setCosmetic(True)
            rect.setPen(pen)
            rect.setRect(x0, y0, x1 - x0, y1 - y0)
            rect.setVisible(True)
            text.setText(f"{d['label']} {d['score']:.2f}")
            text.setBrush(QBrush(QColor(r, g, b)))
            text.setPos(x0, y0)
            text.setVisible(True)

    def _item(self, i: int) -> tuple[QGraphicsRectItem, QGraphicsSimpleTextItem]:
        while len(self.rects) <= i:
            rect, text = QGraphicsRectItem(), QGraphicsSimpleTextItem()
            rect.setZValue(10)
            text.setZValue(11)
            text.setFlag(text.GraphicsItemFlag.ItemIgnoresTransformations)
            self.box.addItem(rect)
            self.box.addItem(text)
            self.rects.append(rect)
            self.texts.append(text)
        return self.rects[i], self.texts[i]
