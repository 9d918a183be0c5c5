"""Saliency for one box of a detector (cnn_viewer.models.zoo.detection): Grad-CAM of
that box's score on a chosen layer, or EigenCAM (the activation's first principal
component, no gradient) kept inside the box and renormalised there, as
pytorch-grad-cam's detection tutorial does. Any thread; Qt-free.

Boxes are numbered as ``predict --json`` and the window list them: by score, highest
first (ties in the model's own order), counting only those scoring ``min_score`` or
more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnn_viewer.core.explain.saliency import cam_from, finish_cam
from cnn_viewer.core.hooks.recorder import first_tensor, resolve
from cnn_viewer.models.hooks import hooks
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.task_outputs import detection_list

BOX_METHODS = ("gradcam", "eigencam")


@dataclass
class BoxMap:
    """One box's map: ``heat`` float32 H x W in [0, 1] at the input's size."""

    heat: np.ndarray
    box: dict  # the detection (index, label, score, box in the input's pixels)
    number: int  # its place in the list (0 = best)
    layer: str
    method: str


def _order(packed: torch.Tensor) -> torch.Tensor:
    return torch.argsort(packed[:, 4].detach(), descending=True, stable=True)


def box_saliency(
    model: LoadedModel,
    x: torch.Tensor,
    number: int,
    method: str = "gradcam",
    layer: str | None = None,
    min_score: float = 0.5,
) -> BoxMap:
    """The map for box ``number`` of the detections in ``x`` (1 x 3 x H x W, as
    ``task_outputs.full_size_input`` or the engine make it). ``layer``: any module name
    (default: the model's saliency layer). ValueError for a method, layer or box
    number that is not there (the message says what is)."""
    if model.task != "detect":
        raise ValueError(f"{model.name} is no detector: box saliency needs one")
    if method not in BOX_METHODS:
        raise ValueError(f"box saliency method {method!r}: choose one of {BOX_METHODS}")
    layer = layer or model.cam_layer
    assert layer is not None  # every detector has one (detection_layers)
    target = resolve(model.module, [layer])[layer]
    kept: dict[str, torch.Tensor] = {}

    def cut(_m, _args, out):
        t = first_tensor(out)
        if t is None or "a" in kept:
            return None
        leaf = t.detach().requires_grad_(method == "gradcam")
        kept["a"] = leaf
        return leaf if isinstance(out, torch.Tensor) else (leaf, *out[1:])

    grad_mode = torch.enable_grad() if method == "gradcam" else torch.no_grad()
    with hooks(forward=[(target, cut)]), grad_mode:
        packed = model.module(x)
    if "a" not in kept:
        raise ValueError(f"layer {layer!r} gives no tensor map; choose another (`layers`)")
    found = detection_list(packed, model.labels, min_score)
    if not 0 <= number < len(found):
        raise ValueError(
            f"box {number}: there are {len(found)} boxes scoring {min_score} or more "
            f"(numbered 0..{len(found) - 1}); lower --min-score for more"
        )
    activation = kept["a"]
    if activation.ndim != 4:
        raise ValueError(f"layer {layer!r} is no C x H x W map; choose another (`layers`)")
    size = (x.shape[2], x.shape[3])
    if method == "gradcam":
        row = int(_order(packed)[number])
        (grad,) = torch.autograd.grad(packed[row, 4], activation)
        heat = finish_cam(cam_from(activation.detach(), grad).cpu(), size)
    else:
        heat = _in_box(finish_cam(eigen_cam(activation.detach()[0]).cpu(), size), found[number])
    return BoxMap(heat, found[number], number, layer, method)


def eigen_cam(activation: torch.Tensor) -> torch.Tensor:
    """C x H x W -> H x W: the activations projected on their first principal
    component (over the H*W positions), signed so that most of it is positive, then
    clipped at zero."""
    c, h, w = activation.shape
    flat = activation.reshape(c, h * w).T.float()  # positions x channels
    flat = flat - flat.mean(0, keepdim=True)
    _u, _s, vh = torch.linalg.svd(flat, full_matrices=False)
    proj = flat @ vh[0]
    if proj.sum() < 0:
        proj = -proj
    return proj.clamp(min=0).reshape(h, w)


def _in_box(heat: np.ndarray, box: dict) -> np.ndarray:
    """``heat`` kept inside ``box`` only and scaled to [0, 1] there."""
    x0, y0, x1, y1 = (int(round(v)) for v in box["box"])
    h, w = heat.shape
    x0, x1 = max(0, min(w, x0)), max(0, min(w, max(x1, x0 + 1)))
    y0, y1 = max(0, min(h, y0)), max(0, min(h, max(y1, y0 + 1)))
    out = np.zeros_like(heat)
    inside = heat[y0:y1, x0:x1]
    lo, hi = (float(inside.min()), float(inside.max())) if inside.size else (0.0, 0.0)
    if hi > lo:
        out[y0:y1, x0:x1] = (inside - lo) / (hi - lo)
    return out
