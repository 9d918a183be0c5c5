"""Snapshots: one timestamped folder with what the window showed (Qt-free part).

Folder ``snapshot-YYYYMMDD-HHMMSS[-N]`` holds ``window.png`` (written by the caller's
saver), ``input.png`` (the network's input), one ``layer-NN-<name>.png`` per shown layer
(its coloured mosaic, each mosaic pixel enlarged to an s x s block, s in ``result.json``)
and ``result.json`` (frame, top-k, timings, model, source, the scale and colours).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from cnn_viewer.core.dataflow.frames import LayerView, Result

MIN_LAYER_WIDTH = 512  # layer PNGs are enlarged (whole factors, nearest) to at least this
MAX_LAYER_SCALE = 16


class SnapshotError(Exception):
    """A snapshot could not be written; the message names the file and the reason."""


def new_folder(base: str | Path, now: float | None = None) -> Path:
    """Create and return ``base/snapshot-<local time>`` (``-2``, ``-3`` ... if taken)."""
    base = Path(base)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnapshotError(f"cannot create the snapshot folder {base}: {exc}") from None
    stamp = time.strftime("snapshot-%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1, 1000):
        folder = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as exc:
            raise SnapshotError(f"cannot create {folder}: {exc}") from None
    raise SnapshotError(f"{base}: too many snapshots named {stamp}")


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "layer"


def layer_scale(width: int) -> int:
    return int(min(MAX_LAYER_SCALE, max(1, math.ceil(MIN_LAYER_WIDTH / max(width, 1)))))


def describe(
    result: Result,
    *,
    model: dict,
    source: str,
    device: str,
    norm: str,
    colormap: str,
    saliency: str,
) -> dict:
    """The JSON record of a shown result (numbers rounded only where noise)."""
    return {
        "frame_id": result.frame_id,
        "source": source,
        "frame_source": result.source,
        "model": model,
        "device": device,
        "top": [{"index": i, "label": label, "prob": float(p)} for i, label, p in result.top],
        "timings_ms": {k: round(float(v), 3) for k, v in result.timings_ms.items()},
        "normalisation": norm,
        "colormap": colormap,
        "saliency": saliency,
        "empty": result.empty,  # nothing to classify (e.g. a blank pad)
        "error": result.error,
        "layers": [],
        "files": {},
    }


def write_snapshot(
    folder: Path,
    record: dict,
    result: Result,
    save_window: Callable[[Path], bool] | None = None,
) -> list[Path]:
    """Write the files into ``folder`` (from any thread); returns them, result.json
    last. SnapshotError names the first file that could not be written."""
    written: list[Path] = []

    def put(name: str, image: np.ndarray) -> None:
        path = folder / name
        ok = False
        try:
            ok = cv2.imwrite(str(path), image)
        except cv2.error:
            ok = False
        if not ok:
            raise SnapshotError(f"could not write {path}")
        written.append(path)

    if save_window is not None:
        path = folder / "window.png"
        if not save_window(path):
            raise SnapshotError(f"could not write {path}")
        written.append(path)
        record["files"]["window"] = path.name
    if result.network_image is not None:
        img = result.network_image
        put("input.png", img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        record["files"]["input"] = "input.png"
    for k, lv in enumerate(result.layers):
        record["layers"].append(_layer_png(folder, k, lv, put))
    path = folder / "result.json"
    try:
        path.write_text(json.dumps(record, indent=2))
    except OSError as exc:
        raise SnapshotError(f"could not write {path}: {exc}") from None
    written.append(path)
    return written


def _layer_png(folder: Path, k: int, lv: LayerView, put) -> dict:
    name = f"layer-{k:02d}-{safe_name(lv.name)}.png"
    scale = layer_scale(lv.mosaic.shape[1])
    rgba = lv.rgba if lv.rgba is not None else np.repeat(lv.mosaic[..., None], 3, axis=2)
    big = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
    put(name, cv2.cvtColor(big, cv2.COLOR_RGBA2BGRA if big.shape[2] == 4 else cv2.COLOR_RGB2BGR))
    return {
        "name": lv.name,
        "type": lv.type,
        "shape": list(lv.shape),
        "file": name,
        "scale": scale,
        "grid": list(lv.grid),
        "tile": list(lv.tile),
        "value_range": None if lv.value_range is None else [float(v) for v in lv.value_range],
    }
