"""F1: every key the window knows, read from its actions, and what the mouse does, over
the window. Laid out in columns so that it fits without scrolling; the line that says how
to close it stays on top."""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

CLOSE_LINE = "Any key or click closes this help."
MOUSE = [
    ("Left button on the pad", "draw"),
    ("Right button on the pad", "erase"),
    ("Click a mosaic tile", "inspect that channel (Inspector tab)"),
    ("Hover the output layer's cells", "the class each cell stands for"),
    ("Click a row in the Answer tab", "inspect the unit behind that term"),
    ("Drop a file on the window", "open an image, video, folder or checkpoint"),
    ("Drag a splitter or a dock's title", "resize or move the panels"),
]
COLUMN_PX = 340  # at most one column of keys per this much width


def key_table(window) -> list[tuple[str, str, str]]:
    """(menu, action text, keys) for every action with a shortcut, in menu order."""
    rows = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
            keys = [k for k in keys if k]
            if keys and action.text():
                rows.append((menu.title().replace("&", ""), action.text().replace("&", ""),
                             " or ".join(keys)))  # fmt: skip
    return rows


def _groups(window) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(what you do, what happens)]) in menu order, the mouse last."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for menu, text, keys in key_table(window):
        if not groups or groups[-1][0] != menu:
            groups.append((menu, []))
        groups[-1][1].append((keys, text))
    groups.append(("Mouse", MOUSE))
    return groups


def _columns(groups, n: int) -> list[list]:
    """Whole groups into ``n`` columns of about equal length, order kept."""
    total = sum(len(rows) + 1 for _, rows in groups)
    columns: list[list] = [[]]
    filled = 0
    for group in groups:
        size = len(group[1]) + 1
        if columns[-1] and filled + size / 2 > total * len(columns) / n and len(columns) < n:
            columns.append([])
        columns[-1].append(group)
        filled += size
    return columns


def help_html(window, columns: int = 1) -> str:
    cells = []
    for column in _columns(_groups(window), max(1, columns)):
        rows = []
        for heading, entries in column:
            rows.append(f"<tr><td colspan='2'><b>{escape(heading)}</b></td></tr>")
            rows.extend(
                f"<tr><td style='color:#ffd166'>{escape(a)}</td><td>{escape(b)}</td></tr>"
                for a, b in entries
            )
        cells.append(
            "<td valign='top'><table cellspacing='0' cellpadding='2'>" + "".join(rows)
            + "</table></td>"
        )  # fmt: skip
    return "<table cellspacing='12'><tr>" + "".join(cells) + "</tr></table>"


class HelpOverlay(QFrame):
    """A dimmed panel over the window; any key or click hides it."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.setObjectName("helpOverlay")
        self.setStyleSheet(
            "#helpOverlay { background: rgba(20, 22, 28, 250); border: 1px solid #3a3f4b; }"
            "#helpOverlay QLabel { background: transparent; color: #e1e4ea; }"
        )
        self.header = QLabel(f"<b>Keys and mouse</b> &nbsp; <span style='color:#ffa62b'>"
                             f"{CLOSE_LINE}</span>")  # fmt: skip
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scroll = QScrollArea()  # only when even the columns do not fit
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setStyleSheet("background: transparent;")
        self.scroll.viewport().setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)
        for w in (self.label, self.scroll, self.scroll.viewport(), self.header):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        parent: QWidget = self.window_
        w, h = parent.width() - 40, parent.height() - 60
        room = h - self.header.sizeHint().height() - 40
        # the fewest columns that fit the height (and still fit the width)
        for columns in range(1, max(1, min(4, w // COLUMN_PX)) + 1):
            self.label.setText(help_html(self.window_, columns))
            need = self.label.sizeHint()
            if need.height() <= room:
                break
        w = min(w, need.width() + 40)
        h = min(h, need.height() + self.header.sizeHint().height() + 40)
        self.setGeometry((parent.width() - w) // 2, (parent.height() - h) // 2, w, h)
        self.show()
        self.raise_()
        self.setFocus()

    def keyPressEvent(self, event) -> None:
        self.hide()
        event.accept()

    def mousePressEvent(self, event) -> None:
        self.hide()
        event.accept()
