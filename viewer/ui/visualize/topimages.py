"""Visualize tab "Top images": scan data for the crops that excite each channel most."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.core.sources.open_source import VIDEO_EXTENSIONS
from cnn_viewer.core.visualize.scan_data import DataSpec, default_digits_folder
from cnn_viewer.core.visualize.topimages import scan
from cnn_viewer.ui.visualize.jobs import ImageView


class DataChooser(QWidget):
    """Which images to scan: the validation digits, an image folder or a video."""

    def __init__(self, videos: bool = True) -> None:
        super().__init__()
        self.box = QComboBox()
        self.box.addItem("Validation digits", "digits")
        self.box.addItem("Image folder…", "folder")
        if videos:
            self.box.addItem("Video file…", "video")
        self.box.activated.connect(self._chosen)
        self.path = str(default_digits_folder())
        self.kind = "digits"
        self.path_label = QLabel(self.path)
        self.path_label.setObjectName("dim")
        self.path_label.setWordWrap(True)
        self.limit = QSpinBox()
        self.limit.setRange(0, 1_000_000)
        self.limit.setSpecialValueText("all")
        self.limit.setValue(0)
        self.limit.setToolTip("scan at most this many images (all when blank)")
        self.every = QSpinBox()
        self.every.setRange(1, 1000)
        self.every.setToolTip("video: every n-th frame")
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Data"), 0, 0)
        lay.addWidget(self.box, 0, 1, 1, 3)
        lay.addWidget(self.path_label, 1, 0, 1, 4)
        lay.addWidget(QLabel("at most"), 2, 0)
        lay.addWidget(self.limit, 2, 1)
        lay.addWidget(QLabel("every"), 2, 2)
        lay.addWidget(self.every, 2, 3)

    def _chosen(self) -> None:
        kind = self.box.currentData()
        if kind == "digits":
            self.set_data("digits", str(default_digits_folder()))
        elif kind == "folder":
            path = QFileDialog.getExistingDirectory(self, "Folder of images")
            if path:
                self.set_data("folder", path)
        else:
            pattern = " ".join(f"*.{e}" for e in VIDEO_EXTENSIONS)
            path, _ = QFileDialog.getOpenFileName(self, "Video", "", f"Videos ({pattern})")
            if path:
                self.set_data("video", path)
        self.box.setCurrentIndex(self.box.findData(self.kind))

    def set_data(self, kind: str, path: str) -> None:
        self.kind, self.path = kind, path
        self.path_label.setText(path)
        self.box.setCurrentIndex(self.box.findData(kind))

    def spec(self) -> DataSpec:
        spec = DataSpec(self.kind, self.path, self.limit.value() or None, self.every.value())
        spec.check()
        return spec


class TopImagesTab(QWidget):
    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.top = None
        self.data = DataChooser()
        self.layer_list = QListWidget()
        self.layer_list.setToolTip("the layers to scan (tick them)")
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip(
            "Find the top 9 crops per channel (cached: a rescan is instant)"
        )
        self.scan_button.clicked.connect(self.run)
        left = QVBoxLayout()
        left.addWidget(self.data)
        left.addWidget(QLabel("Layers to scan"))
        left.addWidget(self.layer_list, 1)
        left.addWidget(self.scan_button)

        self.show_layer = QComboBox()
        self.show_layer.currentIndexChanged.connect(self.show_channel)
        self.channel = QSpinBox()
        self.channel.setRange(0, 0)
        self.channel.valueChanged.connect(self.show_channel)
        pick = QHBoxLayout()
        for w in (QLabel("Show"), self.show_layer, QLabel("channel"), self.channel):
            pick.addWidget(w)
        pick.addStretch(1)
        self.summary = QLabel("")
        self.summary.setObjectName("dim")
        self.mosaic = ImageView(240)
        self.mosaic.setToolTip("the 9 crops that excite this channel most, best at the top left")
        self.captions = QLabel("")
        self.captions.setObjectName("dim")
        self.captions.setMinimumWidth(240)
        shown = QHBoxLayout()
        shown.addWidget(self.mosaic, 1)
        shown.addWidget(self.captions)
        right = QVBoxLayout()
        right.addLayout(pick)
        right.addWidget(self.summary)
        right.addLayout(shown, 1)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addLayout(right, 2)

    def model_changed(self, model) -> None:
        self.top = None
        self.layer_list.clear()
        names = self.panel.layer_names()
        for i, name in enumerate(names):
            item = QListWidgetItem(name)
            # the digit CNN scans every layer in a second; a big model: the first two
            tick = model.is_digits or i < 2
            item.setCheckState(Qt.CheckState.Checked if tick else Qt.CheckState.Unchecked)
            self.layer_list.addItem(item)
        if model.is_digits:
            self.data.set_data("digits", str(default_digits_folder()))
        self.show_layer.clear()
        self.summary.setText("tick layers, choose data, then Scan")
        self._clear_cells()

    def checked_layers(self) -> list[str]:
        items = [self.layer_list.item(i) for i in range(self.layer_list.count())]
        return [it.text() for it in items if it.checkState() == Qt.CheckState.Checked]

    def select_unit(self, layer: str, channel: int) -> None:
        if self.top is not None and layer in self.top.layers:
            self.show_layer.setCurrentText(layer)
            self.channel.setValue(channel)
            return
        for i in range(self.layer_list.count()):
            if self.layer_list.item(i).text() == layer:
                self.layer_list.item(i).setCheckState(Qt.CheckState.Checked)

    def run(self) -> None:
        layers = self.checked_layers()
        if not layers:
            self.panel.bar.idle("tick at least one layer to scan")
            return
        try:
            spec = self.data.spec()
        except ValueError as exc:
            self.panel.bar.idle(str(exc))
            return
        panel = self.panel
        panel.run(
            f"Top images ({len(layers)} layers)",
            lambda h: scan(
                panel.work_model(), layers, spec, on_progress=h.progress, should_stop=h.stopped
            ),  # fmt: skip
            self._done,
        )

    def _done(self, top) -> None:
        self.top = top
        how = "loaded from the cache" if top.from_cache else "scanned"
        self.summary.setText(
            f"{how}: {len(top.names)} images ({top.data}) in {top.seconds:.1f} s; "
            "click a mosaic tile to show its channel"
        )
        self.show_layer.blockSignals(True)
        self.show_layer.clear()
        self.show_layer.addItems(list(top.layers))
        self.show_layer.blockSignals(False)
        self.show_channel()

    def _clear_cells(self) -> None:
        self.mosaic.show_image(None)
        self.captions.setText("")

    def show_channel(self) -> None:
        if self.top is None or self.show_layer.currentText() not in self.top.layers:
            return
        lt = self.top.layers[self.show_layer.currentText()]
        self.channel.setRange(0, lt.values.shape[0] - 1)
        c = self.channel.value()
        kept = [j for j in range(lt.values.shape[1]) if lt.items[c, j] >= 0]
        self.mosaic.show_image(tile(lt.crops[c, kept]))
        lines = []
        for n, j in enumerate(kept, start=1):
            name = self.top.names[int(lt.items[c, j])]
            y, x = lt.positions[c, j]
            lines.append(f"{n}. {lt.values[c, j]:.2f}  {Path(name).name[:30]}  at ({y}, {x})")
        self.captions.setText("\n".join(lines))


def tile(crops: np.ndarray, cols: int = 3, gap: int = 1) -> np.ndarray | None:
    """K crops (K x h x w [x 3] uint8) -> one image, ``cols`` per row, gaps in gray."""
    if len(crops) == 0:
        return None
    k, h, w = crops.shape[:3]
    rows = -(-k // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, *crops.shape[3:]), 80, np.uint8)
    for i, crop in enumerate(crops):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = crop
    return out
