"""Click a box on the frame for its map: Grad-CAM of that box's score on the chosen
layer, or EigenCAM inside it (cnn_viewer.core.explain.box_saliency), computed on a
thread of its own on a private copy of the network (the live engine keeps running and
never sees its hooks); the finished heatmap comes back to the GUI thread by a signal."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from cnn_viewer.core.dataflow.frames import Result
from cnn_viewer.core.display.colormaps import colorize, heat_lut
from cnn_viewer.core.engine.objects import KEEP_MIN_SCORE
from cnn_viewer.core.explain.box_saliency import box_saliency
from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.models.zoo.loaded import LoadedModel


@dataclass
class BoxMapDone:
    """A finished map (RGBA over ``net_image``) or the error that stopped it."""

    net_image: np.ndarray
    heat_rgba: np.ndarray | None
    title: str
    error: str | None = None


def box_at(result: Result, x: float, y: float, min_score: float) -> int | None:
    """The number (in ``result.detections``) of the smallest shown box holding the frame
    point (x, y), or None."""
    best, area = None, float("inf")
    for i, d in enumerate(result.detections or []):
        x0, y0, x1, y1 = d["box"]
        if d["score"] >= min_score and x0 <= x <= x1 and y0 <= y <= y1:
            a = (x1 - x0) * (y1 - y0)
            if a < area:
                best, area = i, a
    return best


class BoxMapper(QObject):
    """Runs one box map at a time; a click while one runs replaces the waiting one."""

    done = pyqtSignal(object)  # BoxMapDone, delivered in the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._copy: tuple[object, LoadedModel] | None = None
        self._busy = False
        self._next: tuple | None = None
        self._lock = threading.Lock()

    def request(
        self, model: LoadedModel, result: Result, number: int, method: str, layer: str | None
    ) -> None:
        """Map box ``number`` of ``result`` (its network image, as the engine ran it)."""
        if result.network_image is None:
            return
        job = (model, result.network_image, number, method, layer)
        with self._lock:
            if self._busy:
                self._next = job
                return
            self._busy = True
        threading.Thread(target=self._run, args=(job,), name="box-map", daemon=True).start()

    def _model_copy(self, model: LoadedModel) -> LoadedModel:
        if self._copy is None or self._copy[0] is not model.module:
            clone = LoadedModel(**{**vars(model), "module": private_copy(model.module)})
            self._copy = (model.module, clone)
        return self._copy[1]

    def _run(self, job: tuple) -> None:
        while job is not None:
            model, net_image, number, method, layer = job
            try:
                clone = self._model_copy(model)
                x = clone.preprocess.to_tensor(net_image).to(clone.device)
                got = box_saliency(clone, x, number, method, layer, KEEP_MIN_SCORE)
                heat = colorize((got.heat * 255).astype(np.uint8), heat_lut())
                d = got.box
                name = "EigenCAM" if method == "eigencam" else "Grad-CAM"
                title = f"{name} for box {number} '{d['label']}' {d['score']:.2f}"
                self.done.emit(BoxMapDone(net_image, heat, title))
            except Exception as exc:  # noqa: BLE001 - shown in the window, never raised
                self.done.emit(BoxMapDone(net_image, None, "", f"box map: {exc}"))
            with self._lock:
                job, self._next = self._next, None
                if job is None:
                    self._busy = False
