"""The Train panel's live view and filter timeline: the first layers' filters and the
probe image's feature maps as snapshots arrive, a slider to scrub back through them,
and the timeline's export as an MP4 or a PNG strip. GUI thread only (snapshots come
queued from the training thread)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
)

from cnn_viewer.ui.train.views import ArrayView
from cnn_viewer.ui.train.worker import SnapshotView

MAX_TIMELINE = 400  # snapshots kept for scrubbing and export


class FilterTimeline:
    """TrainPanel's live pictures and timeline, as a mixin: ``_build_live`` makes the
    grid, the slider and the export buttons; it keeps the panel's ``timeline`` and
    ``views`` and reports through the panel's ``_status``."""

    def _build_live(self) -> QVBoxLayout:
        col = QVBoxLayout()
        self.grid = QGridLayout()
        self.probe_view = ArrayView("probe image")
        self.grid.addWidget(self.probe_view, 1, 0)
        placeholder = ArrayView("filters appear here after Start")
        self.views["_placeholder"] = placeholder
        self.grid.addWidget(placeholder, 0, 0)
        self.grid.setRowStretch(0, 2)  # the filters get most of the height
        self.grid.setRowStretch(1, 1)
        col.addLayout(self.grid, 1)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("scrub the filter timeline")
        self.slider.valueChanged.connect(self._scrub)
        self.slider_label = QLabel("timeline: empty")
        self.slider_label.setMinimumWidth(150)
        row.addWidget(QLabel("Filter timeline"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        col.addLayout(row)
        row = QHBoxLayout()
        self.video_button = QPushButton("Export MP4…")
        self.video_button.clicked.connect(lambda: self.export_dialog("mp4"))
        self.strip_button = QPushButton("Export PNG strip…")
        self.strip_button.clicked.connect(lambda: self.export_dialog("png"))
        row.addWidget(self.video_button)
        row.addWidget(self.strip_button)
        row.addStretch(1)
        col.addLayout(row)
        return col

    # ---- snapshots (GUI thread, queued) -------------------------------------------------
    def _snapshot(self, view: SnapshotView) -> None:
        follow = self.slider.value() >= len(self.timeline) - 1
        self.timeline.append(view)
        if len(self.timeline) > MAX_TIMELINE:  # long runs: keep every other, and the newest
            self.timeline = self.timeline[:-1:2] + [view]
            follow = True
        self.slider.setRange(0, len(self.timeline) - 1)
        self.video_button.setEnabled(True)
        self.strip_button.setEnabled(True)
        if follow:
            self.slider.setValue(len(self.timeline) - 1)
            self._show(view)

    def _scrub(self, index: int) -> None:
        if 0 <= index < len(self.timeline):
            self._show(self.timeline[index])

    def _show(self, view: SnapshotView) -> None:
        placeholder = self.views.pop("_placeholder", None)
        if placeholder is not None:
            self.grid.removeWidget(placeholder)
            placeholder.deleteLater()
        filters = [t for t in view.images if t.endswith("filters")]
        maps = [t for t in view.images if not t.endswith("filters")]
        for col, title in enumerate(filters):  # conv1 | conv2 (wide: one column a filter)
            self._view(title, 0, col, 1 + col).set_image(view.images[title])
        for col, title in enumerate(maps, start=1):
            self._view(title, 1, col).set_image(view.images[title])
        live = " (live)" if self.slider.value() == len(self.timeline) - 1 else ""
        self.slider_label.setText(
            f"step {view.step}, epoch {view.epoch}{live}  [{self.slider.value() + 1}/"
            f"{len(self.timeline)}]"
        )

    def _view(self, title: str, row: int, col: int, span: int = 1) -> ArrayView:
        if title not in self.views:
            # the filters are the point: at least 2 px a pixel (tiles are 12+ px already)
            self.views[title] = ArrayView(title, min_scale=2 if row == 0 else 0)
            self.grid.addWidget(self.views[title], row, col, 1, span)
        return self.views[title]

    # ---- export ------------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        if not self.timeline:
            return
        text = "MP4 video (*.mp4)" if kind == "mp4" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the filter timeline", "", text)
        if path:
            self.export(path if path.lower().endswith(f".{kind}") else f"{path}.{kind}")

    def export(self, path: str | Path) -> bool:
        """The first conv layer's filter timeline as an MP4 (by suffix) or a PNG strip."""
        from cnn_viewer.models.training.filter_images import export_strip, export_video

        raws = [v.raw for v in self.timeline]
        layer = next(iter(raws[0].filters))
        try:
            if str(path).lower().endswith(".mp4"):
                n = export_video(raws, layer, path)
                self._status(f"wrote {path} ({n} frames of {layer}'s filters)")
            else:
                export_strip(raws, layer, path)
                self._status(f"wrote {path}")
        except (OSError, ValueError) as exc:
            self._status(f"could not export: {exc}")
            return False
        return True
