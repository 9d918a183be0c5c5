"""The unit inspector's numbers (Qt-free): what the engine records for the inspected layer,
a conv filter's weights, the arithmetic at one position, statistics, dead channels."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_viewer.core.dataflow.frames import ProbeData
from cnn_viewer.core.explain.network_map import ConvChain, NetworkMap, window_of
from cnn_viewer.core.hooks.recorder import resolve
from cnn_viewer.models.hooks import Hook, hooks

_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAPS_LOCK = threading.Lock()


def network_map(model, module: nn.Module | None = None) -> NetworkMap:
    """The NetworkMap of a LoadedModel (or of ``module``, a copy of its network), built on
    first use (one forward pass) and cached."""
    module = model.module if module is None else module
    with _MAPS_LOCK:
        found = _MAPS.get(module)
        if found is None:
            device = next((p.device for p in module.parameters()), torch.device("cpu"))
            found = NetworkMap(module, (model.channels, *model.input_size), device)
            _MAPS[module] = found
        return found


class UnitProbe:
    """Hooks that copy, during the engine's forward pass: the inspected layer's output,
    the input of the conv that makes it, and the input of the last linear layer.

    ``arm(layer)`` before each pass (inference thread); use as a context manager like
    ActivationRecorder (enter after it, so Grad-CAM's cut is already in place); ``take``
    returns the copies as numpy. Models that cannot be traced get no probe data.
    """

    def __init__(self, model, module: nn.Module | None = None) -> None:
        self.model = model
        self.module = model.module if module is None else module  # the network it hooks
        self.layer: str | None = None
        self.map: NetworkMap | None = None
        self.failed = False
        self._hooks = ExitStack()  # holds the hooks from enter to exit
        self._store: dict[str, torch.Tensor] = {}

    def arm(self, layer: str | None) -> UnitProbe:
        if self.map is None and not self.failed:
            try:
                self.map = network_map(self.model, self.module)
            except Exception:  # noqa: BLE001 - scripted or unusual models: no inspector data
                self.failed = True
        self.layer = layer
        return self

    def _grab(self, key: str, use_input: bool):
        def hook(_m, args, out=None):
            t = args[0] if use_input else out
            if isinstance(t, (tuple, list)):
                t = t[0]
            if isinstance(t, torch.Tensor):
                self._store[key] = t.detach()[0].float().clone()

        return hook

    def _wanted(self, net_map: NetworkMap) -> tuple[list[Hook], list[Hook]]:
        """(forward hooks, forward pre-hooks) for the copies: the armed layer's output
        and its conv's input, and the last linear layer's input."""
        forward: list[Hook] = []
        forward_pre: list[Hook] = []
        if self.layer:
            mod = resolve(self.module, [self.layer])[self.layer]
            forward.append((mod, self._grab("output", False)))
            chain = net_map.conv_chain(self.layer)
            if chain is not None:
                forward_pre.append((chain.conv, self._grab("conv_input", True)))
        head = net_map.head()
        if head is not None:
            forward_pre.append((head.linear, self._grab("head_input", True)))
        return forward, forward_pre

    def __enter__(self) -> UnitProbe:
        self._store = {}
        if self.map is not None:
            forward, forward_pre = self._wanted(self.map)
            self._hooks.enter_context(hooks(forward=forward, forward_pre=forward_pre))
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Take the hooks off the network now (exit does it too)."""
        self._hooks.close()

    def take(self, x: torch.Tensor | None) -> ProbeData | None:
        """The copies of the last pass as float32 numpy (batch dim removed)."""
        if self.map is None or x is None:
            return None
        store, self._store = self._store, {}

        def arr(key):
            t = store.get(key)
            return None if t is None else t.cpu().numpy()

        return ProbeData(
            layer=self.layer if "output" in store else None,
            output=arr("output"),
            conv_input=arr("conv_input"),
            head_input=arr("head_input"),
            network_input=_sample(x).copy(),
        )

    def from_taps(self, x: torch.Tensor, head_input: torch.Tensor | None) -> ProbeData | None:
        """What ``take`` gives with no layer armed, from a traced pass's outputs."""
        if self.map is None:
            return None
        return ProbeData(
            head_input=None if head_input is None else _sample(head_input),
            network_input=_sample(x).copy(),
        )


def _sample(t: torch.Tensor) -> np.ndarray:
    """The first sample of a batch as float32 numpy (a view where torch allows one)."""
    return t.detach()[0].float().cpu().numpy()


def probe_once(model, module: nn.Module, layer: str | None, x: torch.Tensor) -> ProbeData | None:
    """What the engine's probe records, for one input ``x`` (1 x C x H x W) run through
    ``module``, a private copy of ``model.module`` (models.private_copy). Used for a
    frozen frame, where the engine runs no more."""
    probe = UnitProbe(model, module).arm(layer)
    with probe, torch.no_grad():
        module(x)
    return probe.take(x)


# ---- filters -----------------------------------------------------------------------------
def filter_of(chain: ConvChain, channel: int) -> tuple[np.ndarray, float]:
    """Weights of output ``channel`` (C_in/groups x kh x kw float32) and its bias."""
    w = chain.conv.weight.detach()[channel].float().cpu().numpy()
    b = chain.conv.bias
    return w, float(b.detach()[channel]) if b is not None else 0.0


def diverging(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Float array -> RGB uint8 (..., 3): blue below zero, white at zero, red above;
    scaled by ``limit`` (default: the largest magnitude)."""
    limit = float(np.abs(values).max()) if limit is None else limit
    t = np.clip(values / max(limit, 1e-12), -1, 1)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    red, blue = np.array([178.0, 24.0, 43.0]), np.array([33.0, 102.0, 172.0])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return rgb.astype(np.uint8)


def filter_mosaic(weights: np.ndarray, max_channels: int = 64, gap: int = 1) -> np.ndarray:
    """C_in x kh x kw weights -> one RGB image with a tile per input channel (up to
    ``max_channels``), one shared diverging scale centred on zero, gaps in grey."""
    w = weights[:max_channels]
    c, kh, kw = w.shape
    cols = min(c, 8)
    rows = -(-c // cols)
    out = np.full((rows * (kh + gap) - gap, cols * (kw + gap) - gap, 3), 60, np.uint8)
    tiles = diverging(w, float(np.abs(weights).max()))
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * (kh + gap) : r * (kh + gap) + kh, q * (kw + gap) : q * (kw + gap) + kw] = tiles[i]
    return out


# ---- arithmetic at one position ----------------------------------------------------------
Window = tuple[slice, slice]  # rows, columns


def pool_window(op: nn.Module, shape: tuple[int, ...], y: int, x: int) -> Window | None:
    """The rows and columns of the map before ``op`` (a sliding-window module; ``shape``:
    that map's H x W) that output position (y, x) reads, clipped to the map (padding left
    out); None when ``op`` has no window."""
    window = window_of(op)
    if window is None:
        return None
    (kh, kw), (sh, sw), (ph, pw), _ = window
    y0, x0 = y * sh - ph, x * sw - pw
    ys = slice(max(0, y0), min(shape[0], y0 + kh))
    xs = slice(max(0, x0), min(shape[1], x0 + kw))
    return ys, xs


@dataclass
class Arithmetic:
    """How one value of a conv-made layer comes about. Arrays: C x kh x kw float32."""

    conv_name: str
    conv_pos: tuple[int, int]  # (y, x) in the conv's output
    patch: np.ndarray  # the conv input under the kernel (zeros where padding)
    kernel: np.ndarray
    product: np.ndarray
    bias: float
    pre_activation: float  # sum(product) + bias
    steps: list[tuple[str, str, float]]  # (layer, what it did, value after it)
    value: float  # the layer's value at the asked position


def _per_channel(module: nn.Module, channel: int, x: torch.Tensor) -> torch.Tensor:
    """Apply one per-channel module to a 1 x 1 x H x W map of ``channel``."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm):

        def pick(t):
            return None if t is None else t[channel : channel + 1]

        return F.batch_norm(
            x,
            pick(module.running_mean),
            pick(module.running_var),
            pick(module.weight),
            pick(module.bias),
            False,
            0.0,
            module.eps,
        )
    if isinstance(module, nn.PReLU) and module.weight.numel() > 1:
        return F.prelu(x, module.weight[channel : channel + 1])
    return module(x.clone())


def channel_map(chain: ConvChain, conv_input: np.ndarray, channel: int) -> list[np.ndarray]:
    """The conv output of ``channel`` and the map after each op of the chain (H x W each),
    recomputed from the recorded conv input."""
    conv = chain.conv
    groups = conv.groups
    per_group = conv.in_channels // groups
    g = channel // (conv.out_channels // groups)
    x = torch.from_numpy(conv_input[g * per_group : (g + 1) * per_group])[None]
    w = conv.weight.detach().float().cpu()[channel : channel + 1]
    b = None if conv.bias is None else conv.bias.detach().float().cpu()[channel : channel + 1]
    with torch.no_grad():
        y = F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation)
        maps = [y[0, 0].numpy()]
        for _name, op in chain.ops:
            y = _per_channel(op, channel, y)
            maps.append(y[0, 0].numpy())
    return maps


def arithmetic(
    chain: ConvChain, conv_input: np.ndarray, channel: int, y: int, x: int
) -> Arithmetic:
    """Patch x kernel + bias at the conv position behind (y, x) of the chain's last layer,
    then each op up to that layer. A max pool takes the conv position of its window's
    maximum; an average pool the window's first position (its value is the mean)."""
    maps = channel_map(chain, conv_input, channel)
    # Walk back from the layer to the conv output: positions[i] is the place in maps[i].
    positions = [(y, x)] * (len(chain.ops) + 1)
    for i in range(len(chain.ops) - 1, -1, -1):
        py, px = positions[i + 1]
        found = pool_window(chain.ops[i][1], maps[i].shape, py, px)
        if found is not None:
            before = maps[i]
            ys, xs = found
            dy, dx = 0, 0
            if isinstance(chain.ops[i][1], nn.MaxPool2d):
                iy, ix = np.unravel_index(int(before[ys, xs].argmax()), before[ys, xs].shape)
                dy, dx = int(iy), int(ix)
            py, px = ys.start + dy, xs.start + dx
        positions[i] = (py, px)
    py, px = positions[0]
    conv = chain.conv
    conv_window = window_of(conv)
    assert conv_window is not None  # every Conv2d has one
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv_window
    groups = conv.groups
    per_group = conv.in_channels // groups
    g = channel // (conv.out_channels // groups)
    inp = conv_input[g * per_group : (g + 1) * per_group]
    padded = np.pad(inp, ((0, 0), (ph, ph), (pw, pw)))
    ys = py * sh + np.arange(kh) * dh
    xs = px * sw + np.arange(kw) * dw
    patch = padded[:, ys][:, :, xs]
    kernel, bias = filter_of(chain, channel)
    product = patch * kernel
    pre = float(product.sum(dtype=np.float64)) + bias
    steps = []
    for i, (name, op) in enumerate(chain.ops):
        window = window_of(op)
        if window is None:
            what = type(op).__name__
        else:
            kind = "max" if isinstance(op, nn.MaxPool2d) else "mean"
            what = f"{kind} over its {window[0][0]}x{window[0][1]} window"
        steps.append((name, what, float(maps[i + 1][positions[i + 1]])))
    value = float(maps[-1][y, x])
    return Arithmetic(chain.conv_name, (py, px), patch, kernel, product, bias, pre, steps, value)


# ---- statistics ---------------------------------------------------------------------------
@dataclass
class Stats:
    minimum: float
    maximum: float
    mean: float
    zeros: float  # fraction of values that are exactly 0


def stats(values: np.ndarray) -> Stats:
    v = np.asarray(values, np.float32)
    return Stats(float(v.min()), float(v.max()), float(v.mean()), float((v == 0).mean()))


def histogram(values: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of all values of a layer."""
    v = np.asarray(values, np.float32).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    return np.histogram(v, bins=bins, range=(lo, hi))


class FiringTracker:
    """Which channels of one layer never fired (> 0) over the last ``frames`` results."""

    def __init__(self, frames: int = 50) -> None:
        self.frames = frames
        self.layer: str | None = None
        self._peaks: deque[np.ndarray] = deque(maxlen=frames)

    def add(self, layer: str, output: np.ndarray) -> None:
        """``output``: C x H x W or N (one value per channel)."""
        if layer != self.layer or (self._peaks and self._peaks[0].shape[0] != output.shape[0]):
            self.layer = layer
            self._peaks.clear()
        flat = output.reshape(output.shape[0], -1)
        self._peaks.append(flat.max(axis=1))

    @property
    def seen(self) -> int:
        return len(self._peaks)

    def dead(self) -> np.ndarray:
        """Indices of channels whose value never went above zero on the recent frames."""
        if not self._peaks:
            return np.zeros(0, int)
        return np.flatnonzero(np.max(np.stack(self._peaks), axis=0) <= 0)
