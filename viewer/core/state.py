"""What the viewer is showing, in one Qt-free object with change events.

The window and its features read the state and write it; each field has a psygnal
signal (``state.events.frozen.connect(fn)``: ``fn(new, old)``, emitted only on a real
change), and they observe those instead of each other. The inference thread never reads
the state: what it needs reaches it as messages, ``frame_settings()`` for every frame,
or a new engine (cnn_viewer.core.engine).
"""

from __future__ import annotations

from dataclasses import dataclass

from psygnal import evented

from cnn_viewer.core.engine.engine import FrameSettings
from cnn_viewer.core.options import ModelOptions
from cnn_viewer.models.zoo.loaded import LoadedModel


@evented
@dataclass
class ViewerState:
    """The viewer's settings and selection (GUI thread).

    ``source``: 'pad', 'camera[:N]' or a file/folder path. ``layers``: the chosen rows,
    None for the model's defaults. ``visible``: the rows on screen, which get mosaics
    (None: all). ``norm``/``colormap``: the feature maps' scale and colours (Engine's).
    ``inspected``: the unit the inspector shows, (layer, channel), and ``inspecting``
    whether the inspector is on screen (then the engine records that layer, eagerly).
    """

    model: LoadedModel
    model_options: ModelOptions
    source: str = "pad"
    layers: tuple[str, ...] | None = None
    visible: frozenset[str] | None = None
    frozen: bool = False
    norm: str = "layer"
    colormap: str = "inferno"
    saliency: str = "gradcam"
    top_k: int = 5
    inspected: tuple[str, int] | None = None
    inspecting: bool = False

    def frame_settings(self) -> FrameSettings:
        """The per-frame message for the inference worker."""
        layer = self.inspected[0] if self.inspected is not None and self.inspecting else None
        return FrameSettings(visible=self.visible, inspect_layer=layer)
