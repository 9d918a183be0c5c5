"""The saliency suite on the frozen frame: choose a method, a class and (for the CAM
methods) a layer; the map is computed on a worker thread with progress and cancel, and
each method's measured cost is kept in a table."""

from __future__ import annotations

import threading

import numpy as np
import torch
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.display.colormaps import colorize, heat_lut
from cnn_viewer.core.explain.attribution import BATCH, METHODS, attribute, baseline_for
from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.ui.widgets.colour_bar import ColourBar
from cnn_viewer.ui.widgets.pixel_view import PixelView
from cnn_viewer.ui.workers.worker import Failure, Task, Worker


class ModelCopies:
    """One private copy of the current network per user (worker threads make it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key = None
        self._copy = None

    def get(self, module: torch.nn.Module) -> torch.nn.Module:
        with self._lock:
            if self._key is not module:
                self._key, self._copy = module, private_copy(module)
            return self._copy

    def drop(self) -> None:
        with self._lock:
            self._key = self._copy = None


class SaliencyPanel(QWidget):
    def __init__(self, window, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_ = window
        self.copies = ModelCopies()
        # One run at a time; a newer run's start drops the older one's reports.
        self.job = Worker(self, name="saliency")
        self.job.progress.connect(self._progress)
        self.job.returned.connect(self._done)
        self.job.cancelled.connect(lambda _exc: self._cancelled())
        self.job.errored.connect(self._failed)
        self.costs: dict[str, tuple[float, int]] = {}  # method -> (ms, passes), this model
        self.last = None  # the Attribution shown
        self.shown_for: np.ndarray | None = None  # the network input the map was made for
        self.stale = False  # the map is of an earlier input than the one now shown
        self._input = None  # (net_image, labels) of the running job
        self.method_box = QComboBox()
        for key, m in METHODS.items():
            self.method_box.addItem(m.title, key)
        self.method_box.currentIndexChanged.connect(self._method_changed)
        self.target_box = QComboBox()
        self.target_box.setMaxVisibleItems(20)
        self.layer_box = QComboBox()
        self.layer_box.setMaxVisibleItems(20)
        self.run_button = QPushButton("Run (R)")
        self.run_button.clicked.connect(lambda: self.run())
        self.all_button = QPushButton("Measure all (Shift+R)")
        self.all_button.clicked.connect(self.run_all)
        self.cancel_button = QPushButton("Cancel (X)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.bar = QProgressBar()
        self.bar.hide()
        for box in (self.method_box, self.target_box, self.layer_box):
            # as narrow as the column: long names are cut in the box, not the panel
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(8)
        self.about = QLabel(
            "Runs one method on the <b>frozen</b> frame (R freezes it; Space resumes "
            "drawing). The heatmap under the input is the toolbar's <i>Live map</i>, a "
            "separate setting."
        )
        self.about.setWordWrap(True)
        self.view = PixelView(smooth=False)
        self.view.setFixedSize(220, 220)
        self.legend = ColourBar()
        self.legend.set_colormap("turbo")
        self.legend.set_labels(("0 (clear)", "", "strongest"))
        self.legend.setToolTip(
            "Saliency colours: clear where the map is 0, blue to red as it grows; each map "
            "is scaled to its own largest value"
        )
        self.caption = QLabel("no map yet")
        self.caption.setWordWrap(True)
        self.cost_table = QTableWidget(len(METHODS), 3)
        self.cost_table.setHorizontalHeaderLabels(["method", "cost (ms)", "forward calls"])
        self.cost_table.verticalHeader().hide()
        self.cost_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, m in enumerate(METHODS.values()):
            self.cost_table.setItem(r, 0, QTableWidgetItem(m.title))
            self.cost_table.setItem(r, 1, QTableWidgetItem("–"))
            self.cost_table.setItem(r, 2, QTableWidgetItem(""))
        header = self.cost_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.cost_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cost_table.setHorizontalHeaderLabels(["method", "ms", "passes"])
        self.cost_table.horizontalHeaderItem(2).setToolTip("forward calls")
        self.cost_table.setFixedHeight(
            self.cost_table.horizontalHeader().height() + 4 + sum(
                self.cost_table.rowHeight(r) for r in range(len(METHODS)))
        )  # fmt: skip
        form = QFormLayout()
        form.addRow("method (M)", self.method_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("class", self.target_box)
        form.addRow("CAM layer", self.layer_box)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button):
            buttons.addWidget(b)
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.addWidget(self.about)
        v.addLayout(form)
        v.addLayout(buttons)
        v.addWidget(self.all_button)
        v.addWidget(self.bar)
        v.addWidget(self.view)
        v.addWidget(self.legend)
        v.addWidget(self.caption)
        cost_title = QLabel("<b>Measured cost</b> on this model and machine (one frame)")
        cost_title.setWordWrap(True)
        v.addWidget(cost_title)
        v.addWidget(self.cost_table)
        v.addStretch(1)
        scroll = QScrollArea()  # scrolls, so the window's height is not forced up
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.on_model(window.state.model)

    # ---- model and choices -------------------------------------------------------------
    def on_model(self, model) -> None:
        self.job.cancel()
        self.copies.drop()
        self.costs.clear()
        self._show_costs()
        self.target_box.clear()
        self.target_box.addItem("top-1 class", -1)
        for i, name in enumerate(model.labels):
            self.target_box.addItem(f"{i}: {name}", i)
        self.layer_box.clear()
        layers = list(dict.fromkeys([*self.window_.engine.layers, model.cam_layer or ""]))
        for name in layers:
            if name and self.window_.engine.types.get(name, "") not in ("Linear", "Flatten"):
                self.layer_box.addItem(name, name)
        if model.cam_layer:
            self.layer_box.setCurrentIndex(max(0, self.layer_box.findData(model.cam_layer)))
        self._method_changed()

    def _method_changed(self) -> None:
        key = self.method_box.currentData()
        self.layer_box.setEnabled(bool(key) and METHODS[key].uses_layer)

    def cycle_method(self, step: int = 1) -> None:
        box = self.method_box
        box.setCurrentIndex((box.currentIndex() + step) % box.count())
        self.run()

    # ---- running -------------------------------------------------------------------------
    def run(self, methods: list[str] | None = None) -> bool:
        """Start the chosen method (or ``methods``) on the frozen frame; False if there
        is nothing to explain yet."""
        win = self.window_
        result = win.last_result
        if result is None or result.probe is None or result.probe.network_input is None:
            win.statusBar().showMessage("no frame to explain yet: draw or open an image", 4000)
            return False
        if not win.state.frozen:
            win.set_frozen(True)
            win.statusBar().showMessage("frozen for the saliency map; Space resumes", 4000)
        methods = methods or [self.method_box.currentData()]
        model = win.state.model
        chosen = self.target_box.currentData()
        target = int(result.logits.argmax()) if chosen in (None, -1) else int(chosen)
        layer = self.layer_box.currentData() or model.cam_layer
        x = torch.from_numpy(result.probe.network_input)[None].to(model.device)
        baseline = baseline_for(model).to(model.device)
        module, copies = model.module, self.copies

        def work(task: Task) -> list:
            twin = copies.get(module)
            done = []
            for i, key in enumerate(methods):
                task.check(f"{key} cancelled")

                def part(f: float, i: int = i) -> None:
                    task.progress((i + f) / len(methods))

                use = layer if METHODS[key].uses_layer else None
                done.append(attribute(twin, x, key, target, use, baseline, part, task.stop_event))
            return done

        self._input = (result.network_image, model.labels, model)
        self.bar.setValue(0)
        self.bar.show()
        self.cancel_button.setEnabled(True)
        self.caption.setText(f"computing {', '.join(METHODS[m].title for m in methods)} …")
        self.job.start(work)
        return True

    def run_all(self) -> None:
        self.run(list(METHODS))

    def cancel(self) -> None:
        if self.job.busy:
            self.job.cancel()
            self.caption.setText("cancelling …")

    def _progress(self, fraction: float) -> None:
        self.bar.setValue(int(fraction * 100))

    def _end(self) -> None:
        self.bar.hide()
        self.cancel_button.setEnabled(False)

    def _cancelled(self) -> None:
        self._end()
        self.copies.drop()  # a cancelled method may have left hooks on the copy
        self.caption.setText("cancelled")

    def _failed(self, failure: Failure) -> None:
        self._end()
        self.copies.drop()  # a failed method may have left hooks on the copy
        self.caption.setText(f"failed: {failure.message}")
        self.window_._error("Saliency failed", failure.message)

    def _done(self, results: list) -> None:
        if self._input is None:
            return
        self._end()
        net_image, labels, model = self._input
        if model is not self.window_.state.model:
            return  # the model changed while this ran
        for a in results:
            self.costs[a.method] = (a.seconds * 1000, a.passes)
        self._show_costs()
        chosen = [a for a in results if a.method == self.method_box.currentData()]
        self.show_map((chosen or results)[-1], net_image, labels)

    def show_map(self, a, net_image: np.ndarray, labels: list[str]) -> None:
        self.last = a
        self.shown_for = net_image
        self.stale = False
        self.view.setEnabled(True)
        heat = (a.display() * 255).astype(np.uint8)
        self.view.set_images(net_image, colorize(heat, heat_lut()))
        name = labels[a.target] if a.target < len(labels) else str(a.target)
        where = f", layer {a.layer}" if a.layer else ""
        sign = " (positive part shown)" if METHODS[a.method].signed else ""
        self.caption.setText(
            f"<b>{METHODS[a.method].title}</b> for '{name}' (class {a.target}){where}: "
            f"{a.seconds * 1000:.0f} ms, {a.passes} forward call(s) of up to {BATCH} images{sign}"
        )

    def on_rendered(self, result) -> None:
        """Every shown result (GUI thread): a map made for another input is marked old."""
        if self.last is None or self.stale:
            return
        image = None if result.empty or result.error else result.network_image
        if image is not None and np.array_equal(image, self.shown_for):
            return
        self.stale = True
        self.view.setEnabled(False)
        self.view.set_images(*(a // 3 for a in self.view.arrays))  # dimmed: not this input
        self.caption.setText(
            "<b>old:</b> this map is of an earlier input, not the one shown now. "
            "Run (R) makes one for it. " + self.caption.text()
        )

    def _show_costs(self) -> None:
        for r, key in enumerate(METHODS):
            ms, passes = self.costs.get(key, (None, None))
            self.cost_table.item(r, 1).setText("–" if ms is None else f"{ms:.0f}")
            self.cost_table.item(r, 2).setText("" if passes is None else str(passes))

    def stop(self) -> None:
        self.job.stop(2.0)
