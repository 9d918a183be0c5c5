"""The window's output side: a finished Result onto the panels, freezing the view, and
which layer rows the engine builds mosaics for. GUI thread only."""

from __future__ import annotations

import time

from cnn_viewer.core.dataflow.frames import Result
from cnn_viewer.ui.inspect.box_map import box_at
from cnn_viewer.ui.widgets.objects_overlay import shown_detections
from cnn_viewer.ui.workers.gui_thread import assert_gui_thread


class ResultView:
    """MainWindow's rendering, as a mixin: it uses the window's ``results`` slot, its
    panels, ``state``, ``source``, ``engine``, ``events``, ``request_frame`` and
    ``_update_status``."""

    def _on_result(self) -> None:
        result = self.results.take_nowait()
        if result is None or self.state.frozen:
            return
        if result.engine_id != self.engine.id:
            return  # an engine replaced since: its layers and labels are no longer shown
        t0 = time.perf_counter()
        self.render(result)
        self.render_ms.append((time.perf_counter() - t0) * 1000)
        del self.render_ms[:-200]
        self.events.rendered.emit(result)

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
                result.frame_image, self.state.model.preprocess.crop_box(h, w)
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
        self.answered = True
        if result.detections is not None or result.segments is not None:
            self._render_objects(result)
        else:
            self.object_overlay.clear()
            self.prediction.set_top(result.top)
            self.input_view.show_input(result.network_image, result.saliency_rgba, result.top[0][1])
        self.layers_panel.show_layers(result.layers)
        self.events.result_shown.emit(result)

    def _render_objects(self, result: Result) -> None:
        """A detector's boxes (at the chosen min score) or a segmenter's overlay on the
        frame; the Prediction tab lists the boxes (or the classes' pixel shares)."""
        colours = self.engine.colours
        min_score = self.object_controls.min_score
        self.object_overlay.show(result, min_score, colours)
        if result.segments is not None:
            self.object_controls.set_legend(result.segments, colours)
            rows = [(s["index"], s["label"], s["fraction"]) for s in result.segments]
            self.prediction.set_top(rows[:10])
        else:
            found = shown_detections(result, min_score)
            rows = [(d["index"], d["label"], d["score"]) for d in found]
            if rows:
                self.prediction.set_top(rows[:10])
            else:
                self.prediction.set_message(f"no box scores {min_score:.2f} or more")
        if getattr(self, "box_map", None) is None:
            self.input_view.show_input(result.network_image, None)
        else:  # the clicked box's map stays until another click or model
            self.input_view.input_view.set_images(result.network_image)

    def _frame_clicked(self, event) -> None:
        """A click on the frame: the map of the smallest shown box under it."""
        result = getattr(self, "last_result", None)
        if result is None or result.detections is None:
            return
        point = self.source_panel.frame_view.box.mapSceneToView(event.scenePos())
        number = box_at(result, point.x(), point.y(), self.object_controls.min_score)
        if number is not None:
            self.request_box_map(number)

    def request_box_map(self, number: int) -> None:
        """Box ``number`` of the shown result: its map, with the chosen method and layer,
        on the box mapper's thread; the status bar says it is coming."""
        result = self.last_result
        if result is None or not result.detections or number >= len(result.detections):
            return
        self._box_number = number
        controls = self.object_controls
        method, layer = controls.method.currentData(), controls.layer.currentData()
        self.box_mapper.request(self.state.model, result, number, method, layer)
        d = result.detections[number]
        self.statusBar().showMessage(f"box {number} '{d['label']}': making its map ...", 3000)

    def _box_map_changed(self) -> None:
        """Another method or layer: the clicked box's map again."""
        if getattr(self, "box_map", None) is not None:
            self.request_box_map(getattr(self, "_box_number", 0))

    def _box_map_done(self, done) -> None:
        if done.error:
            self.statusBar().showMessage(done.error, 5000)
            return
        self.box_map = done
        self.input_view.cam_view.set_images(done.net_image, done.heat_rgba)
        self.input_view.cam_title.setText(done.title)

    def _min_score_changed(self, _value: float) -> None:
        """The threshold control: redraw the shown result's boxes (no new frame needed)."""
        result = getattr(self, "last_result", None)
        if result is not None and result.detections is not None:
            self._render_objects(result)

    def set_frozen(self, frozen: bool) -> None:
        """The freeze action: the shown result stays until unfrozen."""
        self.state.frozen = frozen

    def _frozen_changed(self, frozen: bool) -> None:
        self.actions_by_name["freeze"].setChecked(frozen)
        self.pad.setEnabled(not frozen)
        if not frozen:
            self.request_frame()
        self._update_status()

    def _visible_changed(self, names: list[str]) -> None:
        """The layers panel's rows on screen: only they get mosaics."""
        self.state.visible = frozenset(names)

    def _send_settings(self, *_changed) -> None:
        """Tell the inference worker (for the next frame) and have the current source
        send its frame again: the pad and still images send frames only on a change."""
        settings = self.state.frame_settings()
        if settings != self.worker.settings:
            self.worker.set_settings(settings)
            self.request_frame()

    def _unit_clicked(self, layer: str, channel: int) -> None:
        self.statusBar().showMessage(f"{layer}: channel {channel}", 3000)
