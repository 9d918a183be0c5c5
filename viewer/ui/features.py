"""Optional panels and tools that hook into the main window.

A feature is a module ``viewer/ui/feature_<name>.py`` with ``ORDER`` (an int: install
order, so tabs and menus appear in it) and ``install(window)``, which may call
``window.add_tab``, ``window.add_dock``, ``window.add_action`` and append to
``window.result_listeners``, ``render_listeners``, ``model_listeners`` and
``shutdown_listeners`` (stop and join its threads when the window shuts down: on close,
and after the event loop ends without one). Modules are found by name, so adding a
feature touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil

import viewer.ui


def feature_modules() -> list:
    names = [m.name for m in pkgutil.iter_modules(viewer.ui.__path__)]
    modules = [importlib.import_module(f"viewer.ui.{n}") for n in names if n.startswith("feature_")]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__))


def install_features(window) -> None:
    for module in feature_modules():
        module.install(window)
