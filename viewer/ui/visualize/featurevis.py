"""Visualize tabs that optimise an image: Feature vis (activation maximisation) and
DeepDream. The image is shown as it forms."""

from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.visualize.deepdream import deep_dream
from cnn_viewer.core.visualize.featurevis import Target, default_settings, maximize
from cnn_viewer.ui.visualize.jobs import ImageView
from cnn_viewer.ui.widgets.form_controls import spin_box

KIND_TEXT = [("Class score", "class"), ("Channel (mean of its map)", "channel"),
             ("Unit (one position)", "unit")]  # fmt: skip


def save_image(image: np.ndarray | None, path: str) -> str:
    """Write ``image`` (uint8 gray or RGB) to ``path``; returns a status line."""
    import cv2

    if image is None:
        return "nothing to save yet: run it first"
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok = cv2.imwrite(path, bgr)
    return f"saved {path}" if ok else f"could not write {path} (a .png in a folder you can write?)"


def save_button(tab: QWidget, image_of, default_name: str) -> QPushButton:
    """A "Save PNG…" button for the image ``image_of()`` returns."""
    button = QPushButton("Save PNG…")

    def save() -> None:
        path, _ = QFileDialog.getSaveFileName(tab, "Save image", default_name, "PNG (*.png)")
        if path:
            tab.panel.bar.idle(save_image(image_of(), path))

    button.clicked.connect(save)
    return button


def _info_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setMinimumWidth(220)
    return label


class FeatureVisTab(QWidget):
    """Pick a class, channel or unit; Run optimises an image for it."""

    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.result = None
        self.digit_row = QWidget()
        dr = QHBoxLayout(self.digit_row)
        dr.setContentsMargins(0, 0, 0, 0)
        dr.addWidget(QLabel("What does a"))
        self.digit_buttons = []
        for d in range(10):
            b = QPushButton(str(d))
            b.setFixedWidth(34)
            b.setToolTip(f"Optimise an image for class {d}")
            b.clicked.connect(lambda _=False, d=d: self.run_class(d))
            dr.addWidget(b)
            self.digit_buttons.append(b)
        dr.addWidget(QLabel("look like to the network?"))
        dr.addStretch(1)

        self.kind = QComboBox()
        for text, key in KIND_TEXT:
            self.kind.addItem(text, key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.class_box = QComboBox()
        self.class_box.setEditable(True)  # type to find one of 1000 classes
        self.class_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.class_box.setMaxVisibleItems(20)
        self.layer_box = QComboBox()
        self.channel = spin_box(0, 99999, 0, "channel of the layer (click a mosaic tile to pick)")
        self.layer_box.currentTextChanged.connect(lambda _t: clamp_channel(self))
        self.unit_y = spin_box(-1, 9999, -1, "row in the map (centre when blank)", "centre")
        self.unit_x = spin_box(-1, 9999, -1, "column in the map (centre when blank)", "centre")
        self.steps = spin_box(1, 5000, 128, "optimisation steps")
        self.seed = spin_box(0, 1_000_000, 0, "random seed: the same seed gives the same image")
        self.param = QComboBox()
        for text, key in (("auto", None), ("Fourier (decorrelated)", "fourier"),
                          ("pixels + blur", "pixel")):  # fmt: skip
            self.param.addItem(text, key)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Optimise the image (Ctrl+Return)")
        self.run_button.setShortcut("Ctrl+Return")
        self.run_button.clicked.connect(self.run)

        form = QFormLayout()
        form.addRow("Maximise", self.kind)
        form.addRow("Class", self.class_box)
        form.addRow("Layer", self.layer_box)
        unit = QHBoxLayout()
        for w in (self.channel, QLabel("at y"), self.unit_y, QLabel("x"), self.unit_x):
            unit.addWidget(w)
        form.addRow("Channel", unit)
        opts = QHBoxLayout()
        for w in (QLabel("steps"), self.steps, QLabel("seed"), self.seed, self.param):
            opts.addWidget(w)
        form.addRow("Options", opts)
        self.save_button = save_button(self, lambda: self.view.image, "feature-vis.png")
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.save_button)
        form.addRow("", buttons)
        self.view = ImageView()
        self.info = _info_label()
        left = QVBoxLayout()
        left.addWidget(self.digit_row)
        left.addLayout(form)
        left.addStretch(1)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 2)
        lay.addWidget(self.view, 2)
        lay.addWidget(self.info, 1)
        self._kind_changed()

    def model_changed(self, model) -> None:
        self.digit_row.setVisible(model.is_digits)
        self.class_box.clear()
        for i, name in enumerate(model.labels):
            self.class_box.addItem(f"{i}: {name}", i)
        self.layer_box.clear()
        self.layer_box.addItems(self.panel.layer_names())
        self.view.show_image(None)
        self.info.setText("")

    def select_unit(self, layer: str, channel: int) -> None:
        if self.layer_box.findText(layer) < 0:
            self.layer_box.addItem(layer)
        self.layer_box.setCurrentText(layer)
        self.channel.setValue(channel)
        if self.kind.currentData() == "class":
            self.kind.setCurrentIndex(1)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.class_box.setEnabled(kind == "class")
        for w in (self.layer_box, self.channel):
            w.setEnabled(kind != "class")
        for w in (self.unit_y, self.unit_x):
            w.setEnabled(kind == "unit")

    def target(self) -> Target:
        kind = self.kind.currentData()
        if kind == "class":
            index = self.class_box.currentData()
            if index is None or self.class_box.currentText() != self.class_box.itemText(
                self.class_box.currentIndex()
            ):
                raise ValueError(f"no class named {self.class_box.currentText()!r}; pick one")
            return Target("class", int(index))
        position = None
        if kind == "unit" and self.unit_y.value() >= 0 and self.unit_x.value() >= 0:
            position = (self.unit_y.value(), self.unit_x.value())
        return Target(kind, self.channel.value(), self.layer_box.currentText(), position)

    def run_class(self, index: int) -> None:
        """One click: maximise class ``index``."""
        self.kind.setCurrentIndex(0)
        self.class_box.setCurrentIndex(index)
        self.run()

    def run(self) -> None:
        try:
            target = self.target()
        except ValueError as exc:
            self.panel.bar.idle(str(exc))
            return
        model = self.panel.model
        settings = default_settings(model, target)
        settings.steps, settings.seed = self.steps.value(), self.seed.value()
        settings.param = self.param.currentData() or settings.param
        panel = self.panel
        name = target.describe(model.labels)

        def job(h):
            def progress(p):
                h.progress(p.step, p.total, f"{name}: step {p.step}/{p.total}, value {p.value:.3g}")
                if p.image is not None:
                    h.preview(p.image)

            return maximize(panel.work_model(), target, settings, progress, h.stopped)

        self.info.setText(f"optimising an image for {name}…")
        panel.run(f"Feature vis: {name}", job, self._done, self.view.show_image)

    def _done(self, result) -> None:
        self.result = result
        self.view.show_image(result.image)
        labels = self.panel.model.labels
        top = np.argsort(-result.probs)[:3]
        lines = [
            f"<b>{self.target_text()}</b>",
            f"objective {result.start_value:.3g} → {result.value:.3g}",
            f"{result.steps} steps in {result.seconds:.1f} s",
            "",
            "the network says:",
        ]
        lines += [f"&nbsp;&nbsp;{labels[i]}: {result.probs[i]:.1%}" for i in top]
        self.info.setText("<br>".join(lines))

    def target_text(self) -> str:
        try:
            return self.target().describe(self.panel.model.labels)
        except ValueError:
            return ""


