"""Top images per unit: scan a data set and keep, for each channel of chosen layers, the
k input crops (the receptive field of the strongest position) that excite it most.

Two passes over the data: the first runs the network in batches and keeps, per channel,
the k best (value, image, position); the second cuts the crops from the images that won.
A finished scan is cached on disk, keyed by the model's weights, the layers and the
data's file listing, so a second scan of the same data loads at once. Worker thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from cnn_viewer.core.hooks.taps import Taps
from cnn_viewer.core.visualize.scan_data import DataReader, DataSpec
from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.data.drawing import NoInk
from cnn_viewer.models.zoo.loaded import LoadedModel

CACHE_VERSION = 1
MAX_CROP = 96  # stored crops larger than this (deep layers of big models) are shrunk


def cache_dir() -> Path:
    """$CNN_VIEWER_CACHE/topimages, else ~/.cache/cnn-viewer/topimages."""
    root = os.environ.get("CNN_VIEWER_CACHE") or Path.home() / ".cache" / "cnn-viewer"
    return Path(root) / "topimages"


@dataclass
class ReceptiveField:
    """Where a layer position looks in the network input: the box of the map's centre
    (y0, x0, y1, x1; may extend past the image) and the step between positions."""

    center: tuple[int, int]  # (y, x) of the position the box belongs to
    box: tuple[int, int, int, int]
    stride: tuple[float, float]

    def box_at(self, y: int, x: int) -> tuple[int, int, int, int]:
        dy = round((y - self.center[0]) * self.stride[0])
        dx = round((x - self.center[1]) * self.stride[1])
        y0, x0, y1, x1 = self.box
        return (y0 + dy, x0 + dx, y1 + dy, x1 + dx)

    @property
    def size(self) -> tuple[int, int]:
        return (self.box[2] - self.box[0], self.box[3] - self.box[1])


def receptive_field(model: LoadedModel, layer: str, seed: int = 0) -> ReceptiveField:
    """The receptive field, measured with a gradient: the input pixels that reach the centre
    position of ``layer`` (summed over channels, two random inputs, so no dead path hides
    a pixel), and the step to the next position. A vector layer sees the whole image."""
    h, w = model.input_size
    taps = Taps(model.module, [layer])
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, model.channels, h, w, generator=gen).to(model.device).requires_grad_()
    with torch.enable_grad():
        act = taps.run(x)[layer]
        if act.ndim == 2:
            return ReceptiveField((0, 0), (0, 0, h, w), (0.0, 0.0))
        if act.ndim != 4:
            raise ValueError(f"{layer}: output shape {tuple(act.shape[1:])} is not a map or vector")
        mh, mw = act.shape[-2:]
        cy, cx = mh // 2, mw // 2
        ny, nx = min(cy + 1, mh - 1), min(cx + 1, mw - 1)
        boxes = []
        for y, xx in ((cy, cx), (ny, nx)):
            (grad,) = torch.autograd.grad(act[:, :, y, xx].sum(), x, retain_graph=True)
            boxes.append(_reach_box(grad, (h, w)))
    stride = (
        _step(boxes[0], boxes[1], 0, h, ny - cy, h / mh),
        _step(boxes[0], boxes[1], 1, w, nx - cx, w / mw),
    )
    return ReceptiveField((cy, cx), _unclip(boxes[0], (h, w), (cy, cx), stride), stride)


def _reach_box(grad: torch.Tensor, size: tuple[int, int]) -> tuple[int, int, int, int]:
    ys, xs = torch.nonzero(grad.abs().sum(dim=(0, 1)).cpu() > 0, as_tuple=True)
    if len(ys) == 0:
        return (0, 0, *size)
    return (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)


def _step(a, b, axis: int, side: int, moved: int, fallback: float) -> float:
    """Input pixels per map position along ``axis``, from two boxes ``moved`` positions apart
    (an edge the border clipped in either box cannot tell; then input / map size)."""
    if moved == 0:
        return fallback
    lo, hi = a[axis], a[axis + 2]
    lo2, hi2 = b[axis], b[axis + 2]
    if lo > 0 and lo2 > 0:
        return (lo2 - lo) / moved
    if hi < side and hi2 < side:
        return (hi2 - hi) / moved
    return fallback


def _unclip(box, size, center, stride):
    """A box clipped by the image border, widened to the size it has on the open side."""
    y0, x0, y1, x1 = box
    h, w = size
    cy = (center[0] + 0.5) * stride[0]
    cx = (center[1] + 0.5) * stride[1]
    half_h = max(cy - y0, y1 - cy) if (y0 <= 0) != (y1 >= h) else None
    half_w = max(cx - x0, x1 - cx) if (x0 <= 0) != (x1 >= w) else None
    if half_h is not None:
        y0, y1 = round(cy - half_h), round(cy + half_h)
    if half_w is not None:
        x0, x1 = round(cx - half_w), round(cx + half_w)
    return (y0, x0, y1, x1)


def cut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box of ``image``; parts outside the image are black."""
    y0, x0, y1, x1 = box
    h, w = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0, *image.shape[2:]), image.dtype)
    sy0, sx0, sy1, sx1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


