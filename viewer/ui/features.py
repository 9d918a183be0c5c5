"""The window with its features: optional panels and tools that hook into the main window.

Each feature is a function ``install(window)`` that may call ``window.add_tab``,
``window.add_dock``, ``window.add_action``, observe ``window.state`` (the viewer state)
and connect to ``window.events`` (result_shown, rendered, engine_changed, and shutdown:
stop and join its threads when the window shuts down, on close and after the event loop
ends without one). It returns its object, which ``window.features`` holds by name.

They are installed in the order of FEATURES, so tabs and menus appear in that order. The
remembered settings come after every feature that adds a dock (their layout is restored
then), and the clean exit last. A new feature is one more line here and one more field.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.ui.inspect import feature as inspect_feature
from cnn_viewer.ui.inspect.feature import InspectFeature
from cnn_viewer.ui.session import feature as session_feature
from cnn_viewer.ui.session.feature import Keep
from cnn_viewer.ui.train import feature as train_feature
from cnn_viewer.ui.train.panel import TrainPanel
from cnn_viewer.ui.visualize import feature as visualize_feature
from cnn_viewer.ui.visualize.panel import VisualizePanel
from cnn_viewer.ui.walk import feature as walk_feature
from cnn_viewer.ui.walk.feature import WalkFeature
from cnn_viewer.ui.window import clean_exit
from cnn_viewer.ui.window.main_window import MainWindow


@dataclass
class Features:
    """The installed features of a window (``window.features``)."""

    inspect: InspectFeature  # Inspector, Answer and Saliency tabs
    train: TrainPanel  # the Train dock
    visualize: VisualizePanel  # the Visualize dock
    walk: WalkFeature  # the guided walk (W): the Walk tab
    session: Keep  # record, snapshot, drop, recent files, remembered settings


FEATURES = (
    ("inspect", inspect_feature.install),
    ("walk", walk_feature.install),
    ("train", train_feature.install),
    ("visualize", visualize_feature.install),
    ("session", session_feature.install),
    ("clean_exit", clean_exit.install),  # gc.freeze when the application quits
)


def install_features(window: MainWindow) -> Features:
    installed = {name: install(window) for name, install in FEATURES}
    installed.pop("clean_exit")
    window.features = Features(**installed)
    return window.features


def build_window(model: LoadedModel, **options) -> MainWindow:
    """The main window for ``model`` (``options``: MainWindow's keyword arguments) with
    every feature installed. Call in the GUI thread."""
    window = MainWindow(model, **options)
    install_features(window)
    return window
