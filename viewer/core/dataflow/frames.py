"""What travels along the data path: Frame in, Result out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    """One input image. ``image``: HxWx3 RGB uint8 (or HxW gray), owned by the frame."""

    id: int
    timestamp: float  # time.perf_counter() at capture
    image: np.ndarray
    source: str


@dataclass
class LayerView:
    """One shown layer. ``mosaic``: uint8 2-D image, channels tiled (ready to show)."""

    name: str
    type: str
    shape: tuple[int, ...]  # output shape without the batch dim
    mosaic: np.ndarray
    grid: tuple[int, int]  # (rows, cols) of tiles
    tile: tuple[int, int]  # (h, w) of one tile, without the gap
    rgba: np.ndarray | None = None  # the mosaic through the colormap, H x W x 4 uint8
    # the values the colormap's two ends stand for (None: per channel, each tile its own)
    value_range: tuple[float, float] | None = None


@dataclass
class ProbeData:
    """Raw float32 numbers for the unit inspector and the answer panel (no batch dim)."""

    layer: str | None = None  # the inspected layer (FrameSettings.inspect_layer), if recorded
    output: np.ndarray | None = None  # its output: C x H x W, or N for a vector
    conv_input: np.ndarray | None = None  # input of the conv that makes it (C_in x H x W)
    head_input: np.ndarray | None = None  # input of the last linear layer (N,)
    network_input: np.ndarray | None = None  # the network's input tensor, C x H x W


@dataclass
class Result:
    """Everything the window shows for one frame; produced by the inference thread."""

    frame_id: int
    frame_time: float
    source: str
    timings_ms: dict[str, float]
    top: list[tuple[int, str, float]]  # (index, label, probability), best first
    probs: np.ndarray  # all class probabilities, float32
    logits: np.ndarray
    frame_image: np.ndarray  # the frame as captured (RGB uint8)
    network_image: np.ndarray | None  # the input as the network saw it (uint8), None if empty
    layers: list[LayerView] = field(default_factory=list)
    saliency: np.ndarray | None = None  # float32 in [0, 1] at network input size
    saliency_rgba: np.ndarray | None = None  # the heatmap overlay, H x W x 4 uint8
    empty: bool = False  # nothing to classify (e.g. a blank pad)
    error: str | None = None  # this frame could not be processed; the message says why
    probe: ProbeData | None = None  # for the inspector (FrameSettings.inspect_layer)
    done_time: float = 0.0
    engine_id: int = 0  # the Engine that made it (Engine.id); 0: none
    # A detector's boxes ({"index", "label", "score", "box": [x0, y0, x1, y1]} in the
    # frame's pixels, best first) or a segmenter's class shares ({"index", "label",
    # "fraction"}) and its class overlay (H x W x 4 uint8 at the network input size,
    # covering the whole frame); None for a classifier.
    detections: list[dict] | None = None
    segments: list[dict] | None = None
    segment_rgba: np.ndarray | None = None

    @classmethod
    def blank(cls, frame: Frame, error: str | None = None) -> Result:
        """A Result for ``frame`` with nothing computed yet (or only an error)."""
        return cls(
            frame_id=frame.id,
            frame_time=frame.timestamp,
            source=frame.source,
            timings_ms={},
            top=[],
            probs=np.zeros(0, np.float32),
            logits=np.zeros(0, np.float32),
            frame_image=frame.image,
            network_image=None,
            error=error,
        )
