"""The Train panel's run control: Start, Pause/Resume, Cancel and shutdown, and the
worker's signals (status, prepared data, progress, the end of a run). The slots run in
the GUI thread (queued from the training thread); the training itself never touches a
widget."""

from __future__ import annotations

import time

import numpy as np

from cnn_viewer.ui.train.worker import TrainRequest


class RunControl:
    """TrainPanel's run control, as a mixin: it uses the panel's ``worker``, ``data``,
    the forms' ``arch_options``/``train_settings``, the buttons, ``curves``,
    ``confusion``, the timeline ``slider`` and the ``_redraw`` timer."""

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
        self.overrides = self.train_settings()
        self._reset()
        self.worker.start(
            TrainRequest(folder, arch, self.overrides, self.val_percent.value() / 100)
        )
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
        self.settings = prepared.settings(self.overrides)  # what the run uses
        notes = "; ".join([*prepared.notes, *prepared.built.notes])
        recipe = prepared.describe(self.settings)
        self._status(text + (f". {notes}" if notes else "") + f". {recipe}")
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
