"""A widget that paints finished uint8 images, scaled, with nothing else in the way.

Measured against one pyqtgraph GraphicsView + ImageItem per image: painting the digit
CNN's window took 14 ms per result with those and a few ms with this (README). A
QImage wraps the array without copying; Qt scales it while painting.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QWidget

_FORMATS = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
            4: QImage.Format.Format_RGBA8888}  # fmt: skip
HIGHLIGHT = "#3ddcff"  # the selected tile's outline: cyan, apart from every colormap


def to_qimage(array: np.ndarray) -> QImage:
    """H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 -> QImage on the same
    memory. The caller keeps ``array`` alive as long as the image is used."""
    channels = 1 if array.ndim == 2 else array.shape[2]
    h, w = array.shape[:2]
    return QImage(array.data, w, h, array.strides[0], _FORMATS[channels])


class PixelView(QWidget):
    """Paints one or more images stacked (later ones over earlier, with their alpha),
    stretched to the widget. ``pixel_clicked(x, y)`` gives the image pixel clicked."""

    pixel_clicked = pyqtSignal(int, int)

    def __init__(self, smooth: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.smooth = smooth
        self.arrays: list[np.ndarray] = []
        self._images: list[QImage] = []
        self.highlight: tuple[int, int, int, int] | None = None  # x, y, w, h in image pixels

    def set_highlight(self, rect: tuple[int, int, int, int] | None) -> None:
        """Outline this rectangle of the image (e.g. the selected tile), or none."""
        if rect != self.highlight:
            self.highlight = rect
            self.update()

    def set_images(self, *arrays: np.ndarray | None) -> None:
        """Show these images (None entries are skipped); each must be C-contiguous uint8."""
        self.arrays = [np.ascontiguousarray(a) for a in arrays if a is not None]
        self._images = [to_qimage(a) for a in self.arrays]
        self.update()

    def paintEvent(self, event) -> None:
        if not self._images:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        target = QRectF(self.rect())
        for image in self._images:
            painter.drawImage(target, image)
        if self.highlight is not None and self.arrays:
            h, w = self.arrays[0].shape[:2]
            sx, sy = self.width() / w, self.height() / h
            x, y, rw, rh = self.highlight
            painter.setPen(QPen(QColor(HIGHLIGHT), 2))
            painter.drawRect(QRectF(x * sx - 1, y * sy - 1, rw * sx + 2, rh * sy + 2))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.arrays or event.button() != Qt.MouseButton.LeftButton:
            return
        h, w = self.arrays[0].shape[:2]
        pos = event.position()
        x = int(pos.x() * w / max(1, self.width()))
        y = int(pos.y() * h / max(1, self.height()))
        if 0 <= x < w and 0 <= y < h:
            self.pixel_clicked.emit(x, y)
