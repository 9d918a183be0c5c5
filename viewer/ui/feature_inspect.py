"""Inspect and explain: the Inspector, Answer and Saliency tabs and their keys
(viewer/ui/inspect_feature.py)."""

from __future__ import annotations

from viewer.ui.inspect_feature import install  # noqa: F401 - the feature's entry point

ORDER = 10
