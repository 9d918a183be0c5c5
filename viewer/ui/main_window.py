"""The main window: wires the pad, the engine's thread and the panels together.

Data path: pad (GUI thread) -> frame slot -> inference thread -> result slot ->
wake-up signal -> GUI thread renders the newest result only.
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton,
    QSplitter, QToolBar, QVBoxLayout, QWidget,
)

from models.registry import LoadedModel
from viewer.core.frames import Frame, Result
from viewer.core.pipeline import Engine, InferenceWorker
from viewer.core.slot import LatestSlot
from viewer.ui.input_panel import NetworkInputView
from viewer.ui.layer_panel import LayersPanel
from viewer.ui.pad import DrawingPad
from viewer.ui.prediction_panel import PredictionPanel

SALIENCY_CHOICES = [("Grad-CAM", "gradcam"), ("None", "none")]
HELP = """<b>Keys</b><br>
Space: freeze / resume<br>
Delete or C: clear the pad<br>
E: draw an example digit (again for the next one)<br>
G: saliency on / off<br>
Ctrl+S: save a screenshot<br>
F1: this help<br>
Ctrl+Q: quit"""


class _Wake(QObject):
    """Carries the inference thread's 'a result is ready' into the GUI thread."""

    ready = pyqtSignal()


class MainWindow(QMainWindow):
    def __init__(self, model: LoadedModel, top_k: int = 5, saliency: str = "gradcam",
                 threads: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[Result] = LatestSlot()
        self.top_k = max(top_k, min(10, len(model.labels)))
        self.frozen = False
        self.shown = 0  # results rendered so far
        self.last_result: Result | None = None
        self._frame_id = 0
        self._example = 0
        self._fps = 0.0
        self._last_done = 0.0
        self.render_ms: list[float] = []
        self.after_render = None  # optional callback(result), used by --screenshot

        self.engine = Engine(model, saliency=saliency, top_k=self.top_k, drawing=True)
        self.engine.warm_up()
        self._wake = _Wake()
        self._wake.ready.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self.worker = InferenceWorker(self.engine, self.frames, self.results, threads=threads,
                                      on_result=self._wake.ready.emit)
        self._build(saliency)
        self.worker.start()
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(500)
        self._update_status()
        self.setWindowTitle(f"cnn-viewer — {model.name}")
        self.resize(1280, 800)

    # ---- layout ------------------------------------------------------------------------
    def _build(self, saliency: str) -> None:
        bar = QToolBar("Main")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Source "))
        self.source_box = QComboBox()
        self.source_box.addItem("Drawing pad")
        bar.addWidget(self.source_box)
        bar.addWidget(QLabel("  Model "))
        self.model_label = QLabel(f"<b>{self.model.name}</b>")
        bar.addWidget(self.model_label)
        bar.addWidget(QLabel("  Saliency "))
        self.saliency_box = QComboBox()
        for text, key in SALIENCY_CHOICES:
            self.saliency_box.addItem(text, key)
        self.saliency_box.setCurrentIndex([k for _, k in SALIENCY_CHOICES].index(saliency))
        self.saliency_box.currentIndexChanged.connect(self._saliency_changed)
        bar.addWidget(self.saliency_box)
        bar.addSeparator()
        self.freeze_action = QAction("Freeze", self, checkable=True)
        self.freeze_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.freeze_action.setToolTip("Freeze the current frame and results (Space)")
        self.freeze_action.toggled.connect(self.set_frozen)
        bar.addAction(self.freeze_action)
        shot = QAction("Screenshot", self, shortcut=QKeySequence("Ctrl+S"))
        shot.triggered.connect(self.save_screenshot_dialog)
        bar.addAction(shot)
        help_action = QAction("Help", self, shortcut=QKeySequence(Qt.Key.Key_F1))
        help_action.triggered.connect(self.show_help)
        bar.addAction(help_action)
        for text, keys, slot in [
            ("Clear", [Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_C], self.clear_pad),
            ("Example", [Qt.Key.Key_E], self.draw_example),
            ("Toggle saliency", [Qt.Key.Key_G], self._toggle_saliency),
            ("Quit", [QKeySequence.StandardKey.Quit], self.close),
        ]:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(slot)
            self.addAction(action)

        self.pad = DrawingPad()
        self.pad.changed.connect(self.submit_pad)
        clear_btn = QPushButton("Clear  (Del)")
        clear_btn.clicked.connect(self.clear_pad)
        example_btn = QPushButton("Example  (E)")
        example_btn.clicked.connect(self.draw_example)
        buttons = QHBoxLayout()
        buttons.addWidget(clear_btn)
        buttons.addWidget(example_btn)
        self.input_view = NetworkInputView()
        inputs = QHBoxLayout()
        inputs.addWidget(self.input_view)
        inputs.addStretch(1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(_title("Input"))
        lv.addWidget(self.pad)
        lv.addLayout(buttons)
        lv.addLayout(inputs)
        lv.addStretch(1)

        self.layers_panel = LayersPanel()
        self.layers_panel.set_layers(self.engine.layers)
        self.layers_panel.unit_clicked.connect(self._unit_clicked)
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.addWidget(_title(f"Layers  ({len(self.engine.layers)} shown, forward order)"))
        mv.addWidget(self.layers_panel)

        self.prediction = PredictionPanel()
        self.prediction.set_message("draw a digit")
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("dim")
        self.timing_label.setWordWrap(True)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(_title("Prediction"))
        rv.addWidget(self.prediction)
        rv.addWidget(self.timing_label)
        rv.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        for w in (left, middle, right):
            split.addWidget(w)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([310, 680, 290])
        self.setCentralWidget(split)
        self.status_text = QLabel()
        self.statusBar().addWidget(self.status_text, 1)

    # ---- input -------------------------------------------------------------------------
    def submit_pad(self) -> None:
        """Send the pad's current image down the data path (GUI thread, on every stroke)."""
        if self.frozen:
            return
        self._frame_id += 1
        self.frames.put(Frame(self._frame_id, time.perf_counter(), self.pad.image(), "pad"))

    def clear_pad(self) -> None:
        self.pad.clear()

    def draw_example(self) -> None:
        self.pad.draw_example(self._example % 10)
        self._example += 1

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        self.freeze_action.setChecked(frozen)
        self.pad.setEnabled(not frozen)
        if not frozen:
            self.submit_pad()
        self._update_status()

    def _saliency_changed(self) -> None:
        method = self.saliency_box.currentData()
        self.engine = Engine(self.model, saliency=method, top_k=self.top_k, drawing=True)
        self.worker.set_engine(self.engine)
        self.submit_pad()

    def _toggle_saliency(self) -> None:
        self.saliency_box.setCurrentIndex((self.saliency_box.currentIndex() + 1) % len(SALIENCY_CHOICES))

    def _unit_clicked(self, layer: str, channel: int) -> None:
        self.statusBar().showMessage(f"{layer}: channel {channel}", 3000)

    # ---- output ------------------------------------------------------------------------
    def _on_result(self) -> None:
        result = self.results.take_nowait()
        if result is None or self.frozen:
            return
        t0 = time.perf_counter()
        self.render(result)
        self.render_ms.append((time.perf_counter() - t0) * 1000)
        del self.render_ms[:-200]
        if self.after_render is not None:
            self.after_render(result)

    def render(self, result: Result) -> None:
        """Hand a finished Result's arrays to the views (GUI thread only)."""
        self.last_result = result
        self.shown += 1
        if result.done_time > self._last_done > 0:
            dt = result.done_time - self._last_done
            self._fps = 0.8 * self._fps + 0.2 / dt if self._fps else 1 / dt
        self._last_done = result.done_time
        if result.error:
            self.prediction.set_message("cannot use this input")
            self.statusBar().showMessage(result.error, 5000)
            return
        if result.empty:
            self.prediction.set_message("draw a digit")
            self.input_view.show_input(None, None)
            self.layers_panel.clear()
            self.timing_label.setText("")
            return
        self.prediction.set_top(result.top)
        self.input_view.show_input(result.network_image, result.saliency, result.top[0][1])
        self.layers_panel.show_layers(result.layers)
        t = result.timings_ms
        self.timing_label.setText(
            "per frame: " + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items() if k != "total")
            + f"  (total {t.get('total', 0):.1f} ms)")

    def _update_status(self) -> None:
        state = "FROZEN" if self.frozen else f"{self._fps:5.1f} results/s"
        self.status_text.setText(
            f"source: pad  |  model: {self.model.name}  |  device: cpu  |  {state}  |  "
            f"dropped {self.frames.dropped}  |  threads {self.worker.threads}")

    # ---- actions -------------------------------------------------------------------------
    def save_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path))

    def save_screenshot_dialog(self) -> None:
        name = time.strftime("cnn-viewer-%Y%m%d-%H%M%S.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", name, "PNG image (*.png)")
        if path:
            ok = self.save_screenshot(path)
            self.statusBar().showMessage(f"saved {path}" if ok else f"could not write {path}", 5000)

    def show_help(self) -> None:
        QMessageBox.information(self, "cnn-viewer keys", HELP)

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop the inference thread and wait for it, at most ``timeout`` seconds."""
        self.worker.stop()
        self.worker.join(timeout)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelTitle")
    return label
