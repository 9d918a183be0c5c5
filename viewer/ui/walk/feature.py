"""The guided walk in the window: W opens a "Walk" tab that steps through the network in
forward order on the current input (N next stage, B back, Esc closes), highlights the
stage's row in the layers panel, and redoes its numbers for every new result while open.

The numbers come from one pass of a private copy of the network on the shown result's
input tensor, in a worker thread (the newest request only), so the engine's network is
never hooked from here and the GUI thread only formats them.
"""

from __future__ import annotations

import threading

import torch
from PyQt6.QtCore import QObject

from cnn_viewer.core.explain.inspect import network_map
from cnn_viewer.core.explain.walk import explain, record, stages
from cnn_viewer.ui.inspect.saliency_panel import ModelCopies
from cnn_viewer.ui.walk.panel import WalkPanel
from cnn_viewer.ui.workers.worker import Failure, Task, Worker

PANEL_WIDTH = 460  # px: the Walk tab's width while open (grids of numbers and tables)


class WalkFeature(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = WalkPanel()
        self.copies = ModelCopies()
        # One pass at a time on the copy: a replaced run may still be in its pass, and two
        # passes at once would each see the other's hooks.
        self._pass_lock = threading.Lock()
        self.index = 0  # the stage shown
        self.stages: list = []  # of the current model, from the last run
        self.frame_id: int | None = None  # the result the shown numbers are for
        self._was_active = False
        self._model = window.state.model  # the model the stages are of
        self._sizes: list[int] = []  # the splitter's sizes before the walk widened its tab
        self.job = Worker(self, name="walk", expected=(ValueError,))
        self.job.returned.connect(self._shown)
        self.job.errored.connect(self._failed)
        window.add_tab("Walk", self.panel)
        self.panel.moved.connect(self.move)
        self.panel.close_requested.connect(self.close)
        window.side_tabs.currentChanged.connect(self._tab_changed)
        window.events.rendered.connect(self._rendered)
        window.events.engine_changed.connect(self._model_changed)
        window.events.shutdown.connect(lambda timeout: self.job.stop(timeout))
        add = window.add_action
        start = add("walk", "Guided walk through the network", ["W"], self.open, "Walk", True)
        start.setIconText("Walk")  # on the toolbar
        self.keys = [
            add("walk_next", "Walk: next stage", ["N"], lambda: self.move(1), "Walk"),
            add("walk_back", "Walk: previous stage", ["B"], lambda: self.move(-1), "Walk"),
            add("walk_close", "Walk: close", ["Esc"], self.close, "Walk"),
        ]
        self._enable_keys(False)

    @property
    def active(self) -> bool:
        return self.window.side_tabs.currentWidget() is self.panel

    def open(self) -> None:
        self.window.show_tab(self.panel)  # _tab_changed starts it

    def close(self) -> None:
        if self.active:
            self.window.side_tabs.setCurrentIndex(0)  # the Prediction tab

    def move(self, step: int) -> None:
        if not self.active:
            self.open()
            return
        last = len(self.stages) - 1 if self.stages else None
        index = self.index + step
        self.index = max(0, index if last is None else min(index, last))
        self.request()

    # ---- following the window ------------------------------------------------------------
    def _enable_keys(self, on: bool) -> None:
        for action in self.keys:  # N, B and Esc belong to the walk only while it is open
            action.setEnabled(on)

    def _tab_changed(self, _index: int) -> None:
        on = self.active
        if on == self._was_active:
            return
        self._was_active = on
        self._enable_keys(on)
        split = self.window.splitter
        if on:
            self._sizes = split.sizes()
            left, middle, right = self._sizes
            if right < PANEL_WIDTH:  # room for the numbers; the layers give it
                split.setSizes([left, max(middle - (PANEL_WIDTH - right), 200), PANEL_WIDTH])
            self.request()
        else:
            self.job.cancel()
            if self._sizes:
                split.setSizes(self._sizes)
            panel, inspector = self.window.layers_panel, self.window.features.inspect.inspector
            panel.mark(None)
            panel.select(inspector.layer, inspector.channel)  # the inspector's outline again

    def _rendered(self, result) -> None:
        if self.active:
            self.request()

    def _model_changed(self, model) -> None:
        """A new model starts the walk again; a rebuilt engine (other layers shown, saliency
        toggled) keeps the stage."""
        if model is not self._model:
            self._model = model
            self.job.cancel()
            self.copies.drop()
            self.index, self.stages = 0, []
        if self.active:
            self.request()

    def request(self) -> None:
        """Work out the shown stage's numbers for the shown result (GUI thread)."""
        win = self.window
        result = win.last_result
        if result is None or result.empty or result.error:
            words = "draw a digit" if win.engine.drawing else "show the network an image"
            self.panel.show_message(f"Nothing to walk through yet: {words} first.")
            return
        probe = result.probe
        if probe is None or probe.network_input is None:
            self.panel.show_message(
                "This network could not be mapped (an unusual or scripted model), so the "
                "walk has no numbers for it; the digit CNN and torchvision models work."
            )
            return
        model, module = win.state.model, win.state.model.module
        x = torch.from_numpy(probe.network_input)[None].to(model.device)
        copies, index, lock = self.copies, self.index, self._pass_lock
        self.panel.labels = list(model.labels)

        def work(task: Task):
            with lock:
                task.check()  # replaced while waiting for the lock
                twin = copies.get(module)
                net_map = network_map(model, twin)
                all_stages = stages(net_map)
                i = min(index, len(all_stages) - 1)
                rec = record(net_map, all_stages[i], x)
            return model, all_stages, i, explain(rec, net_map), result

        self.job.start(work)

    def _shown(self, payload) -> None:
        model, all_stages, i, step, result = payload
        if model is not self.window.state.model or not self.active:
            return
        self.stages, self.index, self.frame_id = all_stages, i, result.frame_id
        row = self.row_of(step.stage.name)
        panel = self.window.layers_panel
        panel.mark(row)
        own = row == step.stage.name and step.stage.kind != "flatten"
        panel.select(row, step.position[0] if own else None)  # outline the chosen channel
        self.panel.show_step(all_stages, i, step, row, result.network_image)

    def row_of(self, name: str) -> str | None:
        """The layers panel's row that shows stage ``name``: its own, or its block's."""
        rows = self.window.layers_panel.rows
        if name in rows:
            return name
        blocks = [r for r in rows if name.startswith(r + ".")]
        return max(blocks, key=len) if blocks else None

    def _failed(self, failure: Failure) -> None:
        self.panel.show_message(f"The walk could not work out this stage: {failure.message}")


def install(window) -> WalkFeature:
    return WalkFeature(window)
