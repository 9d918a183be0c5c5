"""The Train panel's Network and Training pages: the architecture form (a small CNN or a
fine-tuned torchvision backbone) and the run settings, read into ArchOptions and
TrainSettings when Start is pressed. GUI thread only."""

from __future__ import annotations

from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QWidget

from cnn_viewer.models.training.recipe import Overrides
from cnn_viewer.models.zoo.small_cnn import ACTIVATIONS, POOLS
from cnn_viewer.models.zoo.studio_models import ArchOptions
from cnn_viewer.ui.widgets.form_controls import spin_box

ARCHS = [
    ("auto (recommended)", "auto"),
    ("small CNN", "small"),
    ("resnet18 (fine-tune)", "resnet18"),
    ("mobilenet_v3_small (fine-tune)", "mobilenet_v3_small"),
    ("efficientnet_b0 (fine-tune)", "efficientnet_b0"),
]

AUGMENT = [("auto", (None, False)), ("on", (True, False)), ("on, with mirroring", (True, True)),
           ("off", (False, False))]  # fmt: skip


class SettingsForms:
    """TrainPanel's Network and Training pages, as a mixin: ``_build_network`` and
    ``_build_training`` make the pages (and their widgets as panel attributes);
    ``train_settings`` reads the device from the panel's ``window``."""

    def _build_network(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.arch_box = QComboBox()
        for text, name in ARCHS:
            self.arch_box.addItem(text, name)
        self.arch_box.currentIndexChanged.connect(self._arch_changed)
        form.addRow("network", self.arch_box)
        self.blocks = spin_box(1, 5, 2, "conv blocks: conv, activation, pooling")
        self.first_channels = spin_box(1, 64, 8, "filters in block 1; each next block doubles")
        self.kernel = spin_box(1, 9, 5, "filter size (pixels)")
        self.stride = spin_box(1, 4, 1)
        self.padding = spin_box(-1, 8, -1, "-1: kernel // 2 (keeps the map size)")
        self.padding.setSpecialValueText("auto")
        self.activation = QComboBox()
        self.activation.addItems(sorted(ACTIVATIONS))
        self.activation.setCurrentText("relu")
        self.pool = QComboBox()
        self.pool.addItems(sorted(POOLS))
        self.pool.setCurrentText("max")
        self.input_side = spin_box(
            0,
            512,
            0,
            "auto: 28 for MNIST, from the images (32-64) for the small CNN, 128 to fine-tune",
        )
        self.input_side.setSpecialValueText("auto")
        self.gray = QCheckBox("gray input (1 channel)")
        self.pretrained = QCheckBox("pretrained backbone (download once)")
        self.pretrained.setChecked(True)
        self.freeze = QCheckBox("train only the head (backbone frozen)")
        self.freeze.setChecked(True)
        self.small_rows = [self.blocks, self.first_channels, self.kernel, self.stride]
        self.small_rows += [self.padding, self.activation, self.pool, self.gray]
        for label, w in [("blocks", self.blocks), ("filters (block 1)", self.first_channels),
                         ("kernel", self.kernel), ("stride", self.stride),
                         ("padding", self.padding), ("activation", self.activation),
                         ("pooling", self.pool), ("input size", self.input_side)]:  # fmt: skip
            form.addRow(label, w)
        form.addRow(self.gray)
        form.addRow(self.pretrained)
        form.addRow(self.freeze)
        self._arch_changed()
        return page

    def _build_training(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.epochs = spin_box(0, 500, 0, "at most this many; auto: 10 for MNIST, 60 for images")
        self.epochs.setSpecialValueText("auto")
        self.batch = spin_box(0, 1024, 0, "auto: 32 for MNIST, 16 for images")
        self.batch.setSpecialValueText("auto")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(4)
        self.lr.setRange(0.0, 1.0)
        self.lr.setSingleStep(0.001)
        self.lr.setValue(0.0)
        self.lr.setSpecialValueText("auto")
        self.lr.setToolTip("peak of the one-cycle schedule; auto: 0.005 for MNIST, 0.003")
        self.patience = spin_box(
            -1,
            500,
            -1,
            "stop after this many epochs without a better validation; 0: never; "
            "auto: 15 for images (8 to fine-tune), never for MNIST",
        )
        self.patience.setSpecialValueText("auto")
        self.snapshot_every = spin_box(1, 1000, 5, "steps between filter snapshots")
        self.seed = spin_box(0, 2**31 - 1, 0)
        self.augment = QComboBox()
        for text, value in AUGMENT:
            self.augment.addItem(text, value)
        self.augment.setToolTip(
            "shifts, turns, scaling and colour; auto: on for images, off for MNIST. Mirroring "
            "only where it keeps the class (not for letters or digits)"
        )
        self.val_percent = spin_box(5, 50, 20, "share of each class held out for validation")
        self.val_percent.setSuffix(" %")
        for label, w in [("epochs", self.epochs), ("batch", self.batch), ("learning rate", self.lr),
                         ("patience", self.patience), ("augment", self.augment),
                         ("snapshot every", self.snapshot_every), ("seed", self.seed),
                         ("validation", self.val_percent)]:  # fmt: skip
            form.addRow(label, w)
        return page

    # ---- options -----------------------------------------------------------------------
    def _arch_changed(self) -> None:
        name = self.arch_box.currentData()
        small = name == "small"
        for w in self.small_rows:
            w.setEnabled(small)
        self.input_side.setEnabled(name != "auto")
        self.pretrained.setEnabled(name not in ("small", "auto"))
        self.freeze.setEnabled(name not in ("small", "auto"))

    def arch_options(self) -> ArchOptions:
        side = self.input_side.value()
        name = self.arch_box.currentData()
        if name == "auto":
            return ArchOptions(arch="auto")
        small = name == "small"
        size = (side, side) if side else (None if small else (128, 128))
        return ArchOptions(
            arch=name,
            channels=[self.first_channels.value() * 2**i for i in range(self.blocks.value())],
            kernel_size=self.kernel.value(),
            stride=self.stride.value(),
            padding=None if self.padding.value() < 0 else self.padding.value(),
            activation=self.activation.currentText(),
            pool=self.pool.currentText(),
            input_size=size,
            in_channels=(1 if self.gray.isChecked() else 3) if small else None,
            pretrained=self.pretrained.isChecked(),
            freeze=self.freeze.isChecked(),
        )

    def train_settings(self) -> Overrides:
        """What the form sets; 'auto' (None) leaves it to the recipe."""
        augment, flips = self.augment.currentData()
        return Overrides(
            epochs=self.epochs.value() or None,
            batch_size=self.batch.value() or None,
            lr=self.lr.value() or None,
            augment=augment,
            flips=flips,
            patience=None if self.patience.value() < 0 else self.patience.value(),
            seed=self.seed.value(),
            snapshot_every=self.snapshot_every.value(),
            device=str(self.window.state.model.device),
        )