@dataclass
class LayerTop:
    """One layer's best k per channel, best first. C channels, K kept (K <= k when the data
    held fewer images; missing entries have item -1 and value -inf)."""

    layer: str
    values: np.ndarray  # C x K float32: the channel's value at the position
    items: np.ndarray  # C x K int64: index of the image in the scan
    positions: np.ndarray  # C x K x 2 int64: (y, x) in the layer's map; (0, 0) for a vector
    boxes: np.ndarray  # C x K x 4 int64: (y0, x0, y1, x1) in network-input pixels
    crops: np.ndarray  # C x K x h x w (x 3) uint8: the boxes cut from the network's input


@dataclass
class TopImages:
    layers: dict[str, LayerTop]
    names: list[str]  # a name per scanned image (file name, frame number, digit index)
    data: str  # what was scanned, in words
    seconds: float = 0.0
    from_cache: bool = False
    cache_file: str = ""
    extra: dict = field(default_factory=dict)


def weights_digest(module: torch.nn.Module) -> str:
    h = hashlib.sha1()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cache_key(model: LoadedModel, layers: list[str], spec: DataSpec, k: int) -> str:
    p = model.preprocess
    parts = [
        f"v{CACHE_VERSION}",
        type(model.module).__name__,
        weights_digest(model.module),
        json.dumps([p.input_size, p.channels, p.mean, p.std, p.resize_short, p.resize_hw]),
        ",".join(layers),
        str(k),
        spec.listing(),
    ]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:24]


