"""Feature-map scale and colours: the choices, and a colour bar that says what they mean."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.dataflow.frames import LayerView
from cnn_viewer.core.display.colormaps import FEATURE_MAPS, is_diverging, mosaic_lut
from cnn_viewer.core.display.mosaic import FIXED_HISTORY, LEVELS, parse_norm

SCALES = [
    ("per layer", "layer"),
    ("per channel", "channel"),
    ("fixed", "fixed"),
]
COLOUR_NAMES = {"coolwarm": "blue-white-red (signed)"}


def _num(v: float) -> str:
    return f"{v:.3g}"


def scale_text(norm: str, colormap: str) -> tuple[tuple[str, str, str], str]:
    """(left, middle, right) labels for the bar's ends and a sentence saying what the
    colours mean for ``norm`` (mosaic.parse_norm) and ``colormap``."""
    mode, limit = parse_norm(norm)
    div = is_diverging(colormap)
    if limit is not None:
        ends = (_num(-limit) if div else "0", "0" if div else "", _num(limit))
        return ends, "fixed: the same range for every layer and frame; values beyond it clipped"
    ends = ("−max|x|", "0", "+max|x|") if div else ("min", "", "max")
    centred = "; white = 0" if div else ""
    span = "±largest |value|" if div else "min..max"
    if mode == "channel":
        return ends, f"per channel: each tile's own {span}{centred}"
    if mode == "layer":
        return ends, f"per layer: each layer's own {span} in this frame{centred}"
    return (
        ends,
        f"fixed per layer: each layer's {span} over the last {FIXED_HISTORY} frames{centred}",
    )


def ranges_text(layers: list[LayerView]) -> str:
    rows = [
        f"{lv.name}: {_num(lv.value_range[0])} .. {_num(lv.value_range[1])}"
        for lv in layers
        if lv.value_range is not None
    ]
    return "\n".join(["Value range of each layer (colour ends):", *rows]) if rows else ""


class ColourBar(QWidget):
    """The colormap as a horizontal bar with its end (and middle) labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # narrower in a small window rather than pushing the window wider
        self.setMinimumSize(90, 30)
        self.setMaximumWidth(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.labels = ("min", "", "max")
        self._image = QImage()
        self.set_colormap("inferno")

    def set_colormap(self, name: str) -> None:
        rgba = mosaic_lut(name)[: LEVELS + 1].copy()
        self._rgba = rgba.reshape(1, LEVELS + 1, 4)
        self._image = QImage(
            self._rgba.data, LEVELS + 1, 1, (LEVELS + 1) * 4, QImage.Format.Format_RGBA8888
        )
        self.update()

    def set_labels(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        bar = QRectF(0, 0, w, 12)
        p.drawImage(bar, self._image)
        p.setPen(QColor("#9aa0aa"))
        p.drawRect(bar.adjusted(0, 0, -1, -1))
        p.setPen(QColor("#e1e4ea"))
        text_rect = QRectF(0, 13, w, h - 13)
        left, mid, right = self.labels
        align = Qt.AlignmentFlag.AlignTop
        p.drawText(text_rect, align | Qt.AlignmentFlag.AlignLeft, left)
        p.drawText(text_rect, align | Qt.AlignmentFlag.AlignHCenter, mid)
        p.drawText(text_rect, align | Qt.AlignmentFlag.AlignRight, right)
        p.end()


class FeatureMapControls(QWidget):
    """Scale [per layer|per channel|fixed] [limit], colours, the bar and its meaning.

    Emits ``changed(norm, colormap)`` when the user picks something."""

    changed = pyqtSignal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale_box = QComboBox()
        for text, key in SCALES:
            self.scale_box.addItem(text, key)
        self.scale_box.setToolTip(
            "How activations become colours:\nper layer: each layer's own min..max\n"
            "per channel: every channel stretched on its own\n"
            f"fixed: a range held over the last {FIXED_HISTORY} frames (auto), or the value "
            "you set, so frames can be compared"
        )
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0.0, 1e6)
        self.limit.setDecimals(2)
        self.limit.setSingleStep(0.5)
        self.limit.setSpecialValueText("auto")
        self.limit.setFixedWidth(84)
        self.limit.setToolTip(
            "fixed scale: 0..V for every layer (−V..V when signed); auto: per layer"
        )
        self.colour_box = QComboBox()
        for name in FEATURE_MAPS:
            self.colour_box.addItem(COLOUR_NAMES.get(name, name), name)
        for box in (self.scale_box, self.colour_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.bar = ColourBar()
        self.caption = QLabel()
        self.caption.setObjectName("dim")
        self.caption.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Scale"), self.scale_box, self.limit, QLabel(" Colours"), self.colour_box):
            row.addWidget(w)
        row.addStretch(1)
        # the bar beside its sentence, below the choices: the row fits a narrow window
        meaning = QHBoxLayout()
        meaning.setContentsMargins(0, 0, 0, 0)
        meaning.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignTop)
        meaning.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addLayout(meaning)
        self.scale_box.activated.connect(self._picked)
        self.limit.editingFinished.connect(self._picked)
        self.colour_box.activated.connect(self._picked)
        self.set_state("layer", "inferno")

    @property
    def norm(self) -> str:
        mode = self.scale_box.currentData()
        if mode == "fixed" and self.limit.value() > 0:
            return f"fixed:{self.limit.value():g}"
        return mode

    @property
    def colormap(self) -> str:
        return self.colour_box.currentData()

    def set_state(self, norm: str, colormap: str) -> None:
        """Show ``norm`` and ``colormap`` without emitting ``changed``."""
        mode, limit = parse_norm(norm)
        self.scale_box.setCurrentIndex(self.scale_box.findData(mode))
        self.limit.blockSignals(True)
        self.limit.setValue(limit or 0.0)
        self.limit.blockSignals(False)
        self.limit.setVisible(mode == "fixed")
        i = self.colour_box.findData(colormap)
        if i < 0:
            self.colour_box.addItem(colormap, colormap)
            i = self.colour_box.count() - 1
        self.colour_box.setCurrentIndex(i)
        self.bar.set_colormap(colormap)
        ends, sentence = scale_text(norm, colormap)
        self.bar.set_labels(ends)
        self.caption.setText(sentence)

    def show_ranges(self, layers: list[LayerView]) -> None:
        text = ranges_text(layers)
        self.bar.setToolTip(text)
        self.caption.setToolTip(text)

    def _picked(self, *_args) -> None:
        norm, colormap = self.norm, self.colormap
        self.set_state(norm, colormap)
        self.changed.emit(norm, colormap)
