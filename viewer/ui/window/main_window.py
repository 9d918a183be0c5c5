"""The main window: wires the sources, the engine's thread and the panels together.

Data path: pad (GUI thread) or a source thread -> frame slot -> inference thread ->
result slot -> wake-up signal -> the GUI thread renders the newest result only.
"""

from __future__ import annotations

import time
from pathlib import Path

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.pipeline import Engine, InferenceWorker
from cnn_viewer.core.options import ModelOptions
from cnn_viewer.core.sources.frame_source import new_frame_id
from cnn_viewer.models.zoo.layer_choice import layer_table
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.ui.widgets.input_panel import NetworkInputView
from cnn_viewer.ui.widgets.layer_panel import LayersPanel
from cnn_viewer.ui.widgets.layer_picker import LayerPicker
from cnn_viewer.ui.widgets.prediction_panel import PredictionPanel
from cnn_viewer.ui.widgets.source_panel import SourcePanel
from cnn_viewer.ui.window.actions import build_actions, model_names, open_file_filter, source_kind
from cnn_viewer.ui.window.model_loader import ModelLoader
from cnn_viewer.ui.workers.gui_thread import assert_gui_thread
from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

SALIENCY_CHOICES = [("Grad-CAM", "gradcam"), ("None", "none")]


class _Wake(QObject):
    """Carries the inference thread's 'a result is ready' into the GUI thread."""

    ready = pyqtSignal()


