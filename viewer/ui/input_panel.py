"""The input as the network saw it, and the saliency heatmap over it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from viewer.ui.colormaps import heat_lut


def _image_view(size: int) -> tuple[pg.GraphicsView, pg.ViewBox]:
    view = pg.GraphicsView()
    view.setBackground(None)
    view.setFixedSize(size, size)
    box = pg.ViewBox(
        lockAspect=True, invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0.0
    )
    view.setCentralItem(box)
    return view, box


class NetworkInputView(QWidget):
    """Two squares: the exact network input (gray or RGB), and Grad-CAM over it."""

    def __init__(self, size: int = 132, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_title = QLabel("network input")
        self.cam_title = QLabel("Grad-CAM")
        self.input_view, in_box = _image_view(size)
        self.cam_view, cam_box = _image_view(size)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.cam_base = pg.ImageItem(axisOrder="row-major")
        self.cam_heat = pg.ImageItem(axisOrder="row-major")
        self.cam_heat.setLookupTable(heat_lut())
        in_box.addItem(self.input_image)
        cam_box.addItem(self.cam_base)
        cam_box.addItem(self.cam_heat)
        self._boxes = (in_box, cam_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.input_title, self.input_view, self.cam_title, self.cam_view):
            layout.addWidget(w)

    def show_input(
        self, net_image: np.ndarray | None, saliency: np.ndarray | None, title: str = ""
    ) -> None:
        if net_image is None:
            blank = np.zeros((2, 2), np.uint8)
            for item in (self.input_image, self.cam_base, self.cam_heat):
                item.setImage(blank, autoLevels=False, levels=(0, 255))
            return
        h, w = net_image.shape[:2]
        self.input_title.setText(f"network input  {w} x {h}")
        self.input_image.setImage(net_image, autoLevels=False, levels=(0, 255))
        self.cam_base.setImage(net_image, autoLevels=False, levels=(0, 255))
        for box in self._boxes:
            box.setRange(xRange=(0, w), yRange=(0, h), padding=0)
        if saliency is None:
            self.cam_heat.setImage(np.zeros((h, w), np.uint8), autoLevels=False, levels=(0, 255))
            self.cam_title.setText("saliency off")
        else:
            heat = (saliency * 255).astype(np.uint8)
            self.cam_heat.setImage(heat, autoLevels=False, levels=(0, 255))
            self.cam_title.setText(f"Grad-CAM for '{title}'")
