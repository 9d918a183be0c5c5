"""The left panel: the pad, or the camera / video / image frame with the network's crop."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import (
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.ui.widgets.pad import PAD_SIZE, DrawingPad

FRAME_VIEW_WIDTH = 300


class FrameView(QWidget):
    """A captured frame, with the region the network sees outlined."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsView()
        self.view.setBackground(None)
        self.view.setFixedSize(FRAME_VIEW_WIDTH, PAD_SIZE)
        self.box = pg.ViewBox(
            lockAspect=True, invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0.0
        )
        self.view.setCentralItem(self.box)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self.crop = QGraphicsRectItem()
        pen = QPen(QColor(255, 166, 43))
        pen.setWidth(2)
        pen.setCosmetic(True)
        self.crop.setPen(pen)
        self.box.addItem(self.crop)
        self.caption = QLabel("no frame yet")
        self.caption.setObjectName("dim")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        layout.addWidget(self.caption)
        self._shape: tuple[int, ...] | None = None

    def show_frame(self, image: np.ndarray, crop: tuple[int, int, int, int]) -> None:
        self.image.setImage(image, autoLevels=False, levels=(0, 255))
        if image.shape != self._shape:
            self._shape = image.shape
            h, w = image.shape[:2]
            self.box.setRange(xRange=(0, w), yRange=(0, h), padding=0)
        x0, y0, x1, y1 = crop
        self.crop.setRect(x0, y0, x1 - x0, y1 - y0)


class SourcePanel(QWidget):
    """Stacks the pad and the frame view; shows media controls for files and cameras."""

    prev_clicked = pyqtSignal()
    next_clicked = pyqtSignal()
    pause_clicked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pad = DrawingPad()
        self.clear_button = QPushButton("Clear  (Del)")
        self.example_button = QPushButton("Example  (E)")
        pad_page = QWidget()
        pv = QVBoxLayout(pad_page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.pad)
        row = QHBoxLayout()
        row.addWidget(self.clear_button)
        row.addWidget(self.example_button)
        pv.addLayout(row)
        self.pad_hint = QLabel(
            "Draw over it or clear it: left button draws, right erases; E: next example"
        )
        self.pad_hint.setObjectName("dim")
        self.pad_hint.setWordWrap(True)
        self.pad_hint.setMaximumWidth(PAD_SIZE)
        pv.addWidget(self.pad_hint)

        self.frame_view = FrameView()
        self.prev_button = QPushButton("◀ Prev")
        self.pause_button = QPushButton("Pause  (P)")
        self.next_button = QPushButton("Next ▶")
        self.prev_button.clicked.connect(self.prev_clicked)
        self.next_button.clicked.connect(self.next_clicked)
        self.pause_button.clicked.connect(self.pause_clicked)
        frame_page = QWidget()
        fv = QVBoxLayout(frame_page)
        fv.setContentsMargins(0, 0, 0, 0)
        fv.addWidget(self.frame_view)
        controls = QHBoxLayout()
        for b in (self.prev_button, self.pause_button, self.next_button):
            controls.addWidget(b)
        fv.addLayout(controls)

        self.stack = QStackedWidget()
        self.stack.addWidget(pad_page)
        self.stack.addWidget(frame_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)

    def show_pad(self) -> None:
        self.stack.setCurrentIndex(0)

    def show_frames(self, kind: str) -> None:
        """``kind``: 'camera', 'video' or 'images' (which controls make sense)."""
        self.stack.setCurrentIndex(1)
        self.prev_button.setVisible(kind == "images")
        self.next_button.setVisible(kind in ("images", "video"))
        self.next_button.setText("Next ▶" if kind == "images" else "Step ▶")
        self.pause_button.setVisible(kind == "video")
