"""The Train panel: pick data and an architecture, train in a worker thread, watch the
first layers' filters and a probe image's feature maps change, scrub the filter timeline,
read the curves and the confusion matrix, save, and switch the viewer to the result."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from cnn_viewer.models.training.studio import TrainSettings
from cnn_viewer.models.zoo.small_cnn import ACTIVATIONS, POOLS
from cnn_viewer.models.zoo.studio_models import ArchOptions
from cnn_viewer.ui.train.data import DataChooser, snapshots_root
from cnn_viewer.ui.train.views import ArrayView, ConfusionView, CurvesView
from cnn_viewer.ui.train.worker import SnapshotView, TrainRequest, TrainWorker
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

MAX_TIMELINE = 400  # snapshots kept for scrubbing and export
ARCHS = [
    ("small CNN", "small"),
    ("resnet18 (fine-tune)", "resnet18"),
    ("mobilenet_v3_small (fine-tune)", "mobilenet_v3_small"),
    ("efficientnet_b0 (fine-tune)", "efficientnet_b0"),
]


def _spin(lo: int, hi: int, value: int, tip: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    box.setToolTip(tip)
    return box


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelTitle")
    return label


class TrainPanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.worker = TrainWorker(self)
        self.worker.status.connect(self._status)
        self.worker.prepared.connect(self._prepared)
        self.worker.progress.connect(self._progress)
        self.worker.snapshot.connect(self._snapshot)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.timeline: list[SnapshotView] = []
        self.views: dict[str, ArrayView] = {}
        self.prepared = None
        self.outcome = None
        self.settings: TrainSettings | None = None
        self.saved_path: Path | None = None
        self.last_progress = None
        self._dirty = False
        self._build()
        self._redraw = QTimer(self)
        self._redraw.setInterval(200)
        self._redraw.timeout.connect(self._redraw_curves)
        self._set_running(False)

    # ---- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addLayout(self._build_controls(), 0)
        row.addLayout(self._build_live(), 3)
        self.curves = CurvesView()
        row.addWidget(self.curves, 3)
        col = QVBoxLayout()
        col.addWidget(_title("Validation"))
        self.confusion = ConfusionView()
        col.addWidget(self.confusion, 1)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("write the trained network as a cnn-viewer checkpoint")
        self.save_button.clicked.connect(self.save_dialog)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("switch the viewer to the trained network")
        self.use_button.clicked.connect(self.use_model)
        col.addWidget(self.save_button)
        col.addWidget(self.use_button)
        row.addLayout(col, 2)

    def _build_controls(self) -> QVBoxLayout:
        col = QVBoxLayout()
        self.tabs = QTabWidget()
        self.tabs.setMaximumWidth(330)
        self.data = DataChooser(self._grab_frame)
        self.data.message.connect(self._status)
        for page, title in [(self.data, "Data"), (self._build_network(), "Network"),
                            (self._build_training(), "Training")]:  # fmt: skip
            scroll = QScrollArea()
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            self.tabs.addTab(scroll, title)
        col.addWidget(self.tabs, 1)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop now; the weights after the last step are kept")
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.start_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("step %v of %m")
        col.addWidget(self.progress_bar)
        self.status_label = QLabel("Choose data, then Start.")
        self.status_label.setWordWrap(True)
        self.status_label.setMaximumWidth(330)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.status_label)
        return col

    def _build_network(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.arch_box = QComboBox()
        for text, name in ARCHS:
            self.arch_box.addItem(text, name)
        self.arch_box.currentIndexChanged.connect(self._arch_changed)
        form.addRow("network", self.arch_box)
        self.blocks = _spin(1, 5, 2, "conv blocks: conv, activation, pooling")
        self.first_channels = _spin(1, 64, 8, "filters in block 1; each next block doubles")
        self.kernel = _spin(1, 9, 5, "filter size (pixels)")
        self.stride = _spin(1, 4, 1)
        self.padding = _spin(-1, 8, -1, "-1: kernel // 2 (keeps the map size)")
        self.padding.setSpecialValueText("auto")
        self.activation = QComboBox()
        self.activation.addItems(sorted(ACTIVATIONS))
        self.activation.setCurrentText("relu")
        self.pool = QComboBox()
        self.pool.addItems(sorted(POOLS))
        self.pool.setCurrentText("max")
        self.input_side = _spin(0, 512, 0, "0: 28 for MNIST, 32 for images, 128 to fine-tune")
        self.input_side.setSpecialValueText("auto")
        self.gray = QCheckBox("gray input (1 channel)")
        self.pretrained = QCheckBox("pretrained backbone (download once)")
        self.pretrained.setChecked(True)
        self.freeze = QCheckBox("train only the head (backbone frozen)")
        self.freeze.setChecked(True)
        self.small_rows = [self.blocks, self.first_channels, self.kernel, self.stride]
        self.small_rows += [self.padding, self.activation, self.pool, self.gray]
        for label, w in [("blocks", self.blocks), ("filters (block 1)", self.first_channels),
                         ("kernel", self.kernel), ("stride", self.stride),
                         ("padding", self.padding), ("activation", self.activation),
                         ("pooling", self.pool), ("input size", self.input_side)]:  # fmt: skip
            form.addRow(label, w)
        form.addRow(self.gray)
        form.addRow(self.pretrained)
        form.addRow(self.freeze)
        self._arch_changed()
        return page

    def _build_training(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.epochs = _spin(1, 500, 10)
        self.batch = _spin(1, 1024, 32)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(4)
        self.lr.setRange(0.0001, 1.0)
        self.lr.setSingleStep(0.001)
        self.lr.setValue(0.005)
        self.snapshot_every = _spin(1, 1000, 5, "steps between filter snapshots")
        self.seed = _spin(0, 2**31 - 1, 0)
        self.augment = QCheckBox("augment (small shifts, turns, scaling)")
        self.augment.setChecked(True)
        self.val_percent = _spin(5, 50, 20, "share of each class held out for validation")
        self.val_percent.setSuffix(" %")
        for label, w in [("epochs", self.epochs), ("batch", self.batch), ("learning rate", self.lr),
                         ("snapshot every", self.snapshot_every), ("seed", self.seed),
                         ("validation", self.val_percent)]:  # fmt: skip
            form.addRow(label, w)
        form.addRow(self.augment)
        return page

    def _build_live(self) -> QVBoxLayout:
        col = QVBoxLayout()
        self.grid = QGridLayout()
        self.probe_view = ArrayView("probe image")
        self.grid.addWidget(self.probe_view, 1, 0)
        placeholder = ArrayView("filters appear here after Start")
        self.views["_placeholder"] = placeholder
        self.grid.addWidget(placeholder, 0, 0)
        col.addLayout(self.grid, 1)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("scrub the filter timeline")
        self.slider.valueChanged.connect(self._scrub)
        self.slider_label = QLabel("timeline: empty")
        self.slider_label.setMinimumWidth(150)
        row.addWidget(QLabel("Filter timeline"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        col.addLayout(row)
        row = QHBoxLayout()
        self.video_button = QPushButton("Export MP4…")
        self.video_button.clicked.connect(lambda: self.export_dialog("mp4"))
        self.strip_button = QPushButton("Export PNG strip…")
        self.strip_button.clicked.connect(lambda: self.export_dialog("png"))
        row.addWidget(self.video_button)
        row.addWidget(self.strip_button)
        row.addStretch(1)
        col.addLayout(row)
        return col

    # ---- options -----------------------------------------------------------------------
    def _arch_changed(self) -> None:
        small = self.arch_box.currentData() == "small"
        for w in self.small_rows:
            w.setEnabled(small)
        self.pretrained.setEnabled(not small)
        self.freeze.setEnabled(not small)

    def arch_options(self) -> ArchOptions:
        side = self.input_side.value()
        name = self.arch_box.currentData()
        small = name == "small"
        size = (side, side) if side else (None if small else (128, 128))
        return ArchOptions(
            arch=name,
            channels=[self.first_channels.value() * 2**i for i in range(self.blocks.value())],
            kernel_size=self.kernel.value(),
            stride=self.stride.value(),
            padding=None if self.padding.value() < 0 else self.padding.value(),
            activation=self.activation.currentText(),
            pool=self.pool.currentText(),
            input_size=size,
            in_channels=(1 if self.gray.isChecked() else 3) if small else None,
            pretrained=self.pretrained.isChecked(),
            freeze=self.freeze.isChecked(),
        )

    def train_settings(self) -> TrainSettings:
        return TrainSettings(
            epochs=self.epochs.value(),
            batch_size=self.batch.value(),
            lr=self.lr.value(),
            seed=self.seed.value(),
            snapshot_every=self.snapshot_every.value(),
            augment=self.augment.isChecked(),
            device=str(self.window.model.device),
        )

    # ---- running -----------------------------------------------------------------------
    def start(self) -> None:
        if self.worker.running:
            return
        try:
            folder = self.data.folder()
        except ValueError as exc:
            self._status(str(exc))
            return
        arch = self.arch_options()
        if self.data.kind == "mnist" and arch.in_channels == 3 and arch.arch == "small":
            arch.in_channels = None  # MNIST is gray unless asked otherwise
        self.settings = self.train_settings()
        self._reset()
        self.worker.start(TrainRequest(folder, arch, self.settings, self.val_percent.value() / 100))
        self._set_running(True)
        self._redraw.start()

    def _reset(self) -> None:
        self.timeline, self.prepared, self.outcome, self.saved_path = [], None, None, None
        self.curves.clear()
        self.confusion.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.slider.setRange(0, 0)
        self.slider_label.setText("timeline: empty")
        self.progress_bar.setValue(0)
        self._started = time.perf_counter()

    def toggle_pause(self) -> None:
        control = self.worker.control
        if not self.worker.running:
            return
        if control.paused:
            control.resume()
            self.pause_button.setText("Pause")
            self._status("training")
        else:
            control.pause()
            self.pause_button.setText("Resume")
            self._status("paused: Resume goes on from here, Cancel keeps these weights")

    def cancel(self) -> None:
        if self.worker.running:
            self.worker.control.cancel()
            self._status("cancelling after this step…")

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel a running training and wait for its thread, at most ``timeout`` s."""
        self.data.stop_recording()
        self._redraw.stop()
        ended = self.worker.stop(timeout)
        self.worker.detach()
        return ended

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Pause")
        for page in (1, 2):
            self.tabs.widget(page).setEnabled(not running)
        self.data.kind_box.setEnabled(not running)
        self.data.path_row.setEnabled(not running)
        done = not running and self.outcome is not None
        self.save_button.setEnabled(done)
        self.use_button.setEnabled(done)
        has = bool(self.timeline)
        self.video_button.setEnabled(has)
        self.strip_button.setEnabled(has)

    # ---- worker signals (GUI thread, queued) --------------------------------------------
    def _status(self, text: str) -> None:
        self.status_label.setText(text)

    def _prepared(self, prepared) -> None:
        self.prepared = prepared
        data = prepared.data
        counts = ", ".join(f"{c} {n}" for c, n in zip(data.classes, data.counts(), strict=True))
        text = (
            f"{len(prepared.train_y)} training, {len(prepared.val_y)} validation images ({counts})"
        )
        if data.skipped:
            text += f"; skipped {len(data.skipped)} unreadable: {data.skipped[0]}"
        notes = "; ".join(prepared.built.notes)
        self._status(text + (f". {notes}" if notes else ""))
        probe = prepared.val_x[0].mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
        rgb = np.repeat(probe, 3, 2) if probe.shape[2] == 1 else probe
        self.probe_view.set_image(rgb, f"probe ({data.classes[int(prepared.val_y[0])]})")

    def _progress(self, p) -> None:
        self.last_progress = p
        self.curves.add(p)
        self._dirty = True
        self.progress_bar.setMaximum(p.total_steps)
        self.progress_bar.setValue(p.step)
        if p.val_accuracy is not None:
            self._status(
                f"epoch {p.epoch}/{p.epochs}: validation accuracy {p.val_accuracy:.1%}, "
                f"loss {p.val_loss:.3f} ({p.seconds:.0f} s)"
            )

    def _redraw_curves(self) -> None:
        if self._dirty:
            self._dirty = False
            self.curves.redraw()

    def _snapshot(self, view: SnapshotView) -> None:
        follow = self.slider.value() >= len(self.timeline) - 1
        self.timeline.append(view)
        if len(self.timeline) > MAX_TIMELINE:  # long runs: keep every other, and the newest
            self.timeline = self.timeline[:-1:2] + [view]
            follow = True
        self.slider.setRange(0, len(self.timeline) - 1)
        self.video_button.setEnabled(True)
        self.strip_button.setEnabled(True)
        if follow:
            self.slider.setValue(len(self.timeline) - 1)
            self._show(view)

    def _scrub(self, index: int) -> None:
        if 0 <= index < len(self.timeline):
            self._show(self.timeline[index])

    def _show(self, view: SnapshotView) -> None:
        placeholder = self.views.pop("_placeholder", None)
        if placeholder is not None:
            self.grid.removeWidget(placeholder)
            placeholder.deleteLater()
        filters = [t for t in view.images if t.endswith("filters")]
        maps = [t for t in view.images if not t.endswith("filters")]
        for col, title in enumerate(filters):  # conv1 | conv2 (wide: one column a filter)
            self._view(title, 0, col, 1 + col).set_image(view.images[title])
        for col, title in enumerate(maps, start=1):
            self._view(title, 1, col).set_image(view.images[title])
        live = " (live)" if self.slider.value() == len(self.timeline) - 1 else ""
        self.slider_label.setText(
            f"step {view.step}, epoch {view.epoch}{live}  [{self.slider.value() + 1}/"
            f"{len(self.timeline)}]"
        )

    def _view(self, title: str, row: int, col: int, span: int = 1) -> ArrayView:
        if title not in self.views:
            self.views[title] = ArrayView(title)
            self.grid.addWidget(self.views[title], row, col, 1, span)
        return self.views[title]

    def _finished(self, prepared, outcome) -> None:
        self.prepared, self.outcome = prepared, outcome
        self._redraw.stop()
        self.curves.redraw()
        self.confusion.show_result(prepared.classes, outcome.confusion, outcome.per_class_accuracy)
        self._status(outcome.message)
        self._set_running(False)

    def _failed(self, message: str) -> None:
        self._redraw.stop()
        self._status(message)
        self._set_running(False)
        self.window.statusBar().showMessage(f"training: {message}", 8000)

    # ---- results -----------------------------------------------------------------------
    def save_to(self, path: str | Path) -> bool:
        from cnn_viewer.models.training.studio_run import save

        try:
            save(path, self.prepared, self.outcome, self.settings)
        except (OSError, ValueError) as exc:
            self._status(f"could not save: {exc}")
            return False
        self.saved_path = Path(path)
        self._status(f"saved {path}")
        return True

    def save_dialog(self) -> None:
        if self.outcome is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the trained network", "trained.safetensors", "Checkpoint (*.safetensors)"
        )
        if path:
            self.save_to(path if path.endswith(".safetensors") else path + ".safetensors")

    def use_model(self) -> None:
        """Save (if not yet saved) and load the checkpoint into the viewer."""
        from cnn_viewer.core.options import ModelOptions

        if self.outcome is None:
            return
        if self.saved_path is None:
            folder = snapshots_root().parent / "trained"
            if not self.save_to(folder / time.strftime("trained-%Y%m%d-%H%M%S.safetensors")):
                return
        self.window.load_model(
            ModelOptions(
                model="digits",
                checkpoint=str(self.saved_path),
                device=self.window.model_options.device,
            )
        )

    def export_dialog(self, kind: str) -> None:
        if not self.timeline:
            return
        text = "MP4 video (*.mp4)" if kind == "mp4" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the filter timeline", "", text)
        if path:
            self.export(path if path.lower().endswith(f".{kind}") else f"{path}.{kind}")

    def export(self, path: str | Path) -> bool:
        """The first conv layer's filter timeline as an MP4 (by suffix) or a PNG strip."""
        from cnn_viewer.models.training.filter_images import export_strip, export_video

        raws = [v.raw for v in self.timeline]
        layer = next(iter(raws[0].filters))
        try:
            if str(path).lower().endswith(".mp4"):
                n = export_video(raws, layer, path)
                self._status(f"wrote {path} ({n} frames of {layer}'s filters)")
            else:
                export_strip(raws, layer, path)
                self._status(f"wrote {path}")
        except (OSError, ValueError) as exc:
            self._status(f"could not export: {exc}")
            return False
        return True

    # ---- recording frames --------------------------------------------------------------
    def _grab_frame(self) -> np.ndarray | None:
        w = self.window
        if w.source is None:
            image = w.pad.image()
            return image if image.any() else None
        result = w.last_result
        return None if result is None else result.frame_image
