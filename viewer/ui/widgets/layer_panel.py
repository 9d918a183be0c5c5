"""The layers panel: one row per shown layer, its channels tiled into one mosaic image."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from cnn_viewer.core.dataflow.frames import LayerView
from cnn_viewer.core.display.colormaps import BACKGROUND
from cnn_viewer.core.display.mosaic import tile_at
from cnn_viewer.ui.widgets.pixel_view import PixelView

MAX_TILE_PX = 40  # a tile is drawn at most this wide, so every layer fits on screen
MAX_ROW_HEIGHT = 240
VECTOR_ROW_HEIGHT = 22
TITLE_WIDTH = 200
VISIBLE_MARGIN = 120  # px beyond the viewport still counted as on screen
MARKED = "LayerRow { background: #3a3218; border: 2px solid #ffd166; }"  # the walk's stage


def shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)


class LayerRow(QWidget):
    """Name and shape beside a mosaic. Clicking a tile emits (layer, channel)."""

    clicked = pyqtSignal(str, int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.view_data: LayerView | None = None
        self.selected: int | None = None  # channel outlined in the mosaic
        self.avail_width = 400
        self.title = QLabel(name)
        self.title.setObjectName("layerTitle")
        self.title.setFixedWidth(TITLE_WIDTH)
        self.title.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.view = PixelView()
        self.view.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.view.pixel_clicked.connect(self._on_click)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.view.setFixedHeight(VECTOR_ROW_HEIGHT)

    def show_layer(self, lv: LayerView) -> None:
        first = self.view_data is None or self.view_data.mosaic.shape != lv.mosaic.shape
        self.view_data = lv
        self.view.set_images(lv.rgba)
        if first:
            self._fit(lv)
            self._outline()

    def select(self, channel: int | None) -> None:
        """Outline ``channel``'s tile (None: no outline)."""
        self.selected = channel
        self._outline()

    def _outline(self) -> None:
        lv, i = self.view_data, self.selected
        if lv is None or i is None:
            self.view.set_highlight(None)
            return
        rows, cols = lv.grid
        th, tw = lv.tile
        gap = 0 if lv.tile == (1, 1) else 1
        r, c = divmod(i, cols)
        inside = r < rows
        self.view.set_highlight((c * (tw + gap), r * (th + gap), tw, th) if inside else None)

    def clear(self) -> None:
        if self.view_data is not None:
            blank = np.empty((*self.view_data.mosaic.shape, 4), np.uint8)
            blank[:] = (*BACKGROUND, 255)
            self.view.set_images(blank)

    def _fit(self, lv: LayerView) -> None:
        self.title.setText(
            f"<b>{lv.name}</b><br><span style='color:#9aa0aa'>{lv.type} · "
            f"{shape_text(lv.shape)}</span>"
        )
        self.title.setToolTip(f"{lv.name}\n{lv.type}, output {shape_text(lv.shape)}")
        h, w = lv.mosaic.shape
        vector = lv.tile == (1, 1) and h <= 2
        avail = max(120, self.avail_width - TITLE_WIDTH - 24)
        if vector:
            width = min(avail, w * 14)
            height = VECTOR_ROW_HEIGHT * h
        else:
            scale = min(avail / w, MAX_TILE_PX / lv.tile[1], MAX_ROW_HEIGHT / h)
            width, height = int(w * scale), int(h * scale)
        self.view.setFixedSize(max(8, width), max(8, height))

    def set_available_width(self, width: int) -> None:
        """Width the mosaic may use (set by the panel from its viewport, never from this row,
        whose own width follows the mosaic)."""
        if width != self.avail_width:
            self.avail_width = width
            if self.view_data is not None:
                self._fit(self.view_data)

    def _on_click(self, x: int, y: int) -> None:
        if self.view_data is None:
            return
        lv = self.view_data
        channels = lv.shape[0] if len(lv.shape) in (1, 3) else 1
        index = tile_at(x, y, lv.grid, lv.tile, channels)
        if index is not None:
            self.clicked.emit(self.name, index)


class LayersPanel(QScrollArea):
    """All shown layers, top to bottom in forward order. Only rebuilt when the list changes."""

    unit_clicked = pyqtSignal(str, int)
    visible_changed = pyqtSignal(list)  # names of the rows on screen (or nearly)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.visible: list[str] = []
        self._visible_queued = False
        self.verticalScrollBar().valueChanged.connect(self._queue_visible)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(2)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.rows: dict[str, LayerRow] = {}
        self._refit_queued = False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # Refit after the resize, not inside it: changing child sizes while Qt lays the
        # panel out re-enters the layout, which crashed Qt (heap corruption in QLabel).
        if not self._refit_queued:
            self._refit_queued = True
            QTimer.singleShot(0, self._refit)

    def _refit(self) -> None:
        self._refit_queued = False
        width = self.viewport().width()
        for row in self.rows.values():
            row.set_available_width(width)
        self._queue_visible()

    def refresh_visible(self) -> None:
        """Report the visible rows again even if unchanged (a new engine needs them)."""
        self.visible = []
        self._queue_visible()

    def _queue_visible(self) -> None:
        if not self._visible_queued:
            self._visible_queued = True
            QTimer.singleShot(0, self._update_visible)

    def _update_visible(self) -> None:
        """Tell which rows are on screen (with a margin), so the engine builds mosaics only
        for those: with every module of resnet18 shown, most rows are scrolled away."""
        self._visible_queued = False
        top = self.verticalScrollBar().value() - VISIBLE_MARGIN
        bottom = top + self.viewport().height() + 2 * VISIBLE_MARGIN
        names = [
            name for name, row in self.rows.items()
            if row.y() < bottom and row.y() + row.height() > top
        ]  # fmt: skip
        if names != self.visible:
            self.visible = names
            self.visible_changed.emit(names)

    def set_layers(self, names: list[str]) -> None:
        if list(self.rows) == names:
            return
        for row in self.rows.values():
            self._layout.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        for i, name in enumerate(names):
            row = LayerRow(name)
            row.avail_width = self.viewport().width()
            row.clicked.connect(self.unit_clicked)
            self._layout.insertWidget(i, row)
            self.rows[name] = row
        self._queue_visible()

    def show_layers(self, views: list[LayerView]) -> None:
        for lv in views:
            row = self.rows.get(lv.name)
            if row is not None:
                fitted = row.view_data is not None
                row.show_layer(lv)
                if not fitted:  # the row just took its real height
                    self._queue_visible()

    def clear(self) -> None:
        for row in self.rows.values():
            row.clear()

    def select(self, layer: str | None, channel: int | None) -> None:
        """Outline one channel's tile (the unit being inspected); None clears it."""
        for name, row in self.rows.items():
            row.select(channel if name == layer else None)

    def mark(self, layer: str | None) -> None:
        """Highlight ``layer``'s row and scroll it into view (the guided walk's stage);
        None: no row."""
        for name, row in self.rows.items():
            row.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
            row.setStyleSheet(MARKED if name == layer else "")
        if layer in self.rows:
            self.ensureWidgetVisible(self.rows[layer], 0, 24)
