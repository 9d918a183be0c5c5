"""The Train panel: pick data and an architecture, train in a worker thread, watch the
first layers' filters and a probe image's feature maps change, scrub the filter timeline,
read the curves and the confusion matrix, save, and switch the viewer to the result.

Each job lives in its own mixin: the Network and Training forms (settings_forms.py), the
run control and the worker's signals (run_control.py), the live pictures, timeline and
its export (timeline.py), and saving and using the trained network (trained_model.py).
This module holds the state they share and puts the pieces together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.models.training.recipe import Overrides
from cnn_viewer.models.training.studio import TrainSettings
from cnn_viewer.ui.train.data import DataChooser
from cnn_viewer.ui.train.run_control import RunControl
from cnn_viewer.ui.train.settings_forms import SettingsForms
from cnn_viewer.ui.train.timeline import FilterTimeline
from cnn_viewer.ui.train.trained_model import TrainedModelActions
from cnn_viewer.ui.train.views import ArrayView, ConfusionView, CurvesView
from cnn_viewer.ui.train.worker import SnapshotView, TrainWorker
from cnn_viewer.ui.widgets.form_controls import panel_title


class TrainPanel(SettingsForms, RunControl, FilterTimeline, TrainedModelActions, QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.worker = TrainWorker(self)
        self.worker.status.connect(self._status)
        self.worker.prepared.connect(self._prepared)
        self.worker.progress.connect(self._progress)
        self.worker.snapshot.connect(self._snapshot)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.timeline: list[SnapshotView] = []
        self.views: dict[str, ArrayView] = {}
        self.prepared = None
        self.outcome = None
        self.settings: TrainSettings | None = None  # the recipe's, once the data is read
        self.overrides: Overrides | None = None  # what the form set
        self.saved_path: Path | None = None
        self.last_progress = None
        self._dirty = False
        self._build()
        self._redraw = QTimer(self)
        self._redraw.setInterval(200)
        self._redraw.timeout.connect(self._redraw_curves)
        self._set_running(False)

    # ---- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addLayout(self._build_controls(), 0)
        row.addLayout(self._build_live(), 3)
        self.curves = CurvesView()
        row.addWidget(self.curves, 2)
        col = QVBoxLayout()
        col.addWidget(panel_title("Validation"))
        self.confusion = ConfusionView()
        col.addWidget(self.confusion, 1)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("write the trained network as a cnn-viewer checkpoint")
        self.save_button.clicked.connect(self.save_dialog)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip(
            "switch the viewer to the trained network (asks where to save it first, unless "
            "it is saved already)"
        )
        self.use_button.clicked.connect(self.use_model)
        col.addWidget(self.save_button)
        col.addWidget(self.use_button)
        row.addLayout(col, 3)

    def _build_controls(self) -> QVBoxLayout:
        col = QVBoxLayout()
        self.tabs = QTabWidget()
        self.tabs.setMaximumWidth(330)
        self.data = DataChooser(self._grab_frame)
        self.data.message.connect(self._status)
        for page, title in [(self.data, "Data"), (self._build_network(), "Network"),
                            (self._build_training(), "Training")]:  # fmt: skip
            scroll = QScrollArea()
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            self.tabs.addTab(scroll, title)
        col.addWidget(self.tabs, 1)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop now; the weights after the last step are kept")
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.start_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("step %v of %m")
        col.addWidget(self.progress_bar)
        self.status_label = QLabel("Choose data, then Start.")
        self.status_label.setWordWrap(True)
        self.status_label.setMaximumWidth(330)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.status_label)
        return col

    # ---- recording frames --------------------------------------------------------------
    def _grab_frame(self) -> np.ndarray | None:
        w = self.window
        if w.source is None:
            image = w.pad.image()
            return image if image.any() else None
        result = w.last_result
        return None if result is None else result.frame_image
