"""How the answer is reached: logits, the softmax with its numbers, and the inputs of the
last linear layer that make a class's logit. Clicking a contribution asks for its unit."""

from __future__ import annotations

from html import escape

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.explain.answer import logit_parts, softmax_story
from cnn_viewer.core.explain.network_map import Head

LOGIT_ROWS = 10
CONTRIBUTION_ROWS = 12


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names are cut, not numbers
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setWordWrap(False)
    return t


def exp_text(shifted: float) -> str:
    """exp(z − m) readable at any size: a plain number down to 0.001, below that the
    power itself (e^−24.7), where a confident answer would show only e-notation."""
    value = float(np.exp(shifted))
    return f"{value:.4f}" if value >= 1e-3 else f"e^{shifted:.1f}".replace("-", "−")


def prob_text(p: float) -> str:
    """A probability as a percentage with the digits that say something."""
    if p >= 0.9995:
        rest = 1 - p
        return "100%" if rest < 5e-7 else f"{p:.4%}"
    if p >= 0.001:
        return f"{p:.1%}"
    return "< 0.1%" if p > 0 else "0%"


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = table.item(r, c)
            if item is None:
                item = QTableWidgetItem()
                if c:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, c, item)
            item.setText(text)
    table.setFixedHeight(table.horizontalHeader().height() + 4 + sum(
        table.rowHeight(r) for r in range(table.rowCount())))  # fmt: skip


class AnswerPanel(QScrollArea):
    """``show_answer(logits, head_input, head, labels)`` after each result."""

    unit_requested = pyqtSignal(str, int, object)  # layer, channel, (y, x) or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.shown_layers: list[str] = []  # the layers panel's rows (set by the feature)
        self.head: Head | None = None
        self.parts = None
        self.class_box = QComboBox()
        self.class_box.setMaxVisibleItems(20)
        self.class_box.currentIndexChanged.connect(lambda _i: self.render())
        self.softmax_label = QLabel()
        self.softmax_label.setWordWrap(True)
        self.logit_table = _table(["class", "logit z", "exp(z − m)", "p"])
        self.parts_label = QLabel()
        self.parts_label.setWordWrap(True)
        self.parts_table = _table(["unit", "activation a", "weight w", "w × a"])
        self.parts_table.cellClicked.connect(self._clicked)
        self.parts_table.cellActivated.connect(self._clicked)
        self.note = QLabel()
        self.note.setObjectName("dim")
        self.note.setWordWrap(True)
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.addWidget(QLabel("<b>Logits and softmax</b>"))
        v.addWidget(self.logit_table)
        v.addWidget(self.softmax_label)
        v.addWidget(QLabel("<b>What makes a class's logit</b>"))
        v.addWidget(self.class_box)
        v.addWidget(self.parts_label)
        v.addWidget(self.parts_table)
        v.addWidget(self.note)
        v.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self._logits: np.ndarray | None = None
        self._head_input: np.ndarray | None = None

    def set_labels(self, labels: list[str]) -> None:
        if labels == self.labels:
            return
        self.labels = list(labels)
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem("top-1 class", -1)
        for i, name in enumerate(labels):
            self.class_box.addItem(f"{i}: {name}", i)
        self.class_box.blockSignals(False)

    def show_answer(self, logits: np.ndarray, head_input, head: Head | None, labels) -> None:
        self.set_labels(labels)
        self._logits, self._head_input, self.head = logits, head_input, head
        if self.isVisible():
            self.render()

    def target(self) -> int | None:
        if self._logits is None or not self._logits.size:
            return None
        chosen = self.class_box.currentData()
        return int(self._logits.argmax()) if chosen in (None, -1) else int(chosen)

    def render(self) -> None:
        z = self._logits
        if z is None or not z.size:
            return
        s = softmax_story(z)
        order = np.argsort(-z)[:LOGIT_ROWS]
        _fill(self.logit_table, [
            [self._class_text(i), f"{s.logits[i]:.3f}", exp_text(s.logits[i] - s.shift),
             prob_text(s.probs[i])] for i in order
        ])  # fmt: skip
        t = self.target()
        name = escape(self.labels[t]) if t < len(self.labels) else str(t)
        shown = "" if z.size <= LOGIT_ROWS else f" (top {LOGIT_ROWS} of {z.size} shown)"
        self.softmax_label.setText(
            f"softmax: p<sub>i</sub> = exp(z<sub>i</sub> − m) / Σ<sub>j</sub> exp(z<sub>j</sub>"
            f" − m), with m = max z = {s.shift:.3f} (subtracting it changes nothing and keeps "
            f"exp from overflowing). Σ exp(z − m) = {s.total:.4f}{shown}.<br>"
            f"p('{name}') = {exp_text(s.logits[t] - s.shift)} / {s.total:.4f} = "
            f"<b>{prob_text(s.probs[t])}</b>"
        )
        self._render_parts(t, name)

    def _render_parts(self, t: int, name: str) -> None:
        head, a = self.head, self._head_input
        if head is None or a is None:
            self.parts = None
            self.parts_label.setText("this network has no last linear layer to take apart")
            _fill(self.parts_table, [])
            return
        parts = self.parts = logit_parts(head, a, t, CONTRIBUTION_ROWS)
        source = escape(head.source) if head.source else "its input"
        if head.source and self.shown_layers and head.source not in self.shown_layers:
            source += ", not among the maps shown (L adds it)"
        self.parts_label.setText(
            f"logit of '{name}' = Σ w × a over the {parts.count} inputs of "
            f"<b>{escape(parts.layer)}</b> (units of {source}) + bias {parts.bias:.3f} = "
            f"<b>{parts.total:.3f}</b>. The {len(parts.top)} largest terms, the rest and the "
            "bias add up to it:"
        )
        rest = parts.total - parts.bias - sum(c.product for c in parts.top)
        others = parts.count - len(parts.top)
        rows = [
            [c.unit_text(), f"{c.activation:.3f}", f"{c.weight:.3f}", f"{c.product:+.3f}"]
            for c in parts.top
        ]
        if others:
            rows.append([f"the other {others}", "", "", f"{rest:+.3f}"])
        rows.append(["bias", "", "", f"{parts.bias:+.3f}"])
        rows.append(["= logit", "", "", f"{parts.total:.3f}"])
        _fill(self.parts_table, rows)
        where = f"from {escape(head.source)}" if head.source else "source unknown"
        pooled = (
            f"; each input is the {parts.pooled} of one channel of {escape(head.source)} over "
            "its positions"
            if parts.pooled
            else ""
        )
        self.note.setText(f"inputs {where}{pooled}. Click a row to inspect that unit.")

    def _class_text(self, i: int) -> str:
        name = self.labels[i] if i < len(self.labels) else str(i)
        return name if name == str(i) else f"{i}: {name}"

    def clear_answer(self) -> None:
        """Nothing to explain (a cleared pad): no numbers of an earlier input stay."""
        self._logits = self._head_input = None
        self.parts = None
        _fill(self.logit_table, [])
        _fill(self.parts_table, [])
        self.softmax_label.setText("no answer yet: draw a digit or open an image")
        self.parts_label.setText("")
        self.note.setText("")

    def _clicked(self, row: int, _col: int = 0) -> None:
        if self.parts is None or not 0 <= row < len(self.parts.top):
            return
        c = self.parts.top[row]
        if c.layer is not None and c.channel is not None:
            pos = (c.y, c.x) if c.y is not None else None
            self.unit_requested.emit(c.layer, c.channel, pos)
