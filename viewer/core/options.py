"""Options shared by the window and the command-line tools (plain data, Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelOptions:
    """Which network to load: a registry name, weights choice, or one of our checkpoints."""

    model: str = "digits"
    weights: str = "default"  # 'default' (trained/pretrained), 'none' (random) or an enum name
    checkpoint: str | None = None

    def load(self):
        from models import load_model

        return load_model(self.model, weights=self.weights, checkpoint=self.checkpoint)


@dataclass
class ViewerOptions:
    model: ModelOptions
    source: str = "pad"
    top_k: int = 5
    saliency: str = "gradcam"
    screenshot: str | None = None  # save the window as PNG after `frames` results, then exit
    frames: int = 1
    threads: int | None = None