def scan(
    model: LoadedModel,
    layers: list[str],
    spec: DataSpec,
    k: int = 9,
    batch: int = 64,
    use_cache: bool = True,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TopImages:
    """Top-k crops per channel of ``layers`` over the data; cached unless ``use_cache`` is
    False. ``on_progress(done, total, text)``; raises Cancelled when ``should_stop()``."""
    if not layers:
        raise ValueError("choose at least one layer to scan")
    t0 = time.perf_counter()
    spec.check()
    key = cache_key(model, layers, spec, k)
    path = cache_dir() / f"{key}.npz"
    if use_cache and path.is_file():
        try:
            top = load(path)
            top.seconds = time.perf_counter() - t0
            return top
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file: scan again and overwrite it
    reader = DataReader(spec)
    taps = Taps(model.module, layers)
    fields = [receptive_field(model, name) for name in layers]
    best: dict[str, tuple[torch.Tensor, ...]] = {}
    names: dict[int, str] = {}
    total = len(reader)

    def run(batch_items: list[tuple[int, np.ndarray]]) -> None:
        x = torch.cat([model.preprocess.to_tensor(im) for _, im in batch_items]).to(model.device)
        idx = torch.tensor([i for i, _ in batch_items])
        with torch.no_grad():
            outputs = taps.run(x)
        for name in layers:
            _merge(best, name, outputs[name].float().cpu(), idx, k)

    pending: list[tuple[int, np.ndarray]] = []
    for i, name, image in reader:
        stop_if(should_stop, f"scan stopped after {i} of {total} images")
        try:
            net_image = model.preprocess.to_network_image(image)
        except NoInk:
            continue  # a blank image or frame says nothing to a digit model: skipped
        names[i] = name
        pending.append((i, net_image))
        if len(pending) == batch:
            run(pending)
            pending = []
            if on_progress is not None:
                on_progress(i + 1, total, f"scanning {i + 1} / {total}")
    if pending:
        run(pending)
    if not names:
        raise ValueError(f"{spec.describe()}: no image could be read")
    result = _cut_crops(model, layers, fields, best, reader, should_stop, on_progress)
    all_names = [names.get(i, "") for i in range(max(names) + 1)]
    top = TopImages(result, all_names, spec.describe(), cache_file=str(path))
    top.seconds = time.perf_counter() - t0
    if use_cache:
        save(top, path)
    return top


def _merge(best: dict, name: str, act: torch.Tensor, idx: torch.Tensor, k: int) -> None:
    """Fold one batch's per-image maxima into the running top-k of each channel."""
    n, c = act.shape[:2]
    flat = act.reshape(n, c, -1)
    vmax, arg = flat.max(dim=2)  # n x c
    width = act.shape[-1] if act.ndim == 4 else 1
    vals = vmax.T  # c x n
    items = idx[None, :].expand(c, n)
    pos = arg.T
    if name in best:
        bv, bi, bp, _ = best[name]
        vals, items, pos = (
            torch.cat([bv, vals], 1),
            torch.cat([bi, items], 1),
            torch.cat([bp, pos], 1),
        )
    kk = min(k, vals.shape[1])
    order = torch.topk(vals, kk, dim=1).indices
    best[name] = (
        vals.gather(1, order),
        items.gather(1, order),
        pos.gather(1, order),
        width,
    )


def _cut_crops(model, layers, fields, best, reader, stop, on_progress) -> dict[str, LayerTop]:
    wanted: dict[int, list[str]] = {}
    for name in layers:
        for item in best[name][1].flatten().tolist():
            wanted.setdefault(item, []).append(name)
    out = {}
    shapes = {}
    for name, rf in zip(layers, fields, strict=True):
        vals, items, pos, width = best[name]
        vals, items, pos = vals.numpy(), items.numpy(), pos.numpy()
        yx = np.stack([pos // width, pos % width], axis=-1).astype(np.int64)
        if rf.stride == (0.0, 0.0):
            yx[:] = 0
        boxes = np.array([[rf.box_at(y, x) for y, x in row] for row in yx], np.int64)
        h, w = rf.size
        scale = min(1.0, MAX_CROP / max(h, w))
        shapes[name] = (max(1, round(h * scale)), max(1, round(w * scale)))
        crop_shape = (
            *vals.shape,
            *shapes[name],
            *((3,) if model.channels == 3 else ()),
        )
        out[name] = LayerTop(name, vals.astype(np.float32), items.astype(np.int64), yx, boxes,
                             np.zeros(crop_shape, np.uint8))  # fmt: skip
    done = 0
    for i, _, image in reader:
        if i not in wanted:
            continue
        stop_if(stop, "stopped while cutting the crops")
        net = model.preprocess.to_network_image(image)
        for name in set(wanted[i]):
            top = out[name]
            for c, j in zip(*np.nonzero(top.items == i), strict=True):
                crop = cut(net, tuple(top.boxes[c, j]))
                if crop.shape[:2] != shapes[name]:
                    crop = cv2.resize(crop, shapes[name][::-1], interpolation=cv2.INTER_AREA)
                top.crops[c, j] = crop
        done += 1
        if on_progress is not None and done % 16 == 0:
            on_progress(done, len(wanted), f"cutting crops {done} / {len(wanted)}")
    return out


def save(top: TopImages, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"names": np.array(top.names, dtype=str), "data": np.array(top.data)}
    for n, (name, lt) in enumerate(top.layers.items()):
        arrays[f"layer{n}"] = np.array(name)
        for f in ("values", "items", "positions", "boxes", "crops"):
            arrays[f"{n}.{f}"] = getattr(lt, f)
    tmp = path.with_suffix(".tmp.npz")
    # (numpy's stub has allow_pickle: bool beside **kwds; no key here is that one)
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def load(path: Path) -> TopImages:
    with np.load(path, allow_pickle=False) as z:
        layers = {}
        n = 0
        while f"layer{n}" in z:
            name = str(z[f"layer{n}"])
            parts = [z[f"{n}.{f}"] for f in ("values", "items", "positions", "boxes", "crops")]
            layers[name] = LayerTop(name, *parts)
            n += 1
        names = [str(s) for s in z["names"]]
        data = str(z["data"])
    return TopImages(layers, names, data, from_cache=True, cache_file=str(path))
