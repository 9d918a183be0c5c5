"""Optional panels and tools that hook into the main window.

Each feature module has ``install(window)``, which may call ``window.add_tab``,
``window.add_dock``, ``window.add_action`` and append to ``window.result_listeners`` /
``window.model_listeners``.
"""

from __future__ import annotations

import importlib

# Installed in this order (tabs and menu entries appear in it).
FEATURES: list[str] = []


def install_features(window, names: list[str] | None = None) -> None:
    for name in FEATURES if names is None else names:
        module = importlib.import_module(f"viewer.ui.{name}")
        module.install(window)
