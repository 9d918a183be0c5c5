"""The main window: wires the sources, the engine's thread and the panels together.

Data path: pad (GUI thread) or a source thread -> frame slot -> inference thread ->
result slot -> wake-up signal -> the GUI thread renders the newest result only.

What the viewer shows lives in ``state`` (cnn_viewer.core.state.ViewerState, with change
events); the window observes it and tells the inference worker (``FrameSettings`` per
frame, or a new engine). Features connect to ``events`` (ui/window/events.py).

Each job lives in its own mixin: the layout (layout.py), the pad and frame sources
(source_control.py), the engine and model switching (model_switching.py), rendering
(result_view.py) and the status line (status_line.py). This module holds the threads,
the extension points features use, and shutdown.
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtCore import QEvent, QObject, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.pipeline import InferenceWorker
from cnn_viewer.core.options import ModelOptions
from cnn_viewer.core.state import ViewerState
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.ui.window.events import WindowEvents
from cnn_viewer.ui.window.layout import WindowLayout
from cnn_viewer.ui.window.model_loader import ModelLoader
from cnn_viewer.ui.window.model_switching import ModelSwitching
from cnn_viewer.ui.window.result_view import ResultView
from cnn_viewer.ui.window.source_control import SourceControl
from cnn_viewer.ui.window.status_line import StatusLine


class _Wake(QObject):
    """Carries the inference thread's 'a result is ready' into the GUI thread."""

    ready = pyqtSignal()
    failed = pyqtSignal(str)  # a bug in the worker's loop (its traceback is logged)


class _DockScroll(QScrollArea):
    """A dock's content fitted to the dock, scrolling only below the content's minimum
    size. (QScrollArea's own fitting follows the content's height-for-width, which a
    word-wrapped label makes taller than the dock: the bottom was cut behind a scroll.)"""

    def setWidget(self, widget: QWidget) -> None:
        super().setWidget(widget)
        widget.installEventFilter(self)  # its minimum may grow later (a new table)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and obj is self.widget():
            self._fit()
        return False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        widget = self.widget()
        if widget is not None:
            least = widget.minimumSizeHint().expandedTo(widget.minimumSize())
            room = self.viewport().size()
            size = QSize(max(room.width(), least.width()), max(room.height(), least.height()))
            if widget.size() != size:
                widget.resize(size)


