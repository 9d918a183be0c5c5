"""Activation maximisation: optimise an input image so a class, a channel or a unit fires.

Regularisers (Olah et al. 2017, Yosinski et al. 2015): random jitter, small rotations and
scaling each step; a Fourier (decorrelated) parametrisation, or plain pixels with a
periodic blur; weight decay and total variation. Works for any LoadedModel: the image
is optimised in [0, 1] and normalised with the model's own mean and std.
Called from a worker thread; ``on_progress`` is called in that thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from cnn_viewer.core.hooks.taps import Taps
from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.zoo.loaded import LoadedModel

KINDS = ("class", "channel", "unit")
PARAMS = ("fourier", "pixel")
# Square root of ImageNet's colour covariance (from Lucid): a step in the optimised space
# moves colours the way natural images vary, which keeps the result from going psychedelic.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOR_SQRT = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()


@dataclass
class Target:
    """What to maximise. ``kind``: 'class' (its logit), 'channel' (the mean of one channel's
    map in ``layer``) or 'unit' (one channel at one position, the map's centre when
    ``position`` is None; in a linear layer a unit and a channel are the same)."""

    kind: str
    index: int
    layer: str | None = None
    position: tuple[int, int] | None = None

    def describe(self, labels: list[str] | None = None) -> str:
        if self.kind == "class":
            name = labels[self.index] if labels and self.index < len(labels) else self.index
            return f"class {name}"
        where = "" if self.kind == "channel" else f" at {self.position or 'centre'}"
        return f"{self.layer} {self.kind} {self.index}{where}"


@dataclass
class Settings:
    steps: int = 128
    lr: float = 0.05
    seed: int = 0
    param: str = "fourier"  # 'fourier' (decorrelated) or 'pixel'
    jitter: float = 0.06  # random shift, as a fraction of the image side
    rotate: float = 8.0  # random rotation, degrees either way
    scale: float = 0.08  # random zoom, 1 +- this
    decay: float = 0.0  # L2 penalty on the normalised input
    tv: float = 0.0  # total-variation penalty (on the [0, 1] image)
    blur_every: int = 4  # pixel parametrisation: blur the image every this many steps
    blur_sigma: float = 0.5
    preview_every: int = 8  # call on_progress with an image every this many steps

    def check(self) -> None:
        if self.param not in PARAMS:
            raise ValueError(f"param {self.param!r}: choose one of {PARAMS}")
        if self.steps < 1:
            raise ValueError(f"steps {self.steps}: give at least 1")


@dataclass
class Progress:
    step: int
    total: int
    value: float  # the objective at this step
    image: np.ndarray | None = None  # uint8 preview (HxW gray or HxWx3) or None


@dataclass
class VisResult:
    image: np.ndarray  # uint8, the network's input size, HxW (1 channel) or HxWx3
    value: float  # objective on the final image, without jitter
    start_value: float  # objective on the starting image
    probs: np.ndarray  # class probabilities for the final image
    steps: int
    seconds: float
    history: list[float] = field(default_factory=list)


def default_settings(model: LoadedModel, target: Target) -> Settings:
    """Settings that work for the model's kind: the small digit CNN sees 28x28 strokes,
    so pixels with blur and a little TV; big RGB models get the Fourier parametrisation."""
    if model.channels == 1 and max(model.input_size) <= 64:
        tv = 0.05 if target.kind == "class" else 0.01  # a class score is larger than a map's
        return Settings(param="pixel", lr=0.1, jitter=0.05, rotate=6, scale=0.06, tv=tv)
    return Settings(param="fourier", lr=0.05)


# ---- parametrisations: parameters -> image in [0, 1], 1 x C x H x W -------------------
class _Image:
    def __init__(self, channels: int, size: tuple[int, int], param: str, gen: torch.Generator):
        self.channels, self.size, self.param = channels, size, param
        h, w = size
        if param == "pixel":
            self.p = (torch.randn(1, channels, h, w, generator=gen) * 0.01 - 2.0).requires_grad_()
        else:
            fy = torch.fft.fftfreq(h)[:, None]
            fx = torch.fft.rfftfreq(w)[None, :]
            freq = torch.sqrt(fx * fx + fy * fy)
            self.spectrum_scale = 1.0 / torch.clamp(freq, min=1.0 / max(h, w))
            self.spectrum_scale *= math.sqrt(h * w) / self.spectrum_scale.max() * 4
            shape = (1, channels, h, w // 2 + 1, 2)
            self.p = (torch.randn(shape, generator=gen) * 0.01).requires_grad_()

    def image(self) -> torch.Tensor:
        if self.param == "pixel":
            return torch.sigmoid(self.p)
        h, w = self.size
        spec = torch.view_as_complex(self.p) * self.spectrum_scale
        x = torch.fft.irfft2(spec, s=(h, w), norm="ortho")
        if self.channels == 3:
            x = torch.einsum("ij,bjhw->bihw", _COLOR_SQRT.to(x), x)
        return torch.sigmoid(x - (2.0 if self.channels == 1 else 0.0))

    @torch.no_grad()
    def blur(self, sigma: float) -> None:
        if self.param != "pixel":
            return
        radius = max(1, int(round(2 * sigma)))
        k = torch.exp(-(torch.arange(-radius, radius + 1.0) ** 2) / (2 * sigma * sigma))
        k = (k / k.sum()).to(self.p)
        c = self.channels
        p = F.pad(self.p, (radius,) * 4, mode="replicate")
        p = F.conv2d(p, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
        p = F.conv2d(p, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
        self.p.copy_(p)


def _random_affine(img: torch.Tensor, s: Settings, gen: torch.Generator) -> torch.Tensor:
    """One random small rotation, zoom and shift (reflecting at the border)."""
    r = torch.rand(4, generator=gen) * 2 - 1
    angle = math.radians(float(r[0]) * s.rotate)
    zoom = 1.0 + float(r[1]) * s.scale
    tx, ty = float(r[2]) * s.jitter * 2, float(r[3]) * s.jitter * 2  # grid units span 2
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    theta = torch.tensor([[[cos, -sin, tx], [sin, cos, ty]]], dtype=img.dtype, device=img.device)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    return F.grid_sample(img, grid, padding_mode="reflection", align_corners=False)


def input_normaliser(model: LoadedModel, device: torch.device):
    """img (N x C x H x W, 0..1) -> what the network takes: (img - mean) / std of its
    preprocessing, on ``device``."""
    c = model.channels
    mean = torch.tensor(model.preprocess.mean, dtype=torch.float32, device=device)
    std = torch.tensor(model.preprocess.std, dtype=torch.float32, device=device)
    mean, std = mean.expand(c).view(1, c, 1, 1), std.expand(c).view(1, c, 1, 1)
    return lambda img: (img - mean) / std


def objective_fn(model: LoadedModel, target: Target) -> Callable[[torch.Tensor], torch.Tensor]:
    """x (normalised, N x C x H x W) -> the objective per image (N)."""
    if target.kind not in KINDS:
        raise ValueError(f"target kind {target.kind!r}: choose one of {KINDS}")
    if target.kind == "class":
        n = len(model.labels)
        if not 0 <= target.index < n:
            raise ValueError(f"class {target.index}: {model.name} has classes 0..{n - 1}")
        return lambda x: model.module(x)[:, target.index]
    layer = target.layer
    if not layer:
        raise ValueError(f"a {target.kind} target needs a layer name")
    taps = Taps(model.module, [layer])

    def value(x: torch.Tensor) -> torch.Tensor:
        act = taps.run(x)[layer]
        if not 0 <= target.index < act.shape[1]:
            raise ValueError(
                f"channel {target.index}: layer {target.layer} has channels 0..{act.shape[1] - 1}"
            )
        a = act[:, target.index]
        if a.ndim == 1:  # a linear layer: the unit is the channel
            return a
        if target.kind == "channel":
            return a.flatten(1).mean(1)
        h, w = a.shape[-2:]
        y, xx = target.position or (h // 2, w // 2)
        if not (0 <= y < h and 0 <= xx < w):
            raise ValueError(f"position {(y, xx)} is outside {target.layer}'s {h}x{w} map")
        return a[:, y, xx]

    return value


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """1 x C x H x W in [0, 1] -> HxW or HxWx3 uint8."""
    a = (img[0].detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return a[0] if a.shape[0] == 1 else np.ascontiguousarray(a.transpose(1, 2, 0))


def evaluate(model: LoadedModel, target: Target, image: np.ndarray) -> tuple[float, np.ndarray]:
    """The objective and the class probabilities for a uint8 network-size image."""
    fn = objective_fn(model, target)
    with torch.no_grad():
        x = model.preprocess.to_tensor(image).to(model.device)
        value = float(fn(x)[0])
        probs = torch.softmax(model.module(x).float(), dim=1)[0].cpu().numpy()
    return value, probs


def maximize(
    model: LoadedModel,
    target: Target,
    settings: Settings | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> VisResult:
    """Optimise an image for ``target``; raises Cancelled when ``should_stop()`` says so."""
    s = settings or default_settings(model, target)
    s.check()
    t0 = time.perf_counter()
    device = model.device
    gen = torch.Generator().manual_seed(s.seed)
    param = _Image(model.channels, model.input_size, s.param, gen)
    param.p = param.p.detach().to(device).requires_grad_()
    if s.param == "fourier":
        param.spectrum_scale = param.spectrum_scale.to(device)
    fn = objective_fn(model, target)
    norm = input_normaliser(model, device)
    start_value, _ = evaluate(model, target, to_uint8(param.image()))
    opt = torch.optim.Adam([param.p], lr=s.lr)
    history = []
    with torch.enable_grad():
        for step in range(1, s.steps + 1):
            stop_if(should_stop, f"stopped at step {step} of {s.steps}")
            img = param.image()
            seen = _random_affine(img, s, gen)
            x = norm(seen)
            value = fn(x).mean()
            loss = -value
            if s.decay:
                loss = loss + s.decay * x.pow(2).mean()
            if s.tv:
                tv = (img[..., 1:, :] - img[..., :-1, :]).abs().mean()
                tv = tv + (img[..., :, 1:] - img[..., :, :-1]).abs().mean()
                loss = loss + s.tv * tv * img.shape[-1]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if s.param == "pixel" and s.blur_every and step % s.blur_every == 0:
                param.blur(s.blur_sigma)
            history.append(float(value.detach()))
            if on_progress is not None:
                show = step % s.preview_every == 0 or step == s.steps
                preview = to_uint8(param.image()) if show else None
                on_progress(Progress(step, s.steps, history[-1], preview))
    image = to_uint8(param.image())
    final, probs = evaluate(model, target, image)
    return VisResult(
        image=image,
        value=final,
        start_value=start_value,
        probs=probs,
        steps=s.steps,
        seconds=time.perf_counter() - t0,
        history=history,
    )
