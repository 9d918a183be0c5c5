"""The saliency suite (Qt-free): which input pixels matter for one class, by eight methods.

Grad-CAM uses our fast path (graph cut at the layer, see saliency.py; tested equal to
captum's LayerGradCam). The rest are captum's implementations. Every method runs on a
private copy of the network (``cnn_viewer.models.private_copy``): captum adds hooks
while it works, which must never touch the module the live engine is running, and the
copy has in-place ops turned off (an in-place ReLU would rewrite the tensors backward
hooks hold).

Progress and cancel: a pre-hook on the copy counts forward passes against the number a
method makes and raises ``Cancelled`` when asked to stop.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from cnn_viewer.core.explain.saliency import fast_gradcam
from cnn_viewer.core.hooks.recorder import ActivationRecorder, resolve
from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.hooks import hooks


@dataclass(frozen=True)
class Method:
    key: str
    title: str
    uses_layer: bool  # needs a layer (the CAM methods)
    signed: bool  # the raw map has both signs (shown: the positive part)


METHODS = {
    m.key: m
    for m in (
        Method("gradcam", "Grad-CAM", True, False),
        Method("gradient", "Input gradient", False, False),
        Method("smoothgrad", "SmoothGrad", False, False),
        Method("guided_backprop", "Guided backprop", False, False),
        Method("deconvnet", "Deconvnet", False, False),
        Method("guided_gradcam", "Guided Grad-CAM", True, False),
        Method("integrated_gradients", "Integrated gradients", False, True),
        Method("occlusion", "Occlusion", False, True),
    )
}
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # noise std as a fraction of the input's value range
IG_STEPS = 32
BATCH = 8  # images per forward pass for the many-pass methods


@dataclass
class Attribution:
    method: str
    target: int
    layer: str | None
    raw: np.ndarray  # H x W float32 at the input's resolution (signed where Method.signed)
    seconds: float
    passes: int  # forward passes made (each may carry a batch)

    def display(self) -> np.ndarray:
        """The map as float32 in [0, 1]: its positive part over its maximum."""
        pos = np.maximum(self.raw, 0)
        peak = float(pos.max())
        return (pos / peak).astype(np.float32) if peak > 0 else np.zeros_like(pos)


def expected_passes(method: str, x: torch.Tensor) -> int:
    if method == "smoothgrad":
        return math.ceil(SMOOTHGRAD_SAMPLES / BATCH)
    if method == "integrated_gradients":
        return math.ceil(IG_STEPS / BATCH)
    if method == "occlusion":
        h, w = x.shape[2:]
        (wh, ww), (sh, sw) = occlusion_window((h, w))
        windows = ((h - wh) // sh + 1) * ((w - ww) // sw + 1)
        return 1 + math.ceil(windows / BATCH)
    return 2 if method == "guided_gradcam" else 1


def occlusion_window(size_hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(window, stride): about a seventh of the image, moved by half a window."""
    side = max(2, round(min(size_hw) / 7))
    return (side, side), (max(1, side // 2),) * 2


def resize_map(small: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear (half-pixel centres) resize of an h x w float map to ``size_hw``."""
    small = np.ascontiguousarray(small, np.float32)
    h, w = size_hw
    if small.shape == (h, w):
        return small
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def attribute(
    module: nn.Module,
    x: torch.Tensor,
    method: str,
    target: int,
    layer: str | None = None,
    baseline: torch.Tensor | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Attribution:
    """One map for class ``target`` on input ``x`` (1 x C x H x W) of ``module`` (a copy
    made by ``private_copy``: hooks are added to it while this runs).

    ``layer``: the CAM methods' layer (module name). ``baseline``: the 'no signal' input
    for integrated gradients and occlusion (default zeros). ``progress(fraction)`` is
    called after each forward pass; setting ``cancel`` raises Cancelled at the next one.
    """
    if method not in METHODS:
        raise ValueError(f"saliency method {method!r}: choose one of {', '.join(METHODS)}")
    if METHODS[method].uses_layer and not layer:
        raise ValueError(f"{method} needs a layer (a conv block's name)")
    layer_module = resolve(module, [layer])[layer] if layer else None
    baseline = torch.zeros_like(x) if baseline is None else baseline
    total = expected_passes(method, x)
    passes = 0

    def count(_m, _args):
        nonlocal passes
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{method} cancelled")
        passes += 1
        if progress is not None:
            progress(min(1.0, (passes - 1) / total))

    import captum.attr  # noqa: F401 - imported before the clock starts (about 2 s once)

    t0 = time.perf_counter()
    with hooks(forward_pre=[(module, count)]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # captum notes that it sets requires_grad
        raw = _run(module, x.detach().clone(), method, target, layer, layer_module, baseline)
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0)
    return Attribution(method, target, layer, raw, seconds, passes)


def _run(module, x, method, target, layer, layer_module, baseline) -> np.ndarray:
    from captum.attr import (
        Deconvolution,
        GuidedBackprop,
        GuidedGradCam,
        IntegratedGradients,
        NoiseTunnel,
        Occlusion,
        Saliency,
    )

    size = tuple(x.shape[2:])
    if method == "gradcam":
        rec = ActivationRecorder(module, [], layer)
        with rec, torch.enable_grad():
            logits = module(x)
        if rec.cam_activation is None:
            raise ValueError(f"layer {layer!r} gives no map (not reached, or not a tensor)")
        cam = fast_gradcam(logits, rec.cam_activation, target)
        return resize_map(cam.detach().cpu().numpy(), size)
    if method == "gradient":
        a = Saliency(module).attribute(x, target=target, abs=True)
        return _max_abs(a)
    if method == "smoothgrad":
        stdev = SMOOTHGRAD_NOISE * float(x.max() - x.min())
        a = NoiseTunnel(Saliency(module)).attribute(
            x, nt_type="smoothgrad", nt_samples=SMOOTHGRAD_SAMPLES,
            nt_samples_batch_size=BATCH, stdevs=stdev, target=target, abs=True,
        )  # fmt: skip
        return _max_abs(a)
    if method == "guided_backprop":
        return _max_abs(GuidedBackprop(module).attribute(x, target=target))
    if method == "deconvnet":
        return _max_abs(Deconvolution(module).attribute(x, target=target))
    if method == "guided_gradcam":
        a = GuidedGradCam(module, layer_module).attribute(
            x, target=target, interpolate_mode="bilinear"
        )
        return _max_abs(a)
    if method == "integrated_gradients":
        a = IntegratedGradients(module).attribute(
            x, baselines=baseline, target=target, n_steps=IG_STEPS, internal_batch_size=BATCH
        )
        return a.detach()[0].sum(0).cpu().numpy().astype(np.float32)
    if method == "occlusion":
        window, stride = occlusion_window(size)
        c = x.shape[1]
        a = Occlusion(module).attribute(
            x, sliding_window_shapes=(c, *window), strides=(c, *stride), baselines=baseline,
            target=target, perturbations_per_eval=BATCH,
        )  # fmt: skip
        return a.detach()[0].mean(0).cpu().numpy().astype(np.float32)
    raise AssertionError(method)


def _max_abs(a: torch.Tensor) -> np.ndarray:
    """1 x C x H x W attribution -> H x W: the largest magnitude over channels."""
    return a.detach()[0].abs().amax(0).cpu().numpy().astype(np.float32)


def baseline_for(model) -> torch.Tensor:
    """The 'no signal' input of a LoadedModel: a black image through its preprocessing
    (for the digit CNN: an empty pad)."""
    h, w = model.input_size
    shape = (h, w) if model.channels == 1 else (h, w, 3)
    return model.preprocess.to_tensor(np.zeros(shape, np.uint8))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (ties get their mean rank)."""

    def ranks(v: np.ndarray) -> np.ndarray:
        v = v.ravel()
        order = np.argsort(v, kind="stable")
        r = np.empty(v.size, np.float64)
        r[order] = np.arange(v.size)
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=r)
        return (sums / counts)[inverse]

    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = math.sqrt(float((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0
