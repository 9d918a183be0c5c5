"""The layers panel: one row per shown layer, its channels tiled into one mosaic image."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.dataflow.frames import LayerView
from cnn_viewer.core.display.colormaps import BACKGROUND
from cnn_viewer.core.display.mosaic import tile_at
from cnn_viewer.ui.widgets.pixel_view import PixelView

MAX_TILE_PX = 40  # a tile is drawn at most this wide, so every layer fits on screen
MAX_ROW_HEIGHT = 240
VECTOR_ROW_HEIGHT = 22
TITLE_WIDTH = 200
VISIBLE_MARGIN = 120  # px beyond the viewport still counted as on screen
OUTPUT_CELL_PX = 36  # the output layer's cells, wide enough to carry their class names
OUTPUT_ROW_HEIGHT = 28
NAME_COLOUR = QColor(225, 228, 234)
MARKED = "LayerRow { background: #3a3218; border: 2px solid #ffd166; }"  # the walk's stage


def shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)


class CellNames(QWidget):
    """The class names under the output layer's cells, one per cell, centred; when they
    do not all fit, none are drawn and the row says to hover a cell (the tooltip names it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.setFixedHeight(self.fontMetrics().height() + 4)

    def set_names(self, names: list[str]) -> None:
        self.names = list(names)
        self.update()

    def fits(self) -> bool:
        """Every name fits under its cell."""
        if not self.names:
            return False
        cell = self.width() / len(self.names)
        metrics = self.fontMetrics()
        return all(metrics.horizontalAdvance(n) <= cell - 2 for n in self.names)

    def paintEvent(self, event) -> None:
        if not self.names:
            return
        p = QPainter(self)
        p.setPen(NAME_COLOUR)
        if self.fits():
            cell = self.width() / len(self.names)
            for i, name in enumerate(self.names):
                p.drawText(
                    QRectF(i * cell, 0, cell, self.height()), Qt.AlignmentFlag.AlignCenter, name
                )
        else:
            p.drawText(
                QRectF(self.rect()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{len(self.names)} classes: hover a cell for its name",
            )
        p.end()


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
        self.labels: list[str] = []  # class names: this row is the output layer
        self.cell_names = CellNames()
        self.cell_names.hide()
        cells = QVBoxLayout()
        cells.setContentsMargins(0, 0, 0, 0)
        cells.setSpacing(1)
        cells.addWidget(self.view, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        cells.addWidget(self.cell_names, 0, Qt.AlignmentFlag.AlignLeft)
        cells.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addLayout(cells)
        layout.addStretch(1)
        self.view.setFixedHeight(VECTOR_ROW_HEIGHT)
        self._hover = _CellHover(self)
        self.view.installEventFilter(self._hover)

    def set_labels(self, labels: list[str]) -> None:
        """Mark this row as the output layer: its cells are the classes ``labels``."""
        self.labels = list(labels)
        self.cell_names.set_names(self.labels)
        self.cell_names.setVisible(bool(self.labels))
        self.view.setMouseTracking(bool(self.labels))
        if self.view_data is not None:
            self._fit(self.view_data)

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
        role = " · output: the classes" if self.labels else ""
        self.title.setText(
            f"<b>{lv.name}</b><br><span style='color:#9aa0aa'>{lv.type} · "
            f"{shape_text(lv.shape)}{role}</span>"
        )
        self.title.setToolTip(f"{lv.name}\n{lv.type}, output {shape_text(lv.shape)}")
        h, w = lv.mosaic.shape
        vector = lv.tile == (1, 1) and h <= 2
        avail = max(120, self.avail_width - TITLE_WIDTH - 24)
        if vector and self.labels:
            width = min(avail, w * OUTPUT_CELL_PX)
            height = OUTPUT_ROW_HEIGHT * h
        elif vector:
            width = min(avail, w * 14)
            height = VECTOR_ROW_HEIGHT * h
        else:
            scale = min(avail / w, MAX_TILE_PX / lv.tile[1], MAX_ROW_HEIGHT / h)
            width, height = int(w * scale), int(h * scale)
        self.view.setFixedSize(max(8, width), max(8, height))
        self.cell_names.setFixedWidth(max(8, width))

    def cell_name(self, x: float) -> str | None:
        """The class name of the output cell at ``x`` px in the mosaic, or None."""
        if not self.labels or self.view.width() <= 0:
            return None
        i = int(x * len(self.labels) / self.view.width())
        return self.labels[i] if 0 <= i < len(self.labels) else None

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


class _CellHover(QObject):
    """Names the output cell under the mouse in a tooltip (any number of classes)."""

    def __init__(self, row: LayerRow) -> None:
        super().__init__(row)
        self.row = row

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.MouseMove and self.row.labels:
            name = self.row.cell_name(event.position().x())
            if name is not None:
                QToolTip.showText(event.globalPosition().toPoint(), name, self.row.view)
        return False


def is_output(lv: LayerView, labels: list[str]) -> bool:
    """A vector with one cell per class: the layer that says the answer."""
    return bool(labels) and lv.tile == (1, 1) and tuple(lv.shape) == (len(labels),)


class LayersPanel(QScrollArea):
    """All shown layers, top to bottom in forward order. Only rebuilt when the list changes.

    The last shown layer, when it is the output (one cell per class, see ``set_labels``),
    is pinned in ``footer`` (placed by the window under the panel): its cells carry the
    class names and it stays in sight however many rows scroll above it.
    """

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
        self.waiting = QLabel("")  # what the empty panel is waiting for
        self.waiting.setObjectName("dim")
        self.waiting.hide()
        self._layout.addWidget(self.waiting)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.rows: dict[str, LayerRow] = {}
        self._refit_queued = False
        self.labels: list[str] = []
        self.pinned: str | None = None  # the output row's name, shown in the footer
        self.footer = QWidget()
        self._footer_layout = QVBoxLayout(self.footer)
        self._footer_layout.setContentsMargins(4, 0, 4, 0)
        # it follows the panel's width (the row refits its cells), never forces one
        self.footer.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        self.footer.hide()

    def set_labels(self, labels: list[str]) -> None:
        """The model's class names (GUI thread): they label the output layer's cells."""
        self.labels = list(labels)

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
        self.footer.setMaximumWidth(self.width())
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
            if name == self.pinned or (row.y() < bottom and row.y() + row.height() > top)
        ]  # fmt: skip
        if names != self.visible:
            self.visible = names
            self.visible_changed.emit(names)

    def set_layers(self, names: list[str]) -> None:
        if list(self.rows) == names:
            return
        for row in self.rows.values():
            (self._footer_layout if row.name == self.pinned else self._layout).removeWidget(row)
            row.deleteLater()
        self.rows = {}
        self.pinned = None
        self.footer.hide()
        for i, name in enumerate(names):
            row = LayerRow(name)
            row.avail_width = self.viewport().width()
            row.clicked.connect(self.unit_clicked)
            self._layout.insertWidget(i + 1, row)  # below the waiting line
            self.rows[name] = row
        self._queue_visible()

    def set_waiting(self, text: str) -> None:
        """Say what the panel waits for while no row has a map yet ('' hides it)."""
        self.waiting.setText(text)
        self.waiting.setVisible(bool(text))

    def show_layers(self, views: list[LayerView]) -> None:
        if self.waiting.isVisible():
            self.set_waiting("")
        for lv in views:
            row = self.rows.get(lv.name)
            if row is not None:
                fitted = row.view_data is not None
                if not fitted and lv.name == list(self.rows)[-1] and is_output(lv, self.labels):
                    self._pin(row)
                row.show_layer(lv)
                if not fitted:  # the row just took its real height
                    self._queue_visible()

    def _pin(self, row: LayerRow) -> None:
        """Move the output row out of the scrolled list into the footer."""
        self._layout.removeWidget(row)
        self._footer_layout.addWidget(row)
        row.avail_width = self.viewport().width()
        row.set_labels(self.labels)
        self.pinned = row.name
        self.footer.show()

    def clear(self) -> None:
        self.set_waiting("")
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
