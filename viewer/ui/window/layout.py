"""The window's widgets and their places: the toolbar (source, model, saliency and the
actions), the input column, the layers, the Prediction tabs and the status bar.
Built once, in the GUI thread, from MainWindow.__init__."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from cnn_viewer.ui.inspect.box_map import BoxMapper
from cnn_viewer.ui.widgets.form_controls import panel_title
from cnn_viewer.ui.widgets.input_panel import NetworkInputView
from cnn_viewer.ui.widgets.layer_panel import LayersPanel
from cnn_viewer.ui.widgets.objects_overlay import ObjectControls, ObjectOverlay
from cnn_viewer.ui.widgets.prediction_panel import PredictionPanel
from cnn_viewer.ui.widgets.source_panel import SourcePanel
from cnn_viewer.ui.window.actions import build_actions, model_names

SALIENCY_CHOICES = [("Grad-CAM", "gradcam"), ("None", "none")]


class WindowLayout:
    """MainWindow's layout, as a mixin: ``_build`` makes the widgets the other parts use
    (``source_box``, ``model_box``, ``saliency_box``, ``pad``, the panels, ``status_text``,
    ``progress``) and connects them to the window's slots."""

    def fit_toolbars(self) -> None:
        """One toolbar row when both fit the window's width, else the actions go below."""
        need = self.choices_bar.sizeHint().width() + self.main_bar.sizeHint().width() + 16
        broken = self.toolBarBreak(self.main_bar)
        if self.width() < need and not broken:
            self.insertToolBarBreak(self.main_bar)
        elif self.width() >= need and broken:
            self.removeToolBarBreak(self.main_bar)

    def _build(self) -> None:
        # Two toolbars: the choices, then the actions. A window too narrow for both in one
        # row puts the actions on a second row (fit_toolbars) instead of hiding them.
        bar = QToolBar("Choices")
        bar.setObjectName("choicesToolbar")
        self.choices_bar = bar
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Source "))
        self.source_box = QComboBox()
        self.source_box.addItem("Drawing pad", "pad")
        for i in range(2):
            self.source_box.addItem(f"Camera {i}", f"camera:{i}")
        self.source_box.addItem("Open file or folder…", "open")
        self.source_box.activated.connect(self._source_chosen)
        bar.addWidget(self.source_box)
        bar.addWidget(QLabel("  Model "))
        self.model_box = QComboBox()
        self.model_box.setMaxVisibleItems(20)
        for name in model_names():
            self.model_box.addItem(name, name)
        self._show_model_name()
        self.model_box.activated.connect(self._model_chosen)
        bar.addWidget(self.model_box)
        live = QLabel("  Live map ")
        self.saliency_box = QComboBox()
        tip = (
            "Live map: the heatmap drawn over the network input (left column) on every "
            "frame. The Saliency tab is a separate tool: it runs a chosen method once, on a "
            "frozen frame."
        )
        for w in (live, self.saliency_box):
            w.setToolTip(tip)
        bar.addWidget(live)
        for text, key in SALIENCY_CHOICES:
            self.saliency_box.addItem(text, key)
        self.saliency_box.setCurrentIndex(
            [k for _, k in SALIENCY_CHOICES].index(self.state.saliency)
        )
        self.saliency_box.currentIndexChanged.connect(
            lambda: setattr(self.state, "saliency", self.saliency_box.currentData())
        )
        bar.addWidget(self.saliency_box)
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        self.main_bar = bar
        bar.setMovable(False)
        self.addToolBar(bar)
        self.actions_by_name = build_actions(self, bar)

        self.source_panel = SourcePanel()
        self.pad = self.source_panel.pad
        self.pad.changed.connect(self.submit_pad)
        self.source_panel.clear_button.clicked.connect(self.clear_pad)
        self.source_panel.example_button.clicked.connect(self.draw_example)
        self.source_panel.prev_clicked.connect(lambda: self.step_source(-1))
        self.source_panel.next_clicked.connect(lambda: self.step_source(1))
        self.source_panel.pause_clicked.connect(self.toggle_pause)
        self.input_view = NetworkInputView()
        self.object_controls = ObjectControls()
        self.object_overlay = ObjectOverlay(self.source_panel.frame_view.box)
        self.object_controls.min_score_changed.connect(self._min_score_changed)
        self.box_mapper = BoxMapper(self)
        self.box_mapper.done.connect(self._box_map_done)
        self.object_controls.box_map_changed.connect(self._box_map_changed)
        self.source_panel.frame_view.box.scene().sigMouseClicked.connect(self._frame_clicked)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(panel_title("Input"))
        lv.addWidget(self.source_panel)
        lv.addWidget(self.object_controls)
        lv.addWidget(self.input_view)
        lv.addStretch(1)
        # Scrolls rather than forcing the window's height, so a bottom dock gets room.
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        left_scroll.setMinimumWidth(left.sizeHint().width() + 16)

        self.layers_panel = LayersPanel()
        self.layers_panel.set_labels(self.state.model.labels)
        self.layers_panel.set_layers(self.engine.layers)
        self.layers_panel.unit_clicked.connect(self._unit_clicked)
        self.layers_panel.visible_changed.connect(self._visible_changed)
        self.layers_title = panel_title("")
        # the title wraps in a narrow window; it never makes the window wider
        self.layers_title.setWordWrap(True)
        self.layers_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.addWidget(self.layers_title)
        mv.addWidget(self.layers_panel, 1)
        mv.addWidget(self.layers_panel.footer)  # the output layer, always in sight

        self.prediction = PredictionPanel()
        self.prediction.set_message(
            "draw a digit" if self.engine.drawing else "waiting for a frame"
        )
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("dim")
        self.timing_label.setWordWrap(True)
        self.notes_label = QLabel("")
        self.notes_label.setObjectName("warn")
        self.notes_label.setWordWrap(True)
        # how the image becomes the input, where the names come from (the cli's stderr line)
        self.input_label = QLabel("")
        self.input_label.setObjectName("dim")
        self.input_label.setWordWrap(True)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.prediction)
        rv.addWidget(self.timing_label)
        rv.addWidget(self.input_label)
        rv.addWidget(self.notes_label)
        rv.addStretch(1)

        # Scrolls when the column is short (a dock open, a small window) instead of
        # squeezing the timing line over the class rows.
        self.prediction_page = QScrollArea()
        self.prediction_page.setWidget(right)
        self.prediction_page.setWidgetResizable(True)
        self.prediction_page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.prediction_page.setFrameShape(QScrollArea.Shape.NoFrame)
        self.side_tabs = QTabWidget()
        self.side_tabs.setMinimumWidth(250)  # the class rows' names, bars and values
        # every tab stays in sight in a narrow column (shortened, not scrolled away)
        self.side_tabs.setUsesScrollButtons(False)
        self.side_tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.side_tabs.addTab(self.prediction_page, "Prediction")
        self.splitter = split = QSplitter(Qt.Orientation.Horizontal)
        for w in (left_scroll, middle, self.side_tabs):
            split.addWidget(w)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 580, 400])  # the side column: its five tabs named in full
        self.setCentralWidget(split)
        self.status_text = QLabel()
        self.statusBar().addWidget(self.status_text, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_load = QPushButton("Cancel")
        self.cancel_load.clicked.connect(self.loader.cancel)
        self.cancel_load.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_load)
        self._model_changed_ui()
