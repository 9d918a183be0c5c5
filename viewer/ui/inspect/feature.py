"""Wires the Inspector, Answer and Saliency tabs into the window: unit selection (mosaic
clicks, keys, answer rows), live numbers from the engine, and a worker that records the
inspected layer on a frozen frame (where the engine runs no more)."""

from __future__ import annotations

import torch
from PyQt6.QtCore import QObject

from cnn_viewer.core.explain.inspect import network_map, probe_once
from cnn_viewer.ui.inspect.answer_panel import AnswerPanel
from cnn_viewer.ui.inspect.inspector_panel import InspectorPanel
from cnn_viewer.ui.inspect.saliency_panel import ModelCopies, SaliencyPanel
from cnn_viewer.ui.workers.worker import Failure, Task, Worker


class InspectFeature(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.inspector = InspectorPanel()
        self.answer = AnswerPanel()
        self.saliency = SaliencyPanel(window)
        self.copies = ModelCopies()
        # The newest probe only: a newer start drops the older run's reports.
        self.frozen_job = Worker(self, name="inspect-frozen")
        self.frozen_job.returned.connect(self._frozen_probe)
        self.frozen_job.errored.connect(self._frozen_failed)  # cancelled: nothing to say
        self._heads: dict[int, object] = {}
        window.add_tab("Inspector", self.inspector)
        window.add_tab("Answer", self.answer)
        window.add_tab("Saliency", self.saliency)
        window.layers_panel.unit_clicked.connect(lambda layer, ch: self.select(layer, ch))
        self.answer.unit_requested.connect(self.select)
        window.events.result_shown.connect(self.on_result)
        window.events.rendered.connect(self.saliency.on_rendered)
        window.events.rendered.connect(self._cleared)
        window.events.engine_changed.connect(self.on_model)
        window.side_tabs.currentChanged.connect(self._tab_changed)
        window.events.shutdown.connect(lambda _timeout: self.stop())
        add = window.add_action
        keys = [
            ("inspector", "Show the unit inspector", ["I"], self.show_inspector),
            ("answer", "Show how the answer is reached", ["A"], lambda: self._show(self.answer)),
            ("saliency_tab", "Show the saliency suite", ["S"], lambda: self._show(self.saliency)),
            ("next_unit", "Next unit (channel)", ["]"], lambda: self.step_unit(1)),
            ("prev_unit", "Previous unit (channel)", ["["], lambda: self.step_unit(-1)),
            ("next_layer", "Next layer", ["."], lambda: self.step_layer(1)),
            ("prev_layer", "Previous layer", [","], lambda: self.step_layer(-1)),
            ("next_method", "Next saliency method (runs it)", ["M"],
             lambda: self._cycle(1)),
            ("prev_method", "Previous saliency method (runs it)", ["Shift+M"],
             lambda: self._cycle(-1)),
            ("run_saliency", "Run the saliency method on the frozen frame", ["R"],
             lambda: self._run()),
            ("measure_saliency", "Measure every saliency method", ["Shift+R"],
             lambda: self._run(all_methods=True)),
            ("cancel_saliency", "Cancel the saliency run", ["X"], self.saliency.cancel),
        ]  # fmt: skip
        for name, text, k, slot in keys:
            add(name, text, k, slot, "Inspect")

    # ---- selection -------------------------------------------------------------------------
    def select(self, layer: str, channel: int, pos=None) -> None:
        """Inspect ``channel`` of ``layer`` (GUI thread)."""
        win = self.window
        self.inspector.layer_type = win.engine.types.get(layer, "")
        self.inspector.set_unit(layer, channel, pos)
        win.layers_panel.select(layer, channel)
        win.state.inspected = (layer, channel)  # observed: the engine records it next frame
        self.show_inspector()
        result = win.last_result
        if result is not None and (result.probe is None or result.probe.layer != layer):
            if win.state.frozen or win.source is not None:
                self._probe_frozen(layer)
            else:
                win.request_frame()

    def show_inspector(self) -> None:
        self._show(self.inspector)
        if self.inspector.layer is None and self.window.engine.layers:
            self.select(self.window.engine.layers[0], 0)

    def _show(self, widget) -> None:
        self.window.show_tab(widget)

    def step_unit(self, step: int) -> None:
        if self.inspector.layer is None:
            self.show_inspector()
            return
        n = self.inspector.channels or 1
        self.select(self.inspector.layer, (self.inspector.channel + step) % n)

    def step_layer(self, step: int) -> None:
        layers = self.window.engine.layers
        if not layers:
            return
        current = self.inspector.layer
        i = layers.index(current) + step if current in layers else 0
        self.select(layers[i % len(layers)], self.inspector.channel)

    def _cycle(self, step: int) -> None:
        self._show(self.saliency)
        self.saliency.cycle_method(step)

    def _run(self, all_methods: bool = False) -> None:
        self._show(self.saliency)
        if all_methods:
            self.saliency.run_all()
        else:
            self.saliency.run()

    def _tab_changed(self, _index: int) -> None:
        current = self.window.side_tabs.currentWidget()
        # The probe of a chosen layer needs the eager model; while the inspector is
        # hidden the engine may run its faster traced network (cnn_viewer.core.engine.traced).
        self.window.state.inspecting = current is self.inspector
        if current is self.inspector:
            self.inspector.render()
        elif current is self.answer:
            self.answer.render()

    # ---- numbers in ------------------------------------------------------------------------
    def _head(self, net_map):
        key = id(net_map)
        if key not in self._heads:
            self._heads = {key: net_map.head()}
        return self._heads[key]

    def on_result(self, result) -> None:
        probe = result.probe
        net_map = self.window.engine.probe.map
        if probe is None or net_map is None:
            return
        self.inspector.show_probe(probe, result.network_image, net_map)
        self.answer.shown_layers = list(self.window.engine.layers)
        self.answer.show_answer(
            result.logits, probe.head_input, self._head(net_map), self.window.state.model.labels
        )

    def _cleared(self, result) -> None:
        """An empty pad (or an unusable input): the Answer tab keeps no old numbers."""
        if result.empty or result.error:
            self.answer.clear_answer()

    def on_model(self, model) -> None:
        self.frozen_job.cancel()
        self.copies.drop()
        layer = self.inspector.layer
        names = dict(model.module.named_modules())
        if layer is not None and layer not in names:
            self.inspector.layer = None
            self.inspector.probe = None
            self.window.state.inspected = None
        self.saliency.on_model(model)

    def _probe_frozen(self, layer: str) -> None:
        """Record ``layer`` for the shown frame on a private copy of the network."""
        result, model = self.window.last_result, self.window.state.model
        if result is None or result.probe is None or result.probe.network_input is None:
            return
        x = torch.from_numpy(result.probe.network_input)[None].to(model.device)
        copies, module = self.copies, model.module

        def work(_task: Task):
            twin = copies.get(module)
            return probe_once(model, twin, layer, x), network_map(model, twin), model

        self._frozen_image = result.network_image
        self.frozen_job.start(work)

    def _frozen_probe(self, payload) -> None:
        probe, net_map, model = payload
        if model is not self.window.state.model or probe is None:
            return
        self.inspector.show_probe(probe, self._frozen_image, net_map)
        self.inspector.render()

    def _frozen_failed(self, failure: Failure) -> None:
        self.window.statusBar().showMessage(f"inspector: {failure.message}", 6000)

    # ---- closing -----------------------------------------------------------------------------
    def stop(self) -> None:
        self.saliency.stop()
        self.frozen_job.stop(2.0)


def install(window) -> InspectFeature:
    return InspectFeature(window)