class MainWindow(QMainWindow):
    def __init__(
        self,
        model: LoadedModel,
        top_k: int = 5,
        saliency: str = "gradcam",
        threads: int | None = None,
        model_options: ModelOptions | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.model_options = model_options or ModelOptions(model=model.name)
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[Result] = LatestSlot()
        self.requested_top_k = top_k
        self.frozen = False
        self.shown = 0  # results rendered so far
        self.last_result: Result | None = None
        self.source = None  # None: the drawing pad
        self.source_spec = "pad"
        self.layers: list[str] | None = None  # None: the model's defaults
        self.norm = "layer"  # feature-map normalisation (Engine's ``norm``)
        self.colormap = "inferno"  # feature-map colormap (Engine's ``colormap``)
        self.pad_frame_id = 0  # id of the last frame the pad sent
        self._example = 0
        self._fps = 0.0
        self._last_done = 0.0
        self.render_ms: list[float] = []
        # Features (cnn_viewer.ui.features) hook in here; all called in the GUI thread.
        self.result_listeners: list = []  # callback(result) after each shown prediction
        self.render_listeners: list = []  # callback(result) after every rendered result,
        # empty pads and errors included (recording, --screenshot, bench --render)
        self.model_listeners: list = []  # callback(model) after a model or engine change
        self.shutdown_listeners: list = []  # callback(timeout): stop and join your threads
        self.docks: dict[str, QDockWidget] = {}
        self.menus: dict = {}  # title -> QMenu, made by window_actions.add_action
        self.last_error = ""  # the last message shown in an error box (for tests, too)
        self.loader = ModelLoader(self)
        self.loader.progress.connect(self._load_progress)
        self.loader.loaded.connect(self._model_loaded)
        self.loader.failed.connect(self._model_failed)

        self.engine = self._make_engine(model, saliency)
        self.engine.warm_up()
        self._wake = _Wake()
        self._wake.ready.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self.worker = InferenceWorker(
            self.engine, self.frames, self.results, threads=threads, on_result=self._wake.ready.emit
        )
        self._build(saliency)
        self.worker.start()
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(500)
        self._update_status()
        self.resize(1280, 800)

    # ---- layout ------------------------------------------------------------------------
    def _build(self, saliency: str) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        self.main_bar = bar
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Source "))
        self.source_box = QComboBox()
        self.source_box.addItem("Drawing pad", "pad")
        for i in range(2):
            self.source_box.addItem(f"Camera {i}", f"camera:{i}")
        self.source_box.addItem("Open file or folder…", "open")
        self.source_box.activated.connect(self._source_chosen)
        bar.addWidget(self.source_box)
        bar.addWidget(QLabel("  Model "))
        self.model_box = QComboBox()
        self.model_box.setMaxVisibleItems(20)
        for name in model_names():
            self.model_box.addItem(name, name)
        self._show_model_name()
        self.model_box.activated.connect(self._model_chosen)
        bar.addWidget(self.model_box)
        bar.addWidget(QLabel("  Saliency "))
        self.saliency_box = QComboBox()
        for text, key in SALIENCY_CHOICES:
            self.saliency_box.addItem(text, key)
        self.saliency_box.setCurrentIndex([k for _, k in SALIENCY_CHOICES].index(saliency))
        self.saliency_box.currentIndexChanged.connect(self.rebuild_engine)
        bar.addWidget(self.saliency_box)
        bar.addSeparator()
        self.actions_by_name = build_actions(self, bar)

        self.source_panel = SourcePanel()
        self.pad = self.source_panel.pad
        self.pad.changed.connect(self.submit_pad)
        self.source_panel.clear_button.clicked.connect(self.clear_pad)
        self.source_panel.example_button.clicked.connect(self.draw_example)
        self.source_panel.prev_clicked.connect(lambda: self.step_source(-1))
        self.source_panel.next_clicked.connect(lambda: self.step_source(1))
        self.source_panel.pause_clicked.connect(self.toggle_pause)
        self.input_view = NetworkInputView()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(_title("Input"))
        lv.addWidget(self.source_panel)
        lv.addWidget(self.input_view)
        lv.addStretch(1)
        # Scrolls rather than forcing the window's height, so a bottom dock gets room.
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        left_scroll.setMinimumWidth(left.sizeHint().width() + 16)

        self.layers_panel = LayersPanel()
        self.layers_panel.set_layers(self.engine.layers)
        self.layers_panel.unit_clicked.connect(self._unit_clicked)
        self.layers_panel.visible_changed.connect(self._visible_changed)
        self.layers_title = _title("")
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.addWidget(self.layers_title)
        mv.addWidget(self.layers_panel)

        self.prediction = PredictionPanel()
        self.prediction.set_message(
            "draw a digit" if self.engine.drawing else "waiting for a frame"
        )
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("dim")
        self.timing_label.setWordWrap(True)
        self.notes_label = QLabel("")
        self.notes_label.setObjectName("warn")
        self.notes_label.setWordWrap(True)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.prediction)
        rv.addWidget(self.timing_label)
        rv.addWidget(self.notes_label)
        rv.addStretch(1)

        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(right, "Prediction")
        self.splitter = split = QSplitter(Qt.Orientation.Horizontal)
        for w in (left_scroll, middle, self.side_tabs):
            split.addWidget(w)
        split.setStretchFactor(1, 1)
        split.setSizes([320, 640, 320])
        self.setCentralWidget(split)
        self.status_text = QLabel()
        self.statusBar().addWidget(self.status_text, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_load = QPushButton("Cancel")
        self.cancel_load.clicked.connect(self.loader.cancel)
        self.cancel_load.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_load)
        self._model_changed_ui()

    # ---- extension points for features -------------------------------------------------
    def add_tab(self, title: str, widget: QWidget) -> None:
        """A page in the right-hand column, next to Prediction."""
        self.side_tabs.addTab(widget, title)

    def show_tab(self, widget: QWidget) -> None:
        self.side_tabs.setCurrentWidget(widget)

    def add_dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        """A large panel (training, visualisation) docked at the bottom, hidden until
        opened; docks share one tabbed area. ``show_dock(name)`` opens it."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        if self.docks:
            self.tabifyDockWidget(next(iter(self.docks.values())), dock)
        dock.hide()
        self.docks[name] = dock
        return dock

    def show_dock(self, name: str) -> None:
        dock = self.docks[name]
        first = not dock.isVisible()
        dock.show()
        dock.raise_()
        if first:  # give it a good share of the height, the layers keep the rest
            self.resizeDocks([dock], [int(self.height() * 0.45)], Qt.Orientation.Vertical)

    def add_action(self, name, text, keys, slot, menu, toolbar=False, checkable=False):
        """One more action with keys, in ``menu`` (and on the toolbar)."""
        from cnn_viewer.ui.window.actions import add_action

        action = add_action(self, name, text, keys, slot, menu, checkable)
        if toolbar:
            self.main_bar.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _notify_model(self) -> None:
        for listener in list(self.model_listeners):
            listener(self.model)

    @property
    def device_name(self) -> str:
        from cnn_viewer.models.devices import describe

        return describe(self.model.device)

    def _model_changed_ui(self) -> None:
        self.setWindowTitle(f"cnn-viewer — {self.model.name}")
        self.layers_title.setText(
            f"Layers  ({len(self.engine.layers)} shown, forward order)   L: choose"
        )
        self.notes_label.setText("\n".join(self.model.notes))

    def _show_model_name(self) -> None:
        i = self.model_box.findData(self.model.name)
        if i < 0:
            self.model_box.addItem(self.model.name, self.model.name)
            i = self.model_box.count() - 1
        self.model_box.setCurrentIndex(i)

    # ---- engine ------------------------------------------------------------------------
    def _engine_factory(self, saliency: str | None = None, layers: list[str] | None = None):
        """model -> Engine with the window's current settings, captured now (GUI thread)
        so that the factory can run in the loader thread."""
        saliency = saliency or self.saliency_box.currentData()
        requested = self.requested_top_k
        norm, colormap = self.norm, self.colormap

        def make(model: LoadedModel) -> Engine:
            top_k = max(requested, min(10, len(model.labels)))
            # Digit models read drawings MNIST-style from every source: the pad, files
            # in either polarity, or a digit on paper held up to the camera.
            return Engine(
                model,
                layers=layers,
                saliency=saliency,
                top_k=top_k,
                drawing=model.is_digits,
                norm=norm,
                colormap=colormap,
            )

        return make

    def _make_engine(
        self, model: LoadedModel, saliency: str | None = None, layers: list[str] | None = None
    ) -> Engine:
        return self._engine_factory(saliency, layers)(model)

    def rebuild_engine(self) -> None:
        """New engine for the current model, source, layers and saliency (cheap, no reload)."""
        self.engine = self._make_engine(self.model, layers=self.layers)
        self.layers_panel.set_layers(self.engine.layers)
        self.layers_panel.refresh_visible()  # all layers until the panel says which
        self.worker.set_engine(self.engine)
        self._model_changed_ui()
        self._notify_model()
        self.request_frame()

    # ---- input -------------------------------------------------------------------------
    def submit_pad(self) -> None:
        """Send the pad's current image down the data path (GUI thread, on every stroke)."""
        if self.frozen or self.source is not None:
            return
        self.pad_frame_id = new_frame_id()
        self.frames.put(Frame(self.pad_frame_id, time.perf_counter(), self.pad.image(), "pad"))

    def request_frame(self) -> None:
        """Have the current source send its frame again (pad, image); streams need nothing."""
        if self.source is None:
            self.submit_pad()
        elif hasattr(self.source, "resend"):
            self.source.resend()

    def clear_pad(self) -> None:
        if self.source is None:
            self.pad.clear()

    def draw_example(self) -> None:
        if self.source is None:
            self.pad.draw_example(self._example % 10)
            self._example += 1

    def set_source(self, spec: str) -> bool:
        """Switch to 'pad', 'camera[:N]' or a file/folder path. False (and a message) on failure."""
        from cnn_viewer.core.sources.open_source import open_source

        new = None
        if spec != "pad":
            try:
                new = open_source(spec, self.frames)
            except ValueError as exc:
                self._error("Cannot open source", str(exc))
                self._sync_source_box()
                return False
        self.attach_source(new, spec, "pad" if new is None else source_kind(spec))
        return True

    def attach_source(self, source, spec: str, kind: str) -> None:
        """Make ``source`` (a FrameSource writing into ``self.frames``, or None for the
        pad) the current one and start it; ``kind`` picks the controls shown."""
        self._stop_source()
        self.source, self.source_spec = source, spec
        if source is None:
            self.source_panel.show_pad()
        else:
            self.source_panel.show_frames(kind)
            source.start()
        self._sync_source_box()
        self.rebuild_engine()
        self._update_status()

    def _stop_source(self) -> None:
        if self.source is not None:
            self.source.stop(timeout=1.0)
            self.source = None

    def _sync_source_box(self) -> None:
        i = self.source_box.findData(self.source_spec)
        if i < 0:
            self.source_box.insertItem(
                self.source_box.count() - 1, Path(self.source_spec).name, self.source_spec
            )
            i = self.source_box.findData(self.source_spec)
        self.source_box.setCurrentIndex(i)

    def _source_chosen(self) -> None:
        spec = self.source_box.currentData()
        if spec == "open":
            self.open_file_dialog()
        elif spec != self.source_spec:
            self.set_source(spec)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open an image, a video or a folder's image",
            "",
            open_file_filter(),
        )
        if path:
            self.set_source(path)
        else:
            self._sync_source_box()

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.set_source(path)

    def step_source(self, delta: int) -> None:
        src = self.source
        if src is None:
            return
        if hasattr(src, "next") and hasattr(src, "prev"):
            (src.next if delta > 0 else src.prev)()
        elif hasattr(src, "step") and delta > 0:
            src.step()

    def toggle_pause(self) -> None:
        src = self.source
        if src is None or not hasattr(src, "pause"):
            return
        if src.paused:
            src.resume()
        else:
            src.pause()

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        self.actions_by_name["freeze"].setChecked(frozen)
        self.pad.setEnabled(not frozen)
        if not frozen:
            self.request_frame()
        self._update_status()

    def _visible_changed(self, names: list[str]) -> None:
        """Build mosaics only for rows on screen; rows scrolled into view get the current
        frame again (the pad and still images send frames only on a change)."""
        self.engine.visible = frozenset(names)
        self.request_frame()

    def _unit_clicked(self, layer: str, channel: int) -> None:
        self.statusBar().showMessage(f"{layer}: channel {channel}", 3000)

    # ---- models ------------------------------------------------------------------------
    def load_model(self, options: ModelOptions) -> None:
        """Load in the background; the current model keeps running until the new one is ready."""
        if self.loader.busy:
            self.statusBar().showMessage("a model is still loading; cancel it first", 4000)
            return
        self._pending = options
        make = self._engine_factory()
        self.loader.start(options, lambda m: (m, _warm(make(m))))

    def _options(self, **fields) -> ModelOptions:
        """Options for another model, on the device this window was started with."""
        return ModelOptions(device=self.model_options.device, **fields)

    def _model_chosen(self) -> None:
        name = self.model_box.currentData()
        if name and name != self.model.name:
            self.load_model(self._options(model=name, weights="default"))

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a checkpoint",
            "",
            "Checkpoints (*.safetensors *.pt *.pth *.ckpt);;All files (*)",
        )
        if path:
            self.load_model(self._options(model=self.model_options.model, checkpoint=path))

    def _load_progress(self, done: int, total: int, text: str) -> None:
        self.progress.show()
        self.cancel_load.show()
        self.progress.setMaximum(max(total, 0))
        self.progress.setValue(done if total else 0)
        self.progress.setFormat(f"{text} %p%" if total else text)
        self.statusBar().showMessage(text)

    def _end_progress(self) -> None:
        self.progress.hide()
        self.cancel_load.hide()
        self.statusBar().clearMessage()

    def _model_loaded(self, payload) -> None:
        self._end_progress()
        model, engine = payload
        self.model, self.model_options, self.layers = model, self._pending, None
        self.engine = engine
        self.worker.set_engine(engine)
        self.layers_panel.set_layers(engine.layers)
        self.layers_panel.refresh_visible()
        self._show_model_name()
        self._model_changed_ui()
        self._notify_model()
        self.request_frame()
        self.statusBar().showMessage(f"loaded {model.name}", 4000)

    def _model_failed(self, kind: str, message: str) -> None:
        self._end_progress()
        self._show_model_name()
        if kind == "cancelled":
            self.statusBar().showMessage(message, 4000)
            return
        if kind != "offline":
            self._error("Cannot load the model", message + f"\n\nStill using {self.model.name}.")
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Pretrained weights unavailable", message, parent=self
        )
        name = self._pending.model
        choices = {
            box.addButton("Use random weights", QMessageBox.ButtonRole.AcceptRole): lambda: (
                self.load_model(self._options(model=name, weights="none"))
            ),
            box.addButton("Use the digit CNN", QMessageBox.ButtonRole.AcceptRole): lambda: (
                self.load_model(self._options(model="digits"))
            ),
            box.addButton("Open a checkpoint…", QMessageBox.ButtonRole.AcceptRole): (
                self.open_checkpoint_dialog
            ),
        }
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: choices.get(button, lambda: None)())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the window keeps running while the user decides
        self.offline_box = box
        self.last_error = message

    def choose_layers(self) -> None:
        table = layer_table(self.model.module, (self.model.channels, *self.model.input_size))
        picker = LayerPicker(table, self.engine.layers, self.model.display_layers, self)
        if picker.exec():
            self.layers = picker.chosen()
            self.rebuild_engine()

    # ---- output ------------------------------------------------------------------------
    def _on_result(self) -> None:
        result = self.results.take_nowait()
        if result is None or self.frozen:
            return
        t0 = time.perf_counter()
        self.render(result)
        self.render_ms.append((time.perf_counter() - t0) * 1000)
        del self.render_ms[:-200]
        for listener in list(self.render_listeners):
            listener(result)

    def render(self, result: Result) -> None:
        """Hand a finished Result's arrays to the views (GUI thread only)."""
        assert_gui_thread("MainWindow.render")
        self.last_result = result
        self.shown += 1
        if result.done_time > self._last_done > 0:
            dt = result.done_time - self._last_done
            self._fps = 0.8 * self._fps + 0.2 / dt if self._fps else 1 / dt
        self._last_done = result.done_time
        if (
            self.source is not None
            and result.frame_image is not None
            and result.frame_image.ndim >= 2
        ):
            h, w = result.frame_image.shape[:2]
            self.source_panel.frame_view.show_frame(
                result.frame_image, self.model.preprocess.crop_box(h, w)
            )
        if result.error:
            self.prediction.set_message("cannot use this input")
            self.statusBar().showMessage(result.error, 5000)
            return
        if result.empty:
            self.prediction.set_message("draw a digit" if self.source is None else "no digit found")
            self.input_view.show_input(None, None)
            self.layers_panel.clear()
            return
        self.prediction.set_top(result.top)
        self.input_view.show_input(result.network_image, result.saliency_rgba, result.top[0][1])
        self.layers_panel.show_layers(result.layers)
        for listener in list(self.result_listeners):
            listener(result)

    def _update_status(self) -> None:
        """Twice a second, not per result: text changes relayout a window (measured ~1 ms
        per result for the word-wrapped timing line), and people read at this rate."""
        result = self.last_result
        if result is not None and result.top:
            t = result.timings_ms
            self.timing_label.setText(
                "per frame: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items() if k != "total")
                + f"  (total {t.get('total', 0):.1f} ms)"
                + ("  · traced" if self.engine.runs_traced else "  · eager")
            )
            note = self.engine.trace_note
            self.timing_label.setToolTip(
                note[:1].upper() + note[1:]
                or "The network runs as a TorchScript trace: faster, and it lets the "
                "mosaics be built beside the next forward pass"
            )
        rate = f"{self._fps:.1f}" if self._fps else "-"
        state = "FROZEN" if self.frozen else f"{rate} results/s"
        source = "pad"
        if self.source is not None:
            st = self.source.status()
            source = self.source.name + ("" if st.state == "running" else f" ({st.state})")
            self.source_panel.frame_view.caption.setText(st.message or self.source.name)
        self.status_text.setText(
            f"source: {source}  |  model: {self.model.name}  |  device: {self.device_name}  |  "
            f"{state}  |  "
            f"dropped {self.frames.dropped}  |  threads {self.worker.threads}"
        )

    # ---- actions -------------------------------------------------------------------------
    def toggle_help(self) -> None:
        """F1: the keys of every action, features' included, over the window."""
        from cnn_viewer.ui.window.help_overlay import HelpOverlay

        if getattr(self, "help_overlay", None) is None:
            self.help_overlay = HelpOverlay(self)
        self.help_overlay.toggle()

    def save_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path))

    def save_screenshot_dialog(self) -> None:
        name = time.strftime("cnn-viewer-%Y%m%d-%H%M%S.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", name, "PNG image (*.png)")
        if path:
            ok = self.save_screenshot(path)
            self.statusBar().showMessage(f"saved {path}" if ok else f"could not write {path}", 5000)

    def _error(self, title: str, message: str) -> None:
        """Say what went wrong without blocking: the status bar and a non-modal box."""
        self.statusBar().showMessage(message.splitlines()[0], 8000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.last_error = message

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop the source and the inference thread; each wait is bounded by ``timeout``."""
        self.loader.cancel()
        self.loader.wait(timeout)
        for listener in list(self.shutdown_listeners):
            listener(timeout)
        self._stop_source()
        self.worker.stop()
        self.worker.join(timeout)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def _warm(engine: Engine) -> Engine:
    engine.warm_up()
    return engine


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelTitle")
    return label
