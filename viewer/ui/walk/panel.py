"""The guided walk's panel: one stage of the network, what it does in a sentence, and the
live numbers of one position that show it (cnn_viewer.core.explain.walk). GUI thread."""

from __future__ import annotations

from html import escape

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget
from torch import nn

from cnn_viewer.core.explain.walk import WHAT, Stage, Step
from cnn_viewer.ui.inspect.views import HoverView
from cnn_viewer.ui.walk.numbers import StepNumbers

TITLES = {
    "conv": "convolution",
    "relu": "ReLU",
    "activation": "activation",
    "batchnorm": "batch norm",
    "pool": "pooling",
    "adaptive_pool": "global pooling",
    "flatten": "flatten",
    "linear": "linear (fully connected)",
    "passthrough": "pass-through",
    "softmax": "softmax",
    "other": "layer",
}
CURVES = {
    "Hardswish": "x · min(max(x + 3, 0), 6) / 6",
    "Hardsigmoid": "min(max(x + 3, 0), 6) / 6",
    "Sigmoid": "1 / (1 + exp(−x))",
    "Tanh": "tanh(x)",
    "SiLU": "x / (1 + exp(−x))",
    "GELU": "x · Φ(x)",
}
INPUT_PX = 112  # the network input beside the numbers


class WalkPanel(QScrollArea):
    """``show_step(stages, i, step, layer_row)``; ``show_message(text)``. Emits ``moved(±1)``
    for the Back/Next buttons and ``close_requested`` for Close."""

    moved = pyqtSignal(int)
    close_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: Step | None = None
        self.stage_count = 0
        self.labels: list[str] = []
        self.title = QLabel("<b>Guided walk</b>")
        self.title.setWordWrap(True)
        self.what = QLabel()
        self.what.setWordWrap(True)
        self.what.setTextFormat(Qt.TextFormat.RichText)
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.footer = QLabel()
        self.footer.setObjectName("dim")
        self.footer.setWordWrap(True)
        self.back = QPushButton("◀ Back (B)")
        self.next = QPushButton("Next (N) ▶")
        self.close_button = QPushButton("Close (Esc)")
        self.back.clicked.connect(lambda: self.moved.emit(-1))
        self.next.clicked.connect(lambda: self.moved.emit(1))
        self.close_button.clicked.connect(self.close_requested)
        buttons = QHBoxLayout()
        for b in (self.back, self.next, self.close_button):
            buttons.addWidget(b)
        self.input_view = HoverView()  # the network input, the chosen value's field boxed
        self.input_view.setFixedSize(INPUT_PX, INPUT_PX)
        self.field = QLabel()
        self.field.setWordWrap(True)
        self.field.setObjectName("dim")
        field_row = QHBoxLayout()
        field_row.addWidget(self.input_view, 0, Qt.AlignmentFlag.AlignTop)
        field_row.addWidget(self.field, 1, Qt.AlignmentFlag.AlignTop)
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.addWidget(self.title)
        v.addLayout(buttons)
        v.addLayout(field_row)
        v.addWidget(self.what)
        v.addWidget(self.numbers)
        v.addWidget(self.footer)
        v.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        # a wide grid (a 7 x 7 kernel) scrolls rather than cutting the text beside it
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.show_message("Press N to step through the network on the current input.")

    def show_message(self, text: str) -> None:
        self.step = None
        self.what.setText(escape(text))
        self.numbers.setText("")
        self.footer.setText("")
        self._show_field(None, None)

    def _show_field(self, image: np.ndarray | None, step: Step | None) -> None:
        """The network input with the box of input pixels the chosen value sees."""
        if image is None or step is None:
            self.input_view.hide()
            self.field.setText("")
            return
        self.input_view.set_images(image)
        self.input_view.set_box(step.box)
        self.input_view.show()
        if step.box is None:
            self.field.setText("The network input. This value depends on all of it.")
            return
        y0, x0, y1, x1 = step.box
        self.field.setText(
            f"The network input; the box is what this value sees: rows {y0}–{y1 - 1}, "
            f"columns {x0}–{x1 - 1} ({y1 - y0}×{x1 - x0} pixels)."
        )

    def show_step(
        self, stages: list[Stage], i: int, step: Step, row: str | None, image=None
    ) -> None:
        """Stage ``i`` of ``stages`` worked out; ``row``: its row in the layers panel;
        ``image``: the network input as shown (uint8), for the field of the value."""
        self.step, self.stage_count = step, len(stages)
        self._show_field(image, step)
        st = step.stage
        shape = ""
        if st.in_shape and st.out_shape:
            shape = f" · {'×'.join(map(str, st.in_shape))} → {'×'.join(map(str, st.out_shape))}"
        module = "" if st.module is None else f" ({type(st.module).__name__})"
        self.title.setText(
            f"<b>Stage {i + 1} of {len(stages)}: {escape(st.name)}</b>{escape(module)}"
            f"<br><span style='color:#9aa0aa'>{TITLES[st.kind]}{shape}</span>"
        )
        what = WHAT[st.kind]
        if isinstance(st.module, nn.MaxPool2d):
            k = st.module.kernel_size
            k = f"{k}×{k}" if isinstance(k, int) else "×".join(map(str, k))
            what = f"keeps the largest value of each {k} window of each map (the maps shrink)"
        if st.kind == "activation" and st.module is not None:
            curve = CURVES.get(type(st.module).__name__)
            what += f": {curve}" if curve else ""
        if step.combined:
            what += (
                f". Its input is {st.source}'s output changed by code between the "
                "modules (a residual connection adds the block's input back; a squeeze-excite "
                "multiplies by channel weights)"
            )
        elif st.branch:
            what += f". Its input is {st.source}'s output (the network branches here)"
        self.what.setText(f"<b>What it does:</b> {escape(what)}." if what else "")
        self.numbers.setText(StepNumbers(self.labels).html(step))
        self.back.setEnabled(i > 0)
        self.next.setEnabled(i < len(stages) - 1)
        if row:
            place = f"This stage is highlighted in the layers panel as <b>{escape(row)}</b>."
        elif st.kind == "softmax":
            place = "Its probabilities are the ones the Prediction tab lists."
        else:
            place = "This stage has no row in the layers panel (L chooses the rows)."
        self.footer.setText(
            f"{place} Each stage shows one position: the largest value of its output. The "
            "numbers follow the live input. N next · B back · Esc closes."
        )

    # ---- the numbers, one kind of stage each -------------------------------------------------
