"""The Train panel's data choice: an MNIST folder, an image folder, or camera snapshots
recorded here (class sub-folders of PNGs under the snapshots folder, kept on disk)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QStandardPaths, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.models.data.datasets import SnapshotStore

KINDS = [
    ("MNIST folder (IDX files)", "mnist"),
    ("Image folder (a sub-folder per class)", "folder"),
    ("Camera snapshots (record them here)", "snapshots"),
]
RECORD_MS = 150  # one frame every 150 ms while the record button is held


def snapshots_root() -> Path:
    """$CNN_VIEWER_SNAPSHOTS, else <app data>/snapshots."""
    env = os.environ.get("CNN_VIEWER_SNAPSHOTS")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".cnn-viewer") / "snapshots"


class DataChooser(QWidget):
    """``grab_frame()`` gives the frame to record (RGB/gray uint8) or None."""

    message = pyqtSignal(str)  # for the panel's status line

    def __init__(self, grab_frame: Callable[[], np.ndarray | None], parent=None) -> None:
        super().__init__(parent)
        self.grab_frame = grab_frame
        self.store: SnapshotStore | None = None  # scanned on first use
        self._last_crc: int | None = None
        self._pending_delete: str | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        self.kind_box = QComboBox()
        for text, kind in KINDS:
            self.kind_box.addItem(text, kind)
        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        col.addWidget(self.kind_box)
        self.path_row = QWidget()
        row = QHBoxLayout(self.path_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("folder to train on")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        col.addWidget(self.path_row)
        self.found_label = QLabel("")  # what the chosen folder holds
        self.found_label.setWordWrap(True)
        self.path_edit.editingFinished.connect(self._count)
        col.addWidget(self.found_label)
        self.snap_box = QWidget()
        self._build_snapshots(self.snap_box)
        col.addWidget(self.snap_box)
        col.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(RECORD_MS)
        self.timer.timeout.connect(self._record_one)
        self._kind_changed()

    def _build_snapshots(self, box: QWidget) -> None:
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        self.class_list = QListWidget()
        self.class_list.setMaximumHeight(110)
        col.addWidget(self.class_list)
        row = QHBoxLayout()
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("new class, e.g. mug")
        self.class_name.returnPressed.connect(self.add_class)
        add = QPushButton("Add class")
        add.clicked.connect(self.add_class)
        row.addWidget(self.class_name, 1)
        row.addWidget(add)
        col.addLayout(row)
        self.record_button = QPushButton("Hold to record")
        self.record_button.setToolTip(
            "While held, frames from the current source (camera, video, pad) go into the "
            "selected class"
        )
        self.record_button.pressed.connect(self.start_recording)
        self.record_button.released.connect(self.stop_recording)
        col.addWidget(self.record_button)
        row = QHBoxLayout()
        self.delete_last_button = QPushButton("Delete last")
        self.delete_last_button.clicked.connect(self.delete_last)
        self.delete_class_button = QPushButton("Delete class")
        self.delete_class_button.clicked.connect(self.delete_class)
        row.addWidget(self.delete_last_button)
        row.addWidget(self.delete_class_button)
        col.addLayout(row)
        self.root_label = QLabel()
        self.root_label.setObjectName("dim")
        self.root_label.setWordWrap(True)
        col.addWidget(self.root_label)

    # ---- state -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.kind_box.currentData()

    def set_kind(self, kind: str) -> None:
        self.kind_box.setCurrentIndex([k for _, k in KINDS].index(kind))

    def folder(self) -> Path:
        """The folder to train on; ValueError with a plain message when there is none."""
        if self.kind == "snapshots":
            store = self.ensure_store()
            if not store.classes:
                raise ValueError("no snapshot classes yet: add a class and hold 'Hold to record'")
            return store.root
        text = self.path_edit.text().strip()
        if not text:
            raise ValueError("choose a folder to train on (Browse…)")
        return Path(text)

    def ensure_store(self) -> SnapshotStore:
        if self.store is None:
            self.store = SnapshotStore(snapshots_root()).scan()
            if self.store.problems:
                self.message.emit("snapshots: " + "; ".join(self.store.problems))
            self._refresh()
        return self.store

    def _kind_changed(self) -> None:
        snaps = self.kind == "snapshots"
        self.path_row.setVisible(not snaps)
        self.snap_box.setVisible(snaps)
        if snaps:
            self.ensure_store()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to train on", self.path_edit.text())
        if path:
            self.set_folder(path)

    def set_folder(self, path: str | Path) -> None:
        """Train on ``path`` and say at once what it holds."""
        self.path_edit.setText(str(path))
        self._count()

    def _count(self) -> None:
        from cnn_viewer.models.data.datasets import count_data
        from cnn_viewer.models.data.mnist import DataError

        text = self.path_edit.text().strip()
        if not text:
            self.found_label.setText("")
            return
        try:
            n, classes = count_data(text)
        except DataError as exc:
            self.found_label.setText(f"<span style='color:#ff8a80'>{exc}</span>")
            return
        names = ", ".join(classes[:12]) + (" …" if len(classes) > 12 else "")
        self.found_label.setText(
            f"found {n} image{'s' * (n != 1)} in {len(classes)} "
            f"class{'es' * (len(classes) != 1)}" + (f": {names}" if names else "")
        )

    def _refresh(self) -> None:
        store = self.store
        current = self.selected_class()
        self.class_list.clear()
        for name, n in store.counts().items():
            self.class_list.addItem(f"{name}  ({n})")
        names = store.classes
        if names:
            self.class_list.setCurrentRow(names.index(current) if current in names else 0)
        self.root_label.setText(f"saved in {store.root}")

    def selected_class(self) -> str | None:
        item = self.class_list.currentItem()
        return item.text().rsplit("  (", 1)[0] if item is not None else None

    # ---- actions -----------------------------------------------------------------------
    def add_class(self) -> None:
        store = self.ensure_store()
        try:
            name = store.add_class(self.class_name.text())
        except (ValueError, OSError) as exc:
            self.message.emit(str(exc))
            return
        self.class_name.clear()
        self._refresh()
        self.class_list.setCurrentRow(store.classes.index(name))

    def start_recording(self) -> None:
        if self.selected_class() is None:
            self.message.emit("add a class first, then hold the button to record into it")
            return
        self._last_crc = None
        self._record_one()
        self.timer.start()

    def stop_recording(self) -> None:
        self.timer.stop()

    def _record_one(self) -> None:
        name = self.selected_class()
        frame = self.grab_frame()
        if name is None or frame is None:
            if frame is None:
                self.message.emit("no frame to record yet: start a camera or draw on the pad")
            return
        crc = zlib.crc32(np.ascontiguousarray(frame).data)
        if crc == self._last_crc:
            return  # the same picture again (a still source): keep one copy
        self._last_crc = crc
        try:
            self.store.add(name, frame)
        except (OSError, ValueError) as exc:
            self.stop_recording()
            self.message.emit(f"could not save the snapshot: {exc}")
            return
        self._refresh()

    def delete_last(self) -> None:
        name = self.selected_class()
        if name is not None and self.store.delete_last(name) is not None:
            self._refresh()

    def delete_class(self) -> None:
        """Two clicks on the same class: the first asks, the second deletes its folder."""
        name = self.selected_class()
        if name is None:
            return
        if self._pending_delete != name:
            self._pending_delete = name
            n = len(self.store.files[name])
            self.message.emit(f"click 'Delete class' again to delete '{name}' ({n} snapshots)")
            QTimer.singleShot(4000, lambda: setattr(self, "_pending_delete", None))
            return
        self._pending_delete = None
        self.store.delete_class(name)
        self.message.emit(f"deleted class '{name}'")
        self._refresh()
