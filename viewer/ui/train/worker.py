"""Runs one studio training on a Worker (cnn_viewer.ui.workers.worker) and hands the GUI
thread only finished pictures and numbers, through queued signals. Pause/resume/cancel go
through a TrainControl (threading.Event); ``stop(timeout)`` cancels and joins with a bound."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.data.mnist import DataError
from cnn_viewer.models.training.filter_images import filter_grid, maps_grid
from cnn_viewer.models.training.recipe import Overrides
from cnn_viewer.models.training.studio import Snapshot, TrainControl
from cnn_viewer.models.zoo.studio_models import ArchOptions
from cnn_viewer.ui.workers.worker import Failure, Task, Worker

USER_ERRORS = (DataError, CheckpointError, ValueError, OSError)  # a message, no traceback


@dataclass
class TrainRequest:
    folder: Path
    arch: ArchOptions
    settings: Overrides  # the form's choices; the recipe fills in the rest
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
    """Lives in the GUI thread; the training runs on a Worker (cnn_viewer.ui.workers) and
    its reports reach these signals there, queued. Payloads are never touched again by
    the training thread once sent. ``control`` pauses, resumes and cancels the run;
    cancelling the Worker cancels it too."""

    status = pyqtSignal(str)
    prepared = pyqtSignal(object)  # studio_run.Prepared (data read, network built)
    progress = pyqtSignal(object)  # StepProgress
    snapshot = pyqtSignal(object)  # SnapshotView
    finished = pyqtSignal(object, object)  # (Prepared, Outcome)
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = TrainControl()
        self.worker = Worker(self, name="studio-training", expected=USER_ERRORS)
        self.worker.progress.connect(self.progress.emit)
        self.worker.posted.connect(self._posted)
        self.worker.returned.connect(lambda ended: self.finished.emit(*ended))
        self.worker.cancelled.connect(lambda exc: self.failed.emit(str(exc)))
        self.worker.errored.connect(self._errored)

    @property
    def running(self) -> bool:
        return self.worker.busy

    @property
    def thread(self) -> threading.Thread | None:
        return self.worker.thread

    def start(self, request: TrainRequest) -> None:
        if self.running:
            raise RuntimeError("a training run is still going")
        self.control = TrainControl()
        self.worker.start(_train, request, self.control)

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel and wait up to ``timeout`` s; True when the thread has ended."""
        return self.worker.stop(timeout)  # the run's control is cancelled with it

    def detach(self) -> None:
        """The receiver is going away: emit nothing more."""
        self.worker.detach()

    def _posted(self, kind: str, value) -> None:
        """``status``, ``prepared`` or ``snapshot``: the signal of that name."""
        getattr(self, kind).emit(value)

    def _errored(self, failure: Failure) -> None:
        if failure.expected:
            self.failed.emit(failure.message)
        else:  # a bug: the user hears of it, its traceback is in the log
            self.failed.emit(f"training failed: {failure.message}")


def _train(task: Task, request: TrainRequest, control: TrainControl):
    """In the training thread: (Prepared, Outcome); raises Cancelled when stopped."""
    from cnn_viewer.models.training.studio_run import prepare, run

    task.on_cancel(control.cancel)
    phase = {"downloading": False}  # True while the pretrained weights are fetched

    def loading(done: int, total: int) -> None:
        phase["downloading"] = False
        if control.cancelled:
            raise Cancelled("cancelled while reading the images")
        task.post("status", f"reading images {done}/{total}")

    def download(done: int, total: int) -> None:
        phase["downloading"] = True
        mb = f"{done / 1e6:.1f}" + (f" of {total / 1e6:.1f}" if total else "")
        task.post("status", f"downloading pretrained weights: {mb} MB")

    task.post("status", f"reading {request.folder}")
    try:
        prepared = prepare(
            request.folder,
            request.arch,
            seed=request.settings.seed,
            val_fraction=request.val_fraction,
            on_load=loading,
            on_download=download,
            should_cancel=lambda: control.cancelled,
        )
    except Cancelled as exc:
        if phase["downloading"]:
            raise Cancelled("cancelled while downloading the pretrained weights") from exc
        raise
    if control.cancelled:
        raise Cancelled("cancelled before training started")
    task.post("prepared", prepared)
    task.post("status", "training")
    outcome = run(
        prepared,
        prepared.settings(request.settings),
        control,
        on_progress=task.progress,
        on_snapshot=lambda s: task.post("snapshot", snapshot_view(s)),
    )
    return prepared, outcome
