"""Small views for the inspector: an image that reports the pixel under the mouse and can
draw a box, and a histogram."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QWidget

from cnn_viewer.ui.widgets.pixel_view import PixelView


class HoverView(PixelView):
    """A PixelView that emits ``hovered(x, y)`` for the image pixel under the mouse
    (-1, -1 when it leaves) and draws ``box`` = (y0, x0, y1, x1) in image pixels."""

    hovered = pyqtSignal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMouseTracking(True)
        self.box: tuple[int, int, int, int] | None = None
        self.mark: tuple[int, int] | None = None  # (y, x) of a pixel to outline

    def set_box(self, box: tuple[int, int, int, int] | None) -> None:
        if box != self.box:
            self.box = box
            self.update()

    def set_mark(self, mark: tuple[int, int] | None) -> None:
        if mark != self.mark:
            self.mark = mark
            self.update()

    def _pixel(self, event: QMouseEvent) -> tuple[int, int] | None:
        if not self.arrays:
            return None
        h, w = self.arrays[0].shape[:2]
        pos = event.position()
        x = int(pos.x() * w / max(1, self.width()))
        y = int(pos.y() * h / max(1, self.height()))
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        p = self._pixel(event)
        self.hovered.emit(*(p or (-1, -1)))

    def leaveEvent(self, event) -> None:
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.arrays or (self.box is None and self.mark is None):
            return
        h, w = self.arrays[0].shape[:2]
        sx, sy = self.width() / w, self.height() / h
        painter = QPainter(self)
        for rect, colour in (
            (self.box, QColor(80, 220, 255)),
            (self.mark and (self.mark[0], self.mark[1], self.mark[0] + 1, self.mark[1] + 1),
             QColor(255, 255, 255)),
        ):  # fmt: skip
            if rect is None:
                continue
            y0, x0, y1, x1 = rect
            painter.setPen(QPen(colour, 2))
            painter.drawRect(QRectF(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy))
        painter.end()


class HistogramView(QWidget):
    """Bars of a histogram (counts, edges), zero marked; the edges' range written below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self.setMinimumHeight(70)

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray) -> None:
        self.counts, self.edges = counts, edges
        self.update()

    def paintEvent(self, event) -> None:
        if self.counts is None or not self.counts.size:
            return
        painter = QPainter(self)
        w, h = self.width(), self.height() - 14
        peak = max(1, int(self.counts.max()))
        n = self.counts.size
        bar = w / n
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(240, 140, 60))
        for i, c in enumerate(self.counts):
            # sqrt scale: a layer after ReLU is mostly zeros, which would flatten the rest
            bh = h * np.sqrt(c / peak)
            painter.drawRect(QRectF(i * bar, h - bh, max(1.0, bar - 1), bh))
        lo, hi = float(self.edges[0]), float(self.edges[-1])
        painter.setPen(QColor(200, 200, 200))
        if lo < 0 < hi:
            zx = w * (0 - lo) / (hi - lo)
            painter.drawLine(int(zx), 0, int(zx), h)
        painter.drawText(0, h + 12, f"{lo:.3g}")
        text = f"{hi:.3g}"
        painter.drawText(w - painter.fontMetrics().horizontalAdvance(text), h + 12, text)
        painter.end()
