"""The drawing pad: left button draws, right button erases, Delete/C clears."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPoint, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QWidget

from cnn_viewer.core.sources.examples import draw_digit

PAD_SIZE = 280
PEN_WIDTH = 22
ERASER_WIDTH = 44
FROZEN_NOTE = "frozen: Space resumes drawing"


class DrawingPad(QWidget):
    """A PAD_SIZE square canvas of white ink on black.

    ``changed`` is emitted (GUI thread) after every stroke segment and on clear;
    ``image()`` returns a fresh HxW uint8 copy the receiver may keep.
    """

    changed = pyqtSignal()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        self.update()  # enabled or not: the frozen note comes and goes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(PAD_SIZE, PAD_SIZE)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit: left button draws, right button erases, Delete clears")
        self._canvas = QImage(PAD_SIZE, PAD_SIZE, QImage.Format.Format_Grayscale8)
        self._canvas.fill(0)
        self._last: QPoint | None = None
        self._button = Qt.MouseButton.NoButton
        self._hint = True

    # ---- content -------------------------------------------------------------------
    def image(self) -> np.ndarray:
        """The canvas as a PAD_SIZE x PAD_SIZE uint8 array (a copy)."""
        ptr = self._canvas.constBits()
        ptr.setsize(self._canvas.sizeInBytes())
        rows = np.frombuffer(ptr, np.uint8).reshape(PAD_SIZE, self._canvas.bytesPerLine())
        return rows[:, :PAD_SIZE].copy()

    def set_image(self, image: np.ndarray) -> None:
        """Replace the canvas with an HxW uint8 image (resized to the pad)."""
        import cv2

        image = np.ascontiguousarray(cv2.resize(image, (PAD_SIZE, PAD_SIZE)), np.uint8)
        self._canvas = QImage(
            image.data, PAD_SIZE, PAD_SIZE, PAD_SIZE, QImage.Format.Format_Grayscale8
        ).copy()
        self._hint = False
        self.update()
        self.changed.emit()

    def clear(self) -> None:
        self._canvas.fill(0)
        self._hint = True
        self.update()
        self.changed.emit()

    def draw_example(self, digit: int) -> None:
        self.set_image(draw_digit(digit, (PAD_SIZE, PAD_SIZE), thickness=PEN_WIDTH))

    # ---- mouse -----------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._button = event.button()
            self._last = event.position().toPoint()
            self._stroke(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            point = event.position().toPoint()
            self._stroke(self._last, point)
            self._last = point

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._last = None
        self._button = Qt.MouseButton.NoButton

    def _stroke(self, a: QPoint, b: QPoint) -> None:
        erase = self._button == Qt.MouseButton.RightButton
        painter = QPainter(self._canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(
            QColor(0, 0, 0) if erase else QColor(255, 255, 255),
            ERASER_WIDTH if erase else PEN_WIDTH,
        )
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()
        self._hint = False
        self.update()
        self.changed.emit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self._canvas)
        painter.setPen(QColor(90, 94, 104))
        painter.drawRect(0, 0, PAD_SIZE - 1, PAD_SIZE - 1)
        if not self.isEnabled():  # frozen: say so, or drawing would be ignored silently
            painter.fillRect(0, 0, PAD_SIZE, 26, QColor(38, 40, 46, 220))
            painter.setPen(QColor(255, 166, 43))
            painter.drawText(0, 0, PAD_SIZE, 26, Qt.AlignmentFlag.AlignCenter, FROZEN_NOTE)
        elif self._hint:
            painter.setPen(QColor(150, 154, 164))
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "draw a digit here\n(left: draw, right: erase)",
            )
        painter.end()
