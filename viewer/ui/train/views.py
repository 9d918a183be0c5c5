"""The Train panel's displays: pictures (filters, probe maps), live curves, and the
confusion matrix with per-class accuracy. GUI thread only."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QImage, QPainter
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.models.training.overfit import overfit_hint

TITLE_H = 18
MIN_CELL = 22  # px: a confusion cell holds three digits
TRAIN_PEN = pg.mkPen((96, 160, 255), width=1.5)
TRAIN_EPOCH_PEN = pg.mkPen((96, 160, 255), width=2)
VAL_PEN = pg.mkPen((255, 166, 43), width=2)


class ArrayView(QWidget):
    """An RGB uint8 image under a title, scaled to fit with square pixels (no smoothing)."""

    def __init__(self, title: str = "", min_scale: int = 0, parent: QWidget | None = None) -> None:
        """``min_scale``: the image is never drawn smaller than this many screen pixels a
        pixel (the view asks for that room; the dock scrolls); 0: fit whatever room."""
        super().__init__(parent)
        self.title = title
        self.min_scale = min_scale
        self.array: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.setMinimumSize(80, 56)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, array: np.ndarray | None, title: str | None = None) -> None:
        if title is not None:
            self.title = title
        self.array = None if array is None else np.ascontiguousarray(array, np.uint8)
        if self.array is None:
            self._qimage = None
        else:
            h, w = self.array.shape[:2]
            self._qimage = QImage(self.array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
            if self.min_scale:
                self.setMinimumSize(
                    max(80, w * self.min_scale), max(56, h * self.min_scale + TITLE_H)
                )
        self.update()

    def drawn_scale(self) -> float:
        """Screen pixels per image pixel as painted now (0 with no image)."""
        if self.array is None:
            return 0.0
        h, w = self.array.shape[:2]
        scale = min(self.width() / w, (self.height() - TITLE_H) / h)
        return float(math.floor(scale)) if scale >= 1 else scale

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setPen(QColor(200, 204, 212))
        p.drawText(QRectF(0, 0, self.width(), TITLE_H), Qt.AlignmentFlag.AlignLeft, self.title)
        if self._qimage is not None:
            h, w = self.array.shape[:2]
            scale = self.drawn_scale()  # whole pixels stay crisp
            tw, th = w * scale, h * scale
            target = QRectF((self.width() - tw) / 2, TITLE_H, tw, th)
            p.drawImage(target, self._qimage)
        p.end()


class CurvesView(QWidget):
    """Loss and accuracy against steps: training (smoothed, every step; and at each
    epoch's end, accuracy on the un-augmented training images) and validation (each
    epoch's end), with a plain hint when training runs ahead of validation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        col.addLayout(row, 1)
        key = QLabel(
            "<span style='color:#60a0ff'>&#9644; training (smoothed) &nbsp; &#9644;&#9632; "
            "training images at each epoch's end</span> &nbsp; "
            "<span style='color:#ffa62b'>&#9644;&#9679; validation</span> &nbsp; x: step"
        )
        col.addWidget(key)
        self.hint_label = QLabel("")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: #ffcf70")
        col.addWidget(self.hint_label)
        self.loss_plot = pg.PlotWidget(title="loss")
        self.acc_plot = pg.PlotWidget(title="accuracy")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMinimumSize(150, 110)
            row.addWidget(plot)
        self.acc_plot.setYRange(0, 1)
        self.lines = {
            "train_loss": self.loss_plot.plot(pen=TRAIN_PEN),
            "val_loss": self.loss_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5),
            "train_acc": self.acc_plot.plot(pen=TRAIN_PEN),
            "val_acc": self.acc_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5),
            "train_epoch_acc": self.acc_plot.plot(pen=TRAIN_EPOCH_PEN, symbol="s", symbolSize=5),
        }
        self.clear()

    def clear(self) -> None:
        self.data = {k: ([], []) for k in self.lines}
        self._ema: dict[str, float] = {}
        self.epochs: list[dict] = []  # train and validation accuracy of each finished epoch
        self.hint_label.setText("")
        for line in self.lines.values():
            line.setData([], [])

    def _add(self, key: str, x: float, y: float, smooth: bool = False) -> None:
        if smooth:
            y = self._ema[key] = 0.9 * self._ema.get(key, y) + 0.1 * y
        xs, ys = self.data[key]
        xs.append(x)
        ys.append(y)

    def add(self, p) -> None:
        """One StepProgress."""
        if p.val_accuracy is None:
            self._add("train_loss", p.step, p.loss, smooth=True)
            self._add("train_acc", p.step, p.accuracy, smooth=True)
        else:
            self._add("val_loss", p.step, p.val_loss)
            self._add("val_acc", p.step, p.val_accuracy)
            if p.train_accuracy is not None:
                self._add("train_epoch_acc", p.step, p.train_accuracy)
            self.epochs.append({"train_accuracy": p.train_accuracy, "val_accuracy": p.val_accuracy})
            self.hint_label.setText(overfit_hint(self.epochs) or "")

    def redraw(self) -> None:
        for key, line in self.lines.items():
            line.setData(*self.data[key])


class ConfusionView(QTableWidget):
    """Rows: true class; columns: predicted class, then per-class accuracy. Cells shaded by
    their share of the row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Columns share the width (ten classes and the accuracy fit a 1280 px window)
        # rather than each taking its text's width and running off the edge.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(MIN_CELL)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMinimumWidth(160)
        self.setToolTip("rows: the true class; columns: the network's guess; last: accuracy")

    def show_result(self, classes: list[str], confusion: np.ndarray, per_class: list[float]):
        k = len(classes)
        self.clear()
        self.setRowCount(k)
        self.setColumnCount(k + 1)
        self.setHorizontalHeaderLabels([*classes, "acc."])
        self.setVerticalHeaderLabels(classes)
        self.horizontalHeaderItem(k).setToolTip("share of this class's validation images right")
        # room for every column: the dock scrolls rather than the matrix being cut
        names = self.fontMetrics()
        cell = max(MIN_CELL, *(names.horizontalAdvance(c) + 8 for c in [*classes, "acc."]))
        self.setMinimumWidth(cell * (k + 1) + self.verticalHeader().sizeHint().width() + 6)
        rows = confusion.sum(1)
        for i in range(k):
            for j in range(k):
                item = QTableWidgetItem(str(int(confusion[i, j])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = confusion[i, j] / rows[i] if rows[i] else 0.0
                hue = (60, 150, 90) if i == j else (200, 70, 60)
                item.setBackground(QColor(*hue, int(40 + 200 * share)))
                self.setItem(i, j, item)
            acc = per_class[i]
            text = "-" if math.isnan(acc) else f"{acc:.0%}"
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setItem(i, k, item)
