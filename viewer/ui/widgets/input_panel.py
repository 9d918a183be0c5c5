"""The input as the network saw it, and the saliency heatmap over it."""

from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnn_viewer.ui.widgets.pixel_view import PixelView


class NetworkInputView(QWidget):
    """Two squares: the exact network input (gray or RGB), and Grad-CAM over it."""

    def __init__(self, size: int = 132, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_title = QLabel("network input")
        self.cam_title = QLabel("Grad-CAM")
        self.input_view = PixelView()
        self.cam_view = PixelView()
        for view in (self.input_view, self.cam_view):
            view.setFixedSize(size, size)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.input_title, self.input_view, self.cam_title, self.cam_view):
            layout.addWidget(w)

    def show_input(
        self, net_image: np.ndarray | None, heat_rgba: np.ndarray | None, title: str = ""
    ) -> None:
        """The network's input and, over a copy of it, the heatmap (RGBA, made by the
        engine); None for the input clears both."""
        if net_image is None:  # nothing shown: no title left from an earlier input
            self.input_view.set_images()
            self.cam_view.set_images()
            self.input_title.setText("network input")
            self.cam_title.setText("Grad-CAM")
            return
        h, w = net_image.shape[:2]
        self.input_title.setText(f"network input  {w} x {h}")
        self.input_view.set_images(net_image)
        self.cam_view.set_images(net_image, heat_rgba)
        if heat_rgba is None:
            self.cam_title.setText("saliency off")
        else:
            self.cam_title.setText(f"Grad-CAM for '{title}'")
