"""A detector's or segmenter's raw output -> what the window shows: the detections in
the frame's own pixels, or each class's pixel share with a translucent class overlay
and its legend. Inference thread; numpy + torch only."""

from __future__ import annotations

import numpy as np
import torch

from cnn_viewer.models.zoo.task_outputs import class_shares, detection_list

# Detections kept in a Result (the window's threshold control cuts higher).
KEEP_MIN_SCORE = 0.05
KEEP_MAX = 100
OVERLAY_ALPHA = 110  # of 255: the frame stays readable under the class colours


def class_colours(count: int) -> np.ndarray:
    """count x 3 uint8: a fixed, well spread colour per class (golden-angle hues),
    class 0 (background) black."""
    hues = (np.arange(count) * 0.61803398875) % 1.0
    h6 = hues * 6.0
    i = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    v, s = 0.95, 0.8
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [
            np.choose(i, [v, q, p, p, t, v]),
            np.choose(i, [t, v, v, q, p, p]),
            np.choose(i, [p, p, t, v, v, q]),
        ],
        axis=1,
    )
    rgb = (table * 255).astype(np.uint8)
    if count:
        rgb[0] = 0
    return rgb


def frame_detections(
    packed: torch.Tensor, labels: list[str], net_size: tuple[int, int], frame_shape: tuple
) -> list[dict]:
    """A detector's N x 6 output on the network input (``net_size`` H, W: the whole
    frame stretched) -> detections in the frame's pixels, best first, score >=
    KEEP_MIN_SCORE, at most KEEP_MAX."""
    fh, fw = frame_shape[:2]
    scale = (fw / net_size[1], fh / net_size[0])
    return detection_list(packed, labels, KEEP_MIN_SCORE, scale)[:KEEP_MAX]


def segment_overlay(
    scores: torch.Tensor, labels: list[str], colours: np.ndarray
) -> tuple[list[dict], np.ndarray]:
    """A segmenter's 1 x K x H x W class scores -> (pixel shares, best first, as
    ``segment_list``; H x W x 4 uint8 RGBA overlay, each pixel its class's colour,
    background transparent)."""
    winners = scores[0].max(0).indices  # faster than argmax(0) on the CPU
    classes = winners.cpu().numpy()
    # one 32-bit RGBA word per class, looked up once per pixel (cf. colormaps.colorize)
    table = np.zeros((len(colours), 4), np.uint8)
    table[:, :3] = colours
    table[1:, 3] = OVERLAY_ALPHA
    words = table.view(np.uint32).reshape(-1)
    rgba = np.take(words, classes).view(np.uint8).reshape(*classes.shape, 4)
    return class_shares(winners, labels), rgba
