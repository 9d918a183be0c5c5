"""The window with its features: optional panels and tools that hook into the main window.

Each feature is a function ``install(window)`` that may call ``window.add_tab``,
``window.add_dock``, ``window.add_action`` and append to ``window.result_listeners``,
``render_listeners``, ``model_listeners`` and ``shutdown_listeners`` (stop and join its
threads when the window shuts down: on close, and after the event loop ends without one).

They are installed in the order of FEATURES, so tabs and menus appear in that order. The
remembered settings come after every feature that adds a dock (their layout is restored
then), and the clean exit last. A new feature is one more line here.
"""

from __future__ import annotations

from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.ui.inspect import feature as inspect_feature
from cnn_viewer.ui.session import feature as session_feature
from cnn_viewer.ui.train import feature as train_feature
from cnn_viewer.ui.visualize import feature as visualize_feature
from cnn_viewer.ui.window import clean_exit
from cnn_viewer.ui.window.main_window import MainWindow

FEATURES = (
    inspect_feature.install,  # Inspector, Answer and Saliency tabs
    train_feature.install,  # the Train dock
    visualize_feature.install,  # the Visualize dock
    session_feature.install,  # record, snapshot, drop, recent files, remembered settings
    clean_exit.install,  # gc.freeze when the application quits
)


def install_features(window: MainWindow) -> None:
    for install in FEATURES:
        install(window)


def build_window(model: LoadedModel, **options) -> MainWindow:
    """The main window for ``model`` (``options``: MainWindow's keyword arguments) with
    every feature installed. Call in the GUI thread."""
    window = MainWindow(model, **options)
    install_features(window)
    return window
