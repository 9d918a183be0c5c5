"""Shipped files: the digit CNN's weights and the style sheet (read with importlib.resources)."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
