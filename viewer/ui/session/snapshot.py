"""Snapshot: the window, each shown layer and the result, into one timestamped folder.

The window is grabbed in the GUI thread (a QImage, safe to save from another thread);
encoding the PNGs and the JSON runs on a Worker (cnn_viewer.ui.workers.worker), joined
on close. Every snapshot's outcome is reported, not only the newest one's.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.core.output.snapshot import SnapshotError, describe, new_folder, write_snapshot
from cnn_viewer.ui.workers.worker import Task, Worker


class SnapshotControl(QObject):
    saved = pyqtSignal(str, list)  # folder, file names (GUI thread)
    failed = pyqtSignal(str)  # message (GUI thread)

    def __init__(self, window, folder_of) -> None:
        super().__init__(window)
        self.window = window
        self.folder_of = folder_of  # () -> the base folder for snapshots
        self.writer = Worker(self, name="snapshot", expected=(SnapshotError,), latest_only=False)
        self.writer.returned.connect(lambda done: self.saved.emit(*done))
        self.writer.errored.connect(lambda failure: self.failed.emit(failure.message))
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
            model={"name": win.state.model.name, "options": asdict(win.state.model_options)},
            source=win.state.source,
            device=win.device_name,
            norm=win.state.norm,
            colormap=win.state.colormap,
            saliency=win.engine.saliency,
        )
        image = win.grab().toImage()  # GUI thread; QImage may be saved from any thread
        self.join()  # one snapshot at a time
        self.writer.start(_write, folder, record, result, image)
        win.statusBar().showMessage(f"saving snapshot to {folder} …", 3000)
        return folder

    def join(self, timeout: float = 5.0) -> bool:
        """Wait for the snapshot being written, at most ``timeout`` s; True when done."""
        return self.writer.wait(timeout)

    def _saved(self, folder: str, files: list) -> None:
        self.window.statusBar().showMessage(f"snapshot: {len(files)} files in {folder}", 8000)

    def _failed(self, message: str) -> None:
        self.window._error("Snapshot not saved", message)


def _write(task: Task, folder: Path, record, result, image) -> tuple[str, list[str]]:
    """In the writer thread: the folder and the names of the files written."""
    files = write_snapshot(folder, record, result, lambda p: image.save(str(p)))
    return str(folder), [f.name for f in files]
