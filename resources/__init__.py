"""Shipped files: the digit CNN's weights and the style sheet (RESOURCES: their folder)."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
