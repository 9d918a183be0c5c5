"""Drag and drop onto the window, and the File > Recent menu.

A dropped image, video or folder becomes the source (``window.set_source``, the rules of
``--source``); a dropped checkpoint is loaded like ``--checkpoint`` with the current
``--model`` (a cnn-viewer .safetensors describes itself; a state_dict needs its arch).
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QEvent, QObject
from PyQt6.QtWidgets import QMenu

from cnn_viewer.core.options import ModelOptions
from cnn_viewer.core.sources.open_source import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

CHECKPOINT_EXTENSIONS = ("safetensors", "pt", "pth", "ckpt")
RECENT_MAX = 8


def classify(path: Path) -> str:
    """'source', 'checkpoint' or 'unknown' for a dropped path."""
    if path.is_dir():
        return "source"
    ext = path.suffix[1:].lower()
    if ext in CHECKPOINT_EXTENSIONS:
        return "checkpoint"
    if ext in IMAGE_EXTENSIONS or ext in VIDEO_EXTENSIONS:
        return "source"
    return "unknown"


def open_path(window, path: str | Path) -> str:
    """Open ``path`` as the command line would; returns what was done (for the status)."""
    path = Path(path)
    if not path.exists():
        window._error("Cannot open", f"{path} does not exist (any more).")
        return "missing"
    kind = classify(path)
    if kind == "checkpoint":
        options = window.state.model_options
        window.load_model(
            ModelOptions(model=options.model, checkpoint=str(path), device=options.device)
        )
    elif kind == "source":
        window.set_source(str(path))
    else:
        window._error(
            "Cannot open",
            f"{path.name} is not an image ({', '.join(IMAGE_EXTENSIONS)}), a video "
            f"({', '.join(VIDEO_EXTENSIONS)}), a folder or a checkpoint "
            f"({', '.join('.' + e for e in CHECKPOINT_EXTENSIONS)}).",
        )
    return kind


def dropped_paths(mime) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class DropFilter(QObject):
    """Event filter on the main window: dropped files open as source or checkpoint."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.opened: list[tuple[str, str]] = []  # (kind, path) of each drop, for the status
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is not self.window:
            return False
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_paths(event.mimeData()):
                event.acceptProposedAction()
                return True
            return False
        if kind == QEvent.Type.Drop:
            paths = dropped_paths(event.mimeData())
            if not paths:
                return False
            event.acceptProposedAction()
            self.drop(paths)
            return True
        return False

    def drop(self, paths: list[Path]) -> None:
        """Open the first source and the first checkpoint among ``paths``."""
        by_kind: dict[str, Path] = {}
        for p in paths:
            by_kind.setdefault(classify(p), p)
        chosen = [by_kind[k] for k in ("checkpoint", "source") if k in by_kind]
        if not chosen:
            chosen = [paths[0]]  # says why it cannot be opened
        for p in chosen:
            self.opened.append((open_path(self.window, p), str(p)))
        if len(paths) > len(chosen):
            self.window.statusBar().showMessage(
                f"dropped {len(paths)} files; opened {', '.join(p.name for p in chosen)}", 6000
            )


class Recent:
    """Recently opened sources and checkpoints (newest first), shown in File > Recent."""

    def __init__(self, window) -> None:
        self.window = window
        self.sources: list[str] = []
        self.checkpoints: list[str] = []
        self.menu = QMenu("Recent", window)
        self.menu.setObjectName("menu_recent")
        menu = file_menu(window)
        if menu is not None:
            menu.addSeparator()
            menu.addMenu(self.menu)
        self.rebuild()

    def add_source(self, spec: str) -> None:
        if spec == "pad" or spec.lower().startswith("camera"):
            return
        self.sources = _push(self.sources, str(Path(spec).resolve()))
        self.rebuild()

    def add_checkpoint(self, path: str) -> None:
        self.checkpoints = _push(self.checkpoints, str(Path(path).resolve()))
        self.rebuild()

    def set(self, sources: list[str], checkpoints: list[str]) -> None:
        self.sources, self.checkpoints = sources[:RECENT_MAX], checkpoints[:RECENT_MAX]
        self.rebuild()

    def clear(self) -> None:
        self.set([], [])

    def rebuild(self) -> None:
        self.menu.clear()
        for title, paths in (("Sources", self.sources), ("Checkpoints", self.checkpoints)):
            if not paths:
                continue
            self.menu.addSection(title)
            for p in paths:
                action = self.menu.addAction(Path(p).name)
                action.setToolTip(p)
                action.setStatusTip(p)
                action.triggered.connect(lambda _=False, p=p: open_path(self.window, p))
        if not self.sources and not self.checkpoints:
            self.menu.addAction("(nothing yet)").setEnabled(False)
        else:
            self.menu.addSeparator()
            self.menu.addAction("Clear recent", self.clear)


def _push(items: list[str], item: str) -> list[str]:
    return [item, *(i for i in items if i != item)][:RECENT_MAX]


def file_menu(window) -> QMenu | None:
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            return action.menu()
    return None