class MainWindow(WindowLayout, SourceControl, ModelSwitching, ResultView, StatusLine, QMainWindow):
    def __init__(
        self,
        model: LoadedModel,
        top_k: int = 5,
        saliency: str = "gradcam",
        threads: int | None = None,
        model_options: ModelOptions | None = None,
    ) -> None:
        super().__init__()
        self.state = ViewerState(
            model=model,
            model_options=model_options or ModelOptions(model=model.name),
            saliency=saliency,
            top_k=top_k,
        )
        self.events = WindowEvents()
        # Set by cnn_viewer.ui.features.build_window: the installed features, by name.
        self.features = None
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[Result] = LatestSlot()
        self.shown = 0  # results rendered so far
        self.answered = False  # an answer (not an empty pad) has been shown
        self.last_result: Result | None = None
        self.source = None  # the running FrameSource; None: the drawing pad
        self.pad_frame_id = 0  # id of the last frame the pad sent
        self._example = 0
        self._fps = 0.0
        self._last_done = 0.0
        self.render_ms: list[float] = []
        self.docks: dict[str, QDockWidget] = {}
        self.menus: dict = {}  # title -> QMenu, made by window_actions.add_action
        self.last_error = ""  # the last message shown in an error box (for tests, too)
        self.loader = ModelLoader(self)
        self.loader.progress.connect(self._load_progress)
        self.loader.loaded.connect(self._model_loaded)
        self.loader.failed.connect(self._model_failed)

        self.engine = self._engine_factory()(model)
        self.engine.warm_up()
        self._wake = _Wake()
        self._wake.ready.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self._wake.failed.connect(self._worker_failed, Qt.ConnectionType.QueuedConnection)
        self.worker = InferenceWorker(
            self.engine,
            self.frames,
            self.results,
            threads=threads,
            on_result=self._wake.ready.emit,
            on_error=self._wake.failed.emit,
        )
        self._build()
        self._observe_state()
        self.worker.start()
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(500)
        self._update_status()
        self.resize(1280, 800)

    def _observe_state(self) -> None:
        """The window's reactions to the viewer state: per-frame settings go to the
        worker as a message, and what an engine is built with makes a new engine."""
        events = self.state.events
        events.frozen.connect(self._frozen_changed)
        for name in ("visible", "inspected", "inspecting"):
            events[name].connect(self._send_settings)
        for name in ("layers", "saliency", "norm", "colormap"):
            events[name].connect(self.rebuild_engine)

    def _worker_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)
        self.last_error = message

    # ---- extension points for features -------------------------------------------------
    def add_tab(self, title: str, widget: QWidget) -> None:
        """A page in the right-hand column, next to Prediction."""
        self.side_tabs.addTab(widget, title)

    def show_tab(self, widget: QWidget) -> None:
        self.side_tabs.setCurrentWidget(widget)

    def add_dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        """A large panel (training, visualisation) docked at the bottom, hidden until
        opened; docks share one tabbed area. ``show_dock(name)`` opens it."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        # Scrolls inside its share rather than growing the window past the screen.
        scroll = _DockScroll()
        scroll.setWidget(widget)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        if self.docks:
            self.tabifyDockWidget(next(iter(self.docks.values())), dock)
        dock.hide()
        self.docks[name] = dock
        return dock

    def show_dock(self, name: str) -> None:
        dock = self.docks[name]
        first = not dock.isVisible()
        dock.show()
        dock.raise_()
        if first:  # give it a good share of the height, the layers keep the rest
            self.resizeDocks([dock], [int(self.height() * 0.4)], Qt.Orientation.Vertical)

    def add_action(self, name, text, keys, slot, menu, toolbar=False, checkable=False):
        """One more action with keys, in ``menu`` (and on the toolbar)."""
        from cnn_viewer.ui.window.actions import add_action

        action = add_action(self, name, text, keys, slot, menu, checkable)
        if toolbar:
            self.main_bar.addAction(action)
        self.actions_by_name[name] = action
        return action

    # ---- actions -------------------------------------------------------------------------
    def toggle_help(self) -> None:
        """F1: the keys of every action, features' included, over the window."""
        from cnn_viewer.ui.window.help_overlay import HelpOverlay

        if getattr(self, "help_overlay", None) is None:
            self.help_overlay = HelpOverlay(self)
        self.help_overlay.toggle()

    def save_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path))

    def save_screenshot_dialog(self) -> None:
        name = time.strftime("cnn-viewer-%Y%m%d-%H%M%S.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", name, "PNG image (*.png)")
        if path:
            ok = self.save_screenshot(path)
            self.statusBar().showMessage(f"saved {path}" if ok else f"could not write {path}", 5000)

    def _error(self, title: str, message: str) -> None:
        """Say what went wrong without blocking: the status bar and a non-modal box."""
        self.statusBar().showMessage(message.splitlines()[0], 8000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.last_error = message

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop the source and the inference thread; each wait is bounded by ``timeout``."""
        self.loader.cancel()
        self.loader.wait(timeout)
        self.events.shutdown.emit(timeout)
        self._stop_source()
        self.worker.stop()
        self.worker.join(timeout)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_toolbars()

    def keyPressEvent(self, event) -> None:
        """A key pressed right after the window appears, before the system has made it the
        active window, matches no shortcut (they wait for an active window) and would be
        dropped: run the action it names here instead. Once active, shortcuts take keys
        before they get this far."""
        pressed = QKeySequence(event.keyCombination())
        for action in self.actions_by_name.values():
            if action.isEnabled() and any(
                key.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                for key in action.shortcuts()
            ):
                action.trigger()
                event.accept()
                return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
