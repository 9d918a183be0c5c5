"""Load a model off the GUI thread: fetch weights with progress, build, warm up.

Results come back to the GUI thread as Qt signals; a failed load leaves the
window with the model it had.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PyQt6.QtCore import QCoreApplication, QObject, pyqtSignal

from cnn_viewer.core.options import ModelOptions
from cnn_viewer.models import CheckpointError
from cnn_viewer.models.zoo.loaded import WeightsUnavailable
from cnn_viewer.models.zoo.weights_download import DownloadCancelled, prefetch


class ModelLoader(QObject):
    """One load at a time; reports ``progress(done, total, text)``, ``loaded(payload)``
    and ``failed(kind, message)``.

    ``build(model)`` runs in the loader thread after loading (e.g. make and warm up an
    Engine); its return value is the payload of ``loaded``.
    """

    QUIT_JOIN_S = 1.5  # at application quit, wait this long for a load to stop

    progress = pyqtSignal(int, int, str)
    loaded = pyqtSignal(object)
    failed = pyqtSignal(str, str)  # kind: "offline", "checkpoint", "error", "cancelled"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        app = QCoreApplication.instance()
        if app is not None:  # a load must not outlive the event loop (it emits signals)
            app.aboutToQuit.connect(self._stop_for_quit)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float) -> bool:
        """Join the loading thread for at most ``timeout`` s; True if none is running.
        A cancelled load stops at its next step (download chunk, build, warm-up)."""
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout))
        return not self.busy

    def _stop_for_quit(self) -> None:
        self.cancel()
        self.wait(self.QUIT_JOIN_S)

    def start(self, options: ModelOptions, build: Callable[[object], object]) -> None:
        self._cancel.clear()
        self._thread = threading.Thread(
            target=self._run, args=(options, build), name="model-loader", daemon=True
        )
        self._thread.start()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled("cancelled")  # ends the load the same way

    def _run(self, options: ModelOptions, build: Callable[[object], object]) -> None:
        label = options.checkpoint or options.model
        try:
            if options.checkpoint is None and options.model_file is None:
                self.progress.emit(0, 0, f"fetching weights for {label}")
                prefetch(
                    options.model,
                    options.weights,
                    on_progress=lambda d, t: self.progress.emit(d, t, f"downloading {label}"),
                    should_cancel=self._cancel.is_set,
                )
            self._check_cancel()
            self.progress.emit(0, 0, f"loading {label}")
            model = options.load()
            self._check_cancel()
            self.progress.emit(0, 0, f"warming up {label}")
            payload = build(model)
        except DownloadCancelled:
            self.failed.emit("cancelled", f"loading {label} was cancelled")
        except WeightsUnavailable as exc:
            self.failed.emit("offline", str(exc))
        except CheckpointError as exc:
            self.failed.emit("checkpoint", str(exc))
        except Exception as exc:  # noqa: BLE001 - any model the user names: report, never crash
            self.failed.emit("error", f"{label}: {type(exc).__name__}: {exc}")
        else:
            if self._cancel.is_set():
                self.failed.emit("cancelled", f"loading {label} was cancelled")
            else:
                self.loaded.emit(payload)
