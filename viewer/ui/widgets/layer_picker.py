"""A dialog to choose which named modules the layers panel shows."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class LayerPicker(QDialog):
    """Checkable list of every named module (forward order) with type and output shape."""

    def __init__(
        self,
        table: list[dict],
        shown: list[str],
        defaults: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose layers")
        self.resize(460, 560)
        self.defaults = defaults
        self.list = QListWidget()
        for row in table:
            shape = " x ".join(map(str, row["shape"])) if row["shape"] else "-"
            item = QListWidgetItem(f"{row['name']}    {row['type']}    {shape}")
            item.setData(Qt.ItemDataRole.UserRole, row["name"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if row["name"] in shown else Qt.CheckState.Unchecked
            )
            self.list.addItem(item)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter by name or type")
        self.filter.textChanged.connect(self._filter)
        buttons = QHBoxLayout()
        for text, slot in [
            ("Defaults", self._defaults),
            ("All", lambda: self._set_all(True)),
            ("None", lambda: self._set_all(False)),
        ]:
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        ok = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok.accepted.connect(self.accept)
        ok.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Checked layers are shown, in forward order."))
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(ok)

    def _items(self):
        return [self.list.item(i) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        text = text.lower()
        for item in self._items():
            item.setHidden(bool(text) and text not in item.text().lower())

    def _set_all(self, checked: bool) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        for item in self._items():
            if not item.isHidden():
                item.setCheckState(state)

    def _defaults(self) -> None:
        for item in self._items():
            on = item.data(Qt.ItemDataRole.UserRole) in self.defaults
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def chosen(self) -> list[str]:
        return [
            item.data(Qt.ItemDataRole.UserRole)
            for item in self._items()
            if item.checkState() == Qt.CheckState.Checked
        ]
