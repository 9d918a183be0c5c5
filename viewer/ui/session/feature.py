"""Record, snapshot, drag and drop, recent files, feature-map scale and colours, and the
settings the window remembers. Installed after every feature with a dock
(cnn_viewer.ui.features), so the docks exist when a saved layout is restored
(cnn_viewer.ui.session.startup does that)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PyQt6.QtCore import QStandardPaths
from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import QFileDialog, QVBoxLayout

from cnn_viewer.ui.session.drop import DropFilter, Recent, file_menu
from cnn_viewer.ui.session.recording import TARGETS, RecordControl
from cnn_viewer.ui.session.settings import save
from cnn_viewer.ui.session.snapshot import SnapshotControl
from cnn_viewer.ui.widgets.colour_bar import FeatureMapControls


def default_output_folder() -> Path:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures or Path.home()) / "cnn-viewer"


class Keep:
    """The feature's state on a window (``window.features.session``)."""

    def __init__(self, window) -> None:
        self.window = window
        self.store = None  # QSettings once session.startup attaches it; None: remember nothing
        self.saved_layers: dict[str, list[str]] = {}
        self.output_folder = default_output_folder()
        self.notes: list[str] = []  # what start-up reset, as shown in the status bar
        self.closed = False
        self._seen = (window.state.source, window.state.model_options.checkpoint)

        self.controls = FeatureMapControls()
        self.controls.set_state(window.state.norm, window.state.colormap)
        self.controls.changed.connect(self.set_scale)
        _insert_above_layers(window, self.controls)

        record = window.add_action(
            "record", "Record video", ["Ctrl+R"], self.toggle_record, "File", True, True
        )
        self.recording = RecordControl(window, record)
        window.add_action("snapshot", "Snapshot", ["F12"], self.snapshot, "File", toolbar=True)
        self.snapshots = SnapshotControl(window, lambda: self.output_folder)
        self._target_menu()
        window.add_action("output_folder", "Output folder…", [], self.choose_output_folder, "File")
        self.recent = Recent(window)
        _quit_last(window)
        self.drops = DropFilter(window)
        window.events.shutdown.connect(lambda _timeout: self.on_close())
        window.events.engine_changed.connect(self._model_changed)
        window.events.result_shown.connect(self._result_shown)

    # ---- feature maps ------------------------------------------------------------------
    def set_scale(self, norm: str, colormap: str) -> None:
        """Normalisation (mosaic.parse_norm) and colormap for every engine from now on."""
        win = self.window
        if (norm, colormap) == (win.state.norm, win.state.colormap):
            return
        win.state.norm, win.state.colormap = norm, colormap  # observed: a new engine
        self.controls.set_state(norm, colormap)

    def _result_shown(self, result) -> None:
        self.controls.show_ranges(result.layers)

    def _model_changed(self, _model) -> None:
        win = self.window
        self.controls.set_state(win.state.norm, win.state.colormap)
        spec, checkpoint = win.state.source, win.state.model_options.checkpoint
        if spec != self._seen[0]:
            self.recent.add_source(spec)
        if checkpoint and checkpoint != self._seen[1]:
            self.recent.add_checkpoint(checkpoint)
        self._seen = (spec, checkpoint)

    # ---- record and snapshot -----------------------------------------------------------
    def toggle_record(self, on: bool) -> None:
        if on:
            self.start_recording(self.output_folder / time.strftime("recording-%Y%m%d-%H%M%S.mp4"))
        else:
            self.recording.stop(wait=False)

    def start_recording(self, path: str | Path, frames: int | None = None) -> bool:
        folder = Path(path).parent
        if folder == self.output_folder:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # the recorder names the problem
        return self.recording.start(path, frames)

    def snapshot(self) -> Path | None:
        return self.snapshots.take()

    def _target_menu(self) -> None:
        """File > Record what: the whole window or one of its columns."""
        parent = file_menu(self.window)
        menu = parent.addMenu("Record what") if parent is not None else None
        group = QActionGroup(self.window)
        for key, text in TARGETS:
            action = group.addAction(text)
            action.setCheckable(True)
            action.setChecked(key == self.recording.target)
            action.triggered.connect(lambda _=False, k=key: setattr(self.recording, "target", k))
            if menu is not None:
                menu.addAction(action)
        self.target_group = group

    def choose_output_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.window, "Folder for snapshots and recordings", str(self.output_folder)
        )
        if path:
            self.output_folder = Path(path)
            self.window.statusBar().showMessage(f"snapshots and recordings go to {path}", 5000)

    # ---- settings and close ------------------------------------------------------------
    def save_settings(self) -> bool:
        if self.store is None:
            return False
        save(self.window, self.store, self)
        return True

    def on_close(self) -> None:
        """Before the window closes: finish a recording, let a snapshot land, save."""
        if self.closed:
            return
        self.closed = True
        outcome = self.recording.stop(wait=True)
        if outcome is not None and not outcome.ok:
            print(f"cnn-viewer: {outcome.message}", file=sys.stderr)
        self.snapshots.join()
        self.save_settings()


def _insert_above_layers(window, widget) -> None:
    """Put the scale row between the Layers title and the layers panel."""
    middle = window.layers_panel.parentWidget()
    layout = middle.layout() if middle is not None else None
    if isinstance(layout, QVBoxLayout):
        layout.insertWidget(layout.indexOf(window.layers_panel), widget)
    else:
        window.add_tab("Colours", widget)


def _quit_last(window) -> None:
    """Keep Quit at the bottom of the File menu, below the entries added here."""
    menu, quit_action = file_menu(window), window.actions_by_name.get("quit")
    if menu is not None and quit_action is not None:
        menu.removeAction(quit_action)
        menu.addSeparator()
        menu.addAction(quit_action)


def install(window) -> Keep:
    return Keep(window)
