"""The window's input side: the drawing pad and the frame sources (camera, video, image
files, folders), their file dialogs and controls. GUI thread only.

A source is a FrameSource thread writing into the window's ``frames`` slot; ``None`` is
the drawing pad, which the GUI thread feeds itself on every stroke.
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtWidgets import QFileDialog

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.sources.frame_source import new_frame_id
from cnn_viewer.ui.window.actions import open_file_filter, source_kind

FIRST_EXAMPLE = 3  # the digit on the pad when the window opens
LOADING = "loading: the network's first pass…"  # shown until the first result


class SourceControl:
    """MainWindow's source handling, as a mixin: it uses the window's ``frames``, ``pad``,
    ``source_panel``, ``source_box``, ``state`` and its ``rebuild_engine``,
    ``_update_status`` and ``_error``."""

    def submit_pad(self) -> None:
        """Send the pad's current image down the data path (GUI thread, on every stroke)."""
        if self.state.frozen or self.source is not None:
            return
        self.pad_frame_id = new_frame_id()
        image = self.pad.image()
        if not self.answered and image.any():  # the first pass (warm-up, trace) takes a moment
            self.prediction.set_message(LOADING)
            self.layers_panel.set_waiting(LOADING)
        self.frames.put(Frame(self.pad_frame_id, time.perf_counter(), image, "pad"))

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

    def show_first_input(self, digit: int | None = None) -> None:
        """The first screen (GUI thread, once the window is shown): ``digit`` (the
        command line's ``--draw``) on the pad; with none, a digit model on the pad starts
        with an example already drawn, so the maps and the answer are live from the first
        look. E draws the next example; the pad's hint says how to draw your own."""
        if digit is None:
            if self.source is not None or not self.engine.drawing:
                return
            digit = FIRST_EXAMPLE
        self.pad.draw_example(digit)
        self._example = digit + 1

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
        self.source = source
        self.state.source = spec
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
        spec = self.state.source
        i = self.source_box.findData(spec)
        if i < 0:
            self.source_box.insertItem(self.source_box.count() - 1, Path(spec).name, spec)
            i = self.source_box.findData(spec)
        self.source_box.setCurrentIndex(i)

    def _source_chosen(self) -> None:
        spec = self.source_box.currentData()
        if spec == "open":
            self.open_file_dialog()
        elif spec != self.state.source:
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
