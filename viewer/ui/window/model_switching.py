"""The window's model side: the engine factory, switching models in the background
(with progress, cancel and the offline choices), checkpoints and the layer choice.

Everything here runs in the GUI thread except the factory's ``make`` and ``_warm``, which
the ModelLoader runs in its thread; its results come back as queued signals.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from cnn_viewer.core.engine.pipeline import Engine
from cnn_viewer.core.options import ModelOptions
from cnn_viewer.models.zoo.layer_choice import layer_table
from cnn_viewer.models.zoo.loaded import LoadedModel, input_line
from cnn_viewer.ui.widgets.layer_picker import LayerPicker


class ModelSwitching:
    """MainWindow's model and engine handling, as a mixin: it uses the window's
    ``state``, ``events``, ``engine``, ``worker``, ``loader``, the toolbar's
    ``model_box``, the panels, ``request_frame`` and ``_error``."""

    # ---- engine ------------------------------------------------------------------------
    def _engine_factory(self, layers: tuple[str, ...] | None = None):
        """model -> Engine with the viewer's current settings, captured now (GUI thread)
        so that the factory can run in the loader thread. An engine for the model now
        shown takes over what the current engine measured and traced (its memory)."""
        state = self.state
        saliency, requested, norm, colormap = (
            state.saliency,
            state.top_k,
            state.norm,
            state.colormap,
        )
        current = getattr(self, "engine", None)
        memory = current.memory if current is not None else None

        def make(model: LoadedModel) -> Engine:
            top_k = max(requested, min(10, len(model.labels)))
            # Digit models read drawings MNIST-style from every source: the pad, files
            # in either polarity, or a digit on paper held up to the camera.
            return Engine(
                model,
                layers=None if layers is None else list(layers),
                saliency=saliency,
                top_k=top_k,
                drawing=model.is_digits,
                norm=norm,
                colormap=colormap,
                memory=memory if memory is not None and memory.module is model.module else None,
            )

        return make

    def rebuild_engine(self) -> None:
        """New engine for the current model, layers, saliency and colours (cheap, no
        reload); the worker drops what the old one still had in flight."""
        self._use_engine(self._engine_factory(self.state.layers)(self.state.model))

    def _use_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.worker.set_engine(engine)
        if self.layers_panel.labels != list(engine.model.labels):
            self.layers_panel.set_layers([])  # the output row is pinned for these labels
        self.layers_panel.set_labels(engine.model.labels)
        self.layers_panel.set_layers(engine.layers)
        self.layers_panel.refresh_visible()  # all layers until the panel says which
        self._model_changed_ui()
        self.events.engine_changed.emit(self.state.model)
        self.request_frame()

    def _model_changed_ui(self) -> None:
        model = self.state.model
        self.setWindowTitle(f"cnn-viewer — {model.name}")
        self.layers_title.setText(
            f"Layers  ({len(self.engine.layers)} shown, forward order)   L: choose"
        )
        self.notes_label.setText("\n".join(model.notes))
        self.object_controls.set_task(model.task, self.engine.layers, model.cam_layer)
        self.object_overlay.clear()
        self.box_map = None  # a box map of the model before
        line = input_line(model)
        self.input_label.setText(line)
        self.input_label.setToolTip(line)

    def _show_model_name(self) -> None:
        name = self.state.model.name
        i = self.model_box.findData(name)
        if i < 0:
            self.model_box.addItem(name, name)
            i = self.model_box.count() - 1
        self.model_box.setCurrentIndex(i)

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
        return ModelOptions(device=self.state.model_options.device, **fields)

    def _model_chosen(self) -> None:
        name = self.model_box.currentData()
        if name and name != self.state.model.name:
            self.load_model(self._options(model=name, weights="default"))

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a checkpoint or an ONNX model",
            "",
            "Checkpoints and ONNX (*.safetensors *.pt *.pth *.ckpt *.onnx);;All files (*)",
        )
        if path.lower().endswith(".onnx"):  # a whole model: no architecture to put it in
            self.load_model(self._options(model=path, checkpoint=None))
        elif path:
            self.load_model(self._options(model=self.state.model_options.model, checkpoint=path))

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
        state = self.state
        # The loader built and warmed the engine: the layers' change must not rebuild it.
        with state.events.layers.blocked():
            state.model, state.model_options, state.layers = model, self._pending, None
        self._use_engine(engine)
        self._show_model_name()
        self.statusBar().showMessage(f"loaded {model.name}; {input_line(model)}", 8000)

    def _model_failed(self, kind: str, message: str) -> None:
        self._end_progress()
        self._show_model_name()
        if kind == "cancelled":
            self.statusBar().showMessage(message, 4000)
            return
        if kind != "offline":
            self._error(
                "Cannot load the model", message + f"\n\nStill using {self.state.model.name}."
            )
            return
        name = self._pending.model
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Pretrained weights unavailable", offline_text(name),
            parent=self,
        )  # fmt: skip
        box.setDetailedText(message)  # the exact error, for whoever wants it
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
        self.statusBar().showMessage(f"{name}: pretrained weights unavailable", 8000)
        self.last_error = message

    def choose_layers(self) -> None:
        model = self.state.model
        table = layer_table(model.module, (model.channels, *model.input_size))
        picker = LayerPicker(table, self.engine.layers, model.display_layers, self)
        if picker.exec():
            self.state.layers = tuple(picker.chosen())  # observed: a new engine


def offline_text(name: str) -> str:
    """What the window says when weights cannot be had: plain words, no error numbers and
    no command-line flags (the buttons are the way out; the details hold the error)."""
    return (
        f"The pretrained weights for {name} are not on this computer, and they could not be "
        "downloaded (is the network off?).\n\nYou can still look inside it with random "
        "weights, switch to the built-in digit CNN, or open a checkpoint file you have."
    )


def _warm(engine: Engine) -> Engine:
    engine.warm_up()
    return engine
