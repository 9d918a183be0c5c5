"""DeepDream: gradient ascent on an image to amplify what a layer (or one channel) sees.

Works on the image as the network sees it (its input size), in [0, 1], over a few
octaves (smaller copies first, details carried up). Called from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from cnn_viewer.core.hooks.taps import Taps
from cnn_viewer.core.visualize.featurevis import Progress, input_normaliser, to_uint8
from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.zoo.loaded import LoadedModel


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _octave_sizes(size: tuple[int, int], octaves: int, scale: float) -> list[tuple[int, int]]:
    """Smallest first; no side below 8 pixels."""
    sizes = []
    for i in range(max(1, octaves)):
        h, w = round(size[0] / scale**i), round(size[1] / scale**i)
        if min(h, w) < 8:
            break
        sizes.append((h, w))
    return sizes[::-1]


def deep_dream(
    model: LoadedModel,
    image: np.ndarray,
    layer: str,
    steps: int = 20,
    strength: float = 0.02,
    octaves: int = 3,
    octave_scale: float = 1.4,
    channel: int | None = None,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The dreamed image (uint8, the network's input size, gray or RGB like the model).

    ``image``: any RGB or gray uint8 image (preprocessed like a frame: crop and resize).
    ``strength``: the size of each step (the image spans 0..1). ``channel``: amplify only
    that channel instead of the whole layer. Octaves a layer cannot run at (a linear layer
    needs the full size) are skipped. Raises Cancelled when ``should_stop()`` says so.
    """
    if steps < 1:
        raise ValueError(f"steps {steps}: give at least 1")
    net = model.preprocess.to_network_image(image)
    base = torch.from_numpy(np.ascontiguousarray(net, np.float32) / 255.0).to(model.device)
    base = base[None, None] if base.ndim == 2 else base.permute(2, 0, 1)[None]
    taps = Taps(model.module, [layer])
    norm = input_normaliser(model, model.device)
    gen = torch.Generator().manual_seed(seed)

    def objective(x: torch.Tensor) -> torch.Tensor:
        act = taps.run(norm(x))[layer]
        if channel is not None:
            if not 0 <= channel < act.shape[1]:
                raise ValueError(f"channel {channel}: {layer} has channels 0..{act.shape[1] - 1}")
            act = act[:, channel]
        return act.pow(2).mean()

    with torch.no_grad():
        objective(base)  # at full size first: the tap learns where it may stop the pass
    sizes = []
    for size in _octave_sizes(model.input_size, octaves, octave_scale):
        if size != model.input_size:
            try:
                with torch.no_grad():
                    objective(_resize(base, size))
            except (RuntimeError, ValueError):
                continue  # this layer cannot run at that size (e.g. a Linear)
        sizes.append(size)
    total = steps * len(sizes)
    done = 0
    detail = torch.zeros_like(_resize(base, sizes[0]))
    x = base
    with torch.enable_grad():
        for size in sizes:
            octave = _resize(base, size)
            x = (octave + _resize(detail, size)).clamp(0, 1)
            for _ in range(steps):
                stop_if(should_stop, f"stopped at step {done + 1} of {total}")
                jy, jx = (int(v) for v in torch.randint(-4, 5, (2,), generator=gen))
                shifted = torch.roll(x, (jy, jx), (2, 3)).requires_grad_()
                value = objective(shifted)
                (grad,) = torch.autograd.grad(value, shifted)
                grad = torch.roll(grad, (-jy, -jx), (2, 3))
                x = (x + strength * grad / (grad.abs().mean() + 1e-8)).clamp(0, 1).detach()
                done += 1
                if on_progress is not None:
                    preview = to_uint8(_resize(x, model.input_size)) if done % 4 == 0 else None
                    on_progress(Progress(done, total, float(value.detach()), preview))
            detail = x - octave
    return to_uint8(x)