def clamp_channel(tab) -> None:
    """The channel box of ``tab`` goes no further than its layer's channels (a model or
    layer switch leaves no index beyond the layer selected)."""
    layer = tab.layer_box.currentText()
    n = tab.panel.channel_count(layer) if layer else None
    tab.channel.setMaximum(n - 1 if n else 99999)  # Qt brings the value down with it


class DeepDreamTab(QWidget):
    """Amplify what a layer sees in the current input."""

    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.layer_box = QComboBox()
        self.channel = spin_box(-1, 99999, -1, "only this channel (all when blank)", "all")
        self.layer_box.currentTextChanged.connect(lambda _t: clamp_channel(self))
        self.steps = spin_box(1, 500, 20, "steps per octave")
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.001, 0.5)
        self.strength.setSingleStep(0.01)
        self.strength.setDecimals(3)
        self.strength.setValue(0.02)
        self.strength.setToolTip("size of each step (the image spans 0..1)")
        self.octaves = spin_box(1, 6, 3, "scales, smallest first; details carry up")
        self.run_button = QPushButton("Dream on the current input")
        self.run_button.clicked.connect(self.run)
        form = QGridLayout()
        for r, (text, w) in enumerate((("Layer", self.layer_box), ("Channel", self.channel),
                                       ("Steps", self.steps), ("Strength", self.strength),
                                       ("Octaves", self.octaves))):  # fmt: skip
            form.addWidget(QLabel(text), r, 0)
            form.addWidget(w, r, 1)
        form.addWidget(self.run_button, 5, 0, 1, 2)
        self.save_button = save_button(self, lambda: self.after.image, "deepdream.png")
        form.addWidget(self.save_button, 6, 0, 1, 2)
        form.setRowStretch(7, 1)
        self.before = ImageView()
        self.after = ImageView()
        lay = QHBoxLayout(self)
        lay.addLayout(form, 1)
        lay.addWidget(self.before, 2)
        lay.addWidget(self.after, 2)

    def model_changed(self, model) -> None:
        self.layer_box.clear()
        self.layer_box.addItems(self.panel.layer_names())
        self.before.show_image(None)
        self.after.show_image(None)

    def select_unit(self, layer: str, channel: int) -> None:
        if self.layer_box.findText(layer) < 0:
            self.layer_box.addItem(layer)
        self.layer_box.setCurrentText(layer)

    def run(self) -> None:
        result = self.panel.window.last_result
        image = None if result is None else result.network_image
        if image is None:
            self.panel.bar.idle("no input yet: draw a digit or choose a source first")
            return
        layer, channel = self.layer_box.currentText(), self.channel.value()
        args = dict(
            steps=self.steps.value(),
            strength=self.strength.value(),
            octaves=self.octaves.value(),
            channel=None if channel < 0 else channel,
        )
        panel = self.panel
        self.before.show_image(image)

        def job(h):
            def progress(p):
                h.progress(p.step, p.total, f"DeepDream {layer}: step {p.step}/{p.total}")
                if p.image is not None:
                    h.preview(p.image)

            return deep_dream(panel.work_model(), image, layer, on_progress=progress,
                              should_stop=h.stopped, **args)  # fmt: skip

        panel.run(f"DeepDream {layer}", job, self.after.show_image, self.after.show_image)
