"""The Visualize dock: sub-tabs for feature visualisation, DeepDream, top images,
the embedding and the invariance probe, sharing one background job and its bar."""

from __future__ import annotations

import dataclasses
import threading

from PyQt6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.ui.visualize.jobs import Job, JobBar


class VisualizePanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        from cnn_viewer.ui.visualize.embedding import EmbeddingTab
        from cnn_viewer.ui.visualize.featurevis import DeepDreamTab, FeatureVisTab
        from cnn_viewer.ui.visualize.invariance import InvarianceTab
        from cnn_viewer.ui.visualize.topimages import TopImagesTab

        self.window = window
        self.job = Job(self)
        self.bar = JobBar(self.job)
        self._copy: LoadedModel | None = None
        self._copy_of: LoadedModel | None = None
        self._copy_lock = threading.Lock()
        self._callbacks: dict[int, tuple] = {}
        self._channels: dict[str, int] = {}  # layer -> channels, for _channels_of
        self._channels_of: LoadedModel | None = None
        self.job.progress.connect(self._progress)
        self.job.preview.connect(self._preview)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)

        self.tabs = QTabWidget()
        self.featurevis = FeatureVisTab(self)
        self.deepdream = DeepDreamTab(self)
        self.topimages = TopImagesTab(self)
        self.embedding = EmbeddingTab(self)
        self.invariance = InvarianceTab(self)
        for tab, title in (
            (self.featurevis, "Feature vis"),
            (self.deepdream, "DeepDream"),
            (self.topimages, "Top images"),
            (self.embedding, "Embedding"),
            (self.invariance, "Invariance"),
        ):
            self.tabs.addTab(tab, title)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.bar)
        self.model_changed(window.state.model)

    # ---- the model ---------------------------------------------------------------------
    @property
    def model(self) -> LoadedModel:
        return self.window.state.model

    def layer_names(self) -> list[str]:
        """The layers the window shows, then the model's defaults."""
        engine = getattr(self.window, "engine", None)
        shown = list(engine.layers) if engine is not None else []
        return list(dict.fromkeys([*shown, *self.model.display_layers]))

    def channel_count(self, layer: str) -> int | None:
        """Channels (units, for a vector) of ``layer``'s output in the current model, or
        None when unknown. Surveyed once per model on a copy of its own (GUI thread)."""
        model = self.model
        if self._channels_of is not model:
            from cnn_viewer.models.zoo.layer_choice import layer_table

            try:
                rows = layer_table(private_copy(model.module), (model.channels, *model.input_size))
            except (RuntimeError, ValueError, TypeError):
                rows = []  # a network the zero input does not suit: no limit known
            self._channels = {r["name"]: int(r["shape"][0]) for r in rows if r["shape"]}
            self._channels_of = model
        return self._channels.get(layer)

    def work_model(self) -> LoadedModel:
        """The jobs' own copy of the current model (made on first use; any thread)."""
        model = self.model
        with self._copy_lock:
            if self._copy is None or self._copy_of is not model:
                twin = dataclasses.replace(model, module=private_copy(model.module))
                self._copy, self._copy_of = twin, model
            return self._copy

    def model_changed(self, model: LoadedModel) -> None:
        if self._callbacks:
            self._callbacks = {}  # results for the old model are dropped
            self.bar.idle(f"{self.job.name}: stopped, the model changed")
        self.job.cancel()
        with self._copy_lock:
            self._copy = self._copy_of = None
        for tab in (self.featurevis, self.deepdream, self.topimages, self.embedding,
                    self.invariance):  # fmt: skip
            tab.model_changed(model)

    def select_unit(self, layer: str, channel: int) -> None:
        """A mosaic tile was clicked: aim the tabs at that layer and channel."""
        for tab in (self.featurevis, self.deepdream, self.topimages):
            tab.select_unit(layer, channel)

    # ---- jobs --------------------------------------------------------------------------
    def run(self, name: str, fn, on_done, on_preview=None) -> bool:
        """Start ``fn(handle)`` in the background; ``on_done(result)`` and
        ``on_preview(payload)`` are called in the GUI thread. False while another runs."""
        if not self.job.start(name, fn):
            self.bar.text.setText(f"'{self.job.name}' is still running: cancel it first (Esc)")
            return False
        self._callbacks = {self.job.generation: (on_done, on_preview)}
        self.bar.running(f"{name}…")
        return True

    def _current(self, generation: int):
        return self._callbacks.get(generation)

    def _progress(self, generation: int, done: int, total: int, text: str) -> None:
        if self._current(generation):
            self.bar.show_progress(done, total, text)

    def _preview(self, generation: int, payload) -> None:
        cb = self._current(generation)
        if cb and cb[1] is not None:
            cb[1](payload)

    def _finished(self, generation: int, result) -> None:
        cb = self._callbacks.pop(generation, None)
        if cb:
            self.bar.idle("")
            cb[0](result)

    def _failed(self, generation: int, message: str) -> None:
        if self._callbacks.pop(generation, None) is None:
            return
        if not message:
            self.bar.idle(f"{self.job.name}: cancelled")
            return
        self.bar.idle(f"{self.job.name}: failed: {message.splitlines()[0]}")
        self.window._error(f"{self.job.name} failed", message)

    def shutdown(self, timeout: float) -> bool:
        """Stop the jobs and wait for their threads (each wait bounded by ``timeout``)."""
        self._callbacks = {}
        ok = self.job.stop(timeout)
        return self.embedding.stop_live(timeout) and ok
