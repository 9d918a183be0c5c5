"""Torchvision detectors and segmenters with seeded random weights whose scores spread
out, and a small scene file, for the tests of issue 18."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch


def write_scene(path, size=(200, 240)) -> np.ndarray:
    """A small real picture file: shapes on a gradient (BGR on disk), returned as RGB."""
    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    cv2.rectangle(img, (20, 30), (90, 120), (0, 0, 230), -1)
    cv2.circle(img, (170, 140), 40, (20, 220, 30), -1)
    cv2.imwrite(str(path), img)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def seeded_net(name: str, seed: int, sharpen: dict[str, float]):
    """A torchvision model with seeded random weights; the named head weights scaled up
    and biases replaced by seeded noise of that size, so that random scores spread out
    (otherwise every class scores about the same)."""
    from torchvision.models import get_model

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = get_model(name, weights=None, weights_backbone=None).eval()
    state = net.state_dict()
    gen = torch.Generator().manual_seed(seed)
    for key, factor in sharpen.items():
        if key.endswith(".bias"):
            state[key] = factor * torch.randn(state[key].shape, generator=gen)
        else:
            state[key] = state[key] * factor
    net.load_state_dict(state)
    return net


DETECTORS = {
    "ssdlite320_mobilenet_v3_large": {
        f"head.classification_head.module_list.{i}.1.{part}": factor
        for i in range(6)
        for part, factor in (("weight", 300.0), ("bias", 2.0))
    },
    "fasterrcnn_mobilenet_v3_large_320_fpn": {
        "roi_heads.box_predictor.cls_score.weight": 200.0,
        "roi_heads.box_predictor.cls_score.bias": 3.0,
        "rpn.head.cls_logits.bias": 2.0,
    },
}


# Random init leaves a segmenter's features near 1e-10: scale the class maps up to match.
SEGMENTERS = {
    "lraspp_mobilenet_v3_large": {
        "classifier.low_classifier.weight": 1e9,
        "classifier.low_classifier.bias": 0.0,
        "classifier.high_classifier.weight": 1e9,
        "classifier.high_classifier.bias": 0.0,
    },
    "deeplabv3_mobilenet_v3_large": {"classifier.4.weight": 1e9, "classifier.4.bias": 0.0},
}
