"""Top classes with probability bars, painted in one widget."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QPainter
from PyQt6.QtWidgets import QSizePolicy, QWidget

BAR = QColor(255, 166, 43)
BAR_OTHER = QColor(96, 140, 214)
TEXT = QColor(225, 228, 234)
DIM = QColor(140, 146, 158)
ROW_H = 26


class PredictionPanel(QWidget):
    """Shows (label, probability) rows, best first; or a message such as 'draw a digit'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[int, str, float]] = []
        self.message = "waiting for the first frame"
        self.setMinimumWidth(220)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_top(self, rows: list[tuple[int, str, float]]) -> None:
        self.rows = rows
        self.message = ""
        height = ROW_H * (len(rows) + 2)
        if height != self.minimumHeight():  # only on a change: it relayouts the window
            self.setMinimumHeight(height)
        self.update()

    def set_message(self, text: str) -> None:
        self.rows = []
        self.message = text
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w = self.width()
        if not self.rows:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.3)
            p.setFont(font)
            p.setPen(DIM)
            p.drawText(QRectF(0, 0, w, ROW_H * 4), Qt.AlignmentFlag.AlignCenter, self.message)
            p.end()
            return
        best_label = self.rows[0][1]
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 2.2)
        big.setBold(True)
        p.setFont(big)
        p.setPen(TEXT)
        p.drawText(QRectF(8, 0, w - 16, ROW_H * 2), Qt.AlignmentFlag.AlignVCenter, best_label)
        p.setFont(self.font())
        label_w = min(120, max(40, int(w * 0.32)))
        value_w = 58
        bar_x = 8 + label_w + 6
        bar_w = max(10, w - bar_x - value_w - 8)
        for i, (_idx, label, prob) in enumerate(self.rows):
            y = ROW_H * (2 + i)
            p.setPen(TEXT if i == 0 else DIM)
            metrics = p.fontMetrics()
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, label_w)
            p.drawText(QRectF(8, y, label_w, ROW_H), Qt.AlignmentFlag.AlignVCenter, text)
            p.fillRect(QRectF(bar_x, y + 6, bar_w, ROW_H - 12), QColor(52, 55, 63))
            p.fillRect(
                QRectF(bar_x, y + 6, bar_w * max(0.0, min(1.0, prob)), ROW_H - 12),
                BAR if i == 0 else BAR_OTHER,
            )
            p.drawText(
                QRectF(w - value_w - 4, y, value_w, ROW_H),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{prob:.1%}",
            )
        p.end()
