"""Runs one studio training in a Python thread and hands the GUI thread only finished
pictures and numbers, through queued signals. Pause/resume/cancel go through a
TrainControl (threading.Event); ``stop(timeout)`` cancels and joins with a bound."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.models.training.filter_images import filter_grid, maps_grid
from cnn_viewer.models.training.loop import Cancelled
from cnn_viewer.models.training.studio import Snapshot, TrainControl, TrainSettings
from cnn_viewer.models.zoo.studio_models import ArchOptions


@dataclass
class TrainRequest:
    folder: Path
    arch: ArchOptions
    settings: TrainSettings
    val_fraction: float = 0.2


@dataclass
class SnapshotView:
    """One snapshot ready to show: RGB uint8 pictures by title, and the raw snapshot
    (kept for the timeline export)."""

    step: int
    epoch: int
    images: dict[str, object]
    raw: Snapshot


def snapshot_view(snap: Snapshot) -> SnapshotView:
    """Pictures of the filters and probe maps (runs in the training thread)."""
    images = {f"{name} filters": filter_grid(w) for name, w in snap.filters.items()}
    images.update({f"{name} on the probe": maps_grid(m) for name, m in snap.maps.items()})
    return SnapshotView(snap.step, snap.epoch, images, snap)


class TrainWorker(QObject):
    """Lives in the GUI thread; its signals, emitted from the training thread, reach slots
    there queued. Payloads are never touched again by the training thread once sent."""

    status = pyqtSignal(str)
    prepared = pyqtSignal(object)  # studio_run.Prepared (data read, network built)
    progress = pyqtSignal(object)  # StepProgress
    snapshot = pyqtSignal(object)  # SnapshotView
    finished = pyqtSignal(object, object)  # (Prepared, Outcome)
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = TrainControl()
        self.thread: threading.Thread | None = None
        self._alive = True

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, request: TrainRequest) -> None:
        if self.running:
            raise RuntimeError("a training run is still going")
        self.control = TrainControl()
        self.thread = threading.Thread(
            target=self._run, args=(request, self.control), name="studio-training", daemon=True
        )
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel and wait up to ``timeout`` s; True when the thread has ended."""
        self.control.cancel()
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running

    def detach(self) -> None:
        """The receiver is going away: emit nothing more."""
        self._alive = False

    def _emit(self, signal, *args) -> None:
        if not self._alive:
            return
        try:
            signal.emit(*args)
        except RuntimeError:  # the QObject was deleted with its window
            self._alive = False

    def _run(self, request: TrainRequest, control: TrainControl) -> None:
        from cnn_viewer.models.checkpoint import CheckpointError
        from cnn_viewer.models.data.mnist import DataError
        from cnn_viewer.models.training.studio_run import prepare, run
        from cnn_viewer.models.zoo.weights_download import DownloadCancelled

        def loading(done: int, total: int) -> None:
            if control.cancelled:
                raise Cancelled("cancelled while reading the images")
            self._emit(self.status, f"reading images {done}/{total}")

        def downloading(done: int, total: int) -> None:
            mb = f"{done / 1e6:.1f}" + (f" of {total / 1e6:.1f}" if total else "")
            self._emit(self.status, f"downloading pretrained weights: {mb} MB")

        try:
            self._emit(self.status, f"reading {request.folder}")
            prepared = prepare(
                request.folder,
                request.arch,
                seed=request.settings.seed,
                val_fraction=request.val_fraction,
                on_load=loading,
                on_download=downloading,
                should_cancel=lambda: control.cancelled,
            )
            if control.cancelled:
                self._emit(self.failed, "cancelled before training started")
                return
            self._emit(self.prepared, prepared)
            self._emit(self.status, "training")
            outcome = run(
                prepared,
                request.settings,
                control,
                on_progress=lambda p: self._emit(self.progress, p),
                on_snapshot=lambda s: self._emit(self.snapshot, snapshot_view(s)),
            )
            self._emit(self.finished, prepared, outcome)
        except Cancelled as exc:
            self._emit(self.failed, str(exc))
        except DownloadCancelled:
            self._emit(self.failed, "cancelled while downloading the pretrained weights")
        except (DataError, CheckpointError, ValueError, OSError) as exc:
            self._emit(self.failed, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the user, not a console
            traceback.print_exc()
            self._emit(self.failed, f"training failed: {type(exc).__name__}: {exc}")
