"""F1: every key the window knows, read from its actions, over the window."""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QLabel, QScrollArea, QWidget


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


def help_html(window) -> str:
    parts, last = ["<h3>Keys</h3><table cellspacing='0' cellpadding='3'>"], None
    for menu, text, keys in key_table(window):
        if menu != last:
            parts.append(f"<tr><td colspan='2'><b>{escape(menu)}</b></td></tr>")
            last = menu
        parts.append(
            f"<tr><td style='color:#ffd166'>{escape(keys)}</td><td>{escape(text)}</td></tr>"
        )
    parts.append("</table><p style='color:#9aa0aa'>Mosaics: click a channel to select it. "
                 "Any key or click closes this help.</p>")  # fmt: skip
    return "".join(parts)


class HelpOverlay(QScrollArea):
    """A dimmed panel over the window's centre; any key or click hides it."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setMargin(16)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setObjectName("helpOverlay")
        self.setStyleSheet(
            "#helpOverlay, #helpOverlay QLabel { background: rgba(20, 22, 28, 235); "
            "color: #e1e4ea; border: 1px solid #3a3f4b; }"
        )
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.label.setText(help_html(self.window_))
        parent: QWidget = self.window_
        w, h = min(620, parent.width() - 40), parent.height() - 80
        self.setGeometry((parent.width() - w) // 2, 40, w, h)
        self.show()
        self.raise_()
        self.setFocus()

    def keyPressEvent(self, event) -> None:
        self.hide()
        event.accept()

    def mousePressEvent(self, event) -> None:
        self.hide()
        event.accept()
