"""Snapshot: the window, each shown layer and the result, into one timestamped folder.

The window is grabbed in the GUI thread (a QImage, safe to save from another thread);
encoding the PNGs and the JSON runs on a short-lived thread, joined on close.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.core.output.snapshot import SnapshotError, describe, new_folder, write_snapshot


class SnapshotControl(QObject):
    saved = pyqtSignal(str, list)  # folder, file names (GUI thread)
    failed = pyqtSignal(str)  # message (GUI thread)

    def __init__(self, window, folder_of) -> None:
        super().__init__(window)
        self.window = window
        self.folder_of = folder_of  # () -> the base folder for snapshots
        self.thread: threading.Thread | None = None
        self.saved.connect(self._saved)
        self.failed.connect(self._failed)

    def take(self) -> Path | None:
        """Start writing a snapshot of what the window shows now; its folder, or None."""
        win = self.window
        result = win.last_result
        if result is None:
            win.statusBar().showMessage("nothing to snapshot yet: no result shown", 5000)
            return None
        try:
            folder = new_folder(self.folder_of())
        except SnapshotError as exc:
            win._error("Snapshot not saved", f"{exc}\n\nChoose another output folder (File menu).")
            return None
        record = describe(
            result,
            model={"name": win.model.name, "options": asdict(win.model_options)},
            source=win.source_spec,
            device=win.device_name,
            norm=win.norm,
            colormap=win.colormap,
            saliency=win.engine.saliency,
        )
        image = win.grab().toImage()  # GUI thread; QImage may be saved from any thread

        def work() -> None:
            try:
                files = write_snapshot(folder, record, result, lambda p: image.save(str(p)))
            except SnapshotError as exc:
                self.failed.emit(str(exc))
                return
            self.saved.emit(str(folder), [f.name for f in files])

        self.join()
        self.thread = threading.Thread(target=work, name="snapshot", daemon=True)
        self.thread.start()
        win.statusBar().showMessage(f"saving snapshot to {folder} …", 3000)
        return folder

    def join(self, timeout: float = 5.0) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _saved(self, folder: str, files: list) -> None:
        self.window.statusBar().showMessage(f"snapshot: {len(files)} files in {folder}", 8000)

    def _failed(self, message: str) -> None:
        self.window._error("Snapshot not saved", message)
