"""Small controls set up in one call: a panel's title label, a whole-number spin box."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QSpinBox


def spin_box(lo: int, hi: int, value: int, tip: str = "", special: str = "") -> QSpinBox:
    """A QSpinBox over ``lo..hi`` showing ``value``, with a tooltip; ``special`` is shown
    instead of the lowest value (e.g. 'auto' for 0)."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    box.setToolTip(tip)
    if special:
        box.setSpecialValueText(special)
    return box


def panel_title(text: str) -> QLabel:
    """A panel's heading (styled as panelTitle in resources/style.qss)."""
    label = QLabel(text)
    label.setObjectName("panelTitle")
    return label
