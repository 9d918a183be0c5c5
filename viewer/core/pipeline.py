"""The engine: one frame in, one finished Result out; and the thread that runs it.

All heavy work (preprocess, forward with hooks, top-k, Grad-CAM, mosaics) happens
here, in the inference thread. The GUI only hands finished arrays to its views.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np
import torch

from models.drawing import center_digit
from models.images import InputError
from models.registry import LoadedModel
from viewer.core.frames import Frame, LayerView, Result
from viewer.core.mosaic import build_mosaic
from viewer.core.recorder import ActivationRecorder, resolve
from viewer.core.saliency import fast_gradcam, finish_cam
from viewer.core.slot import LatestSlot

SALIENCY_METHODS = ("gradcam", "none")


def default_threads() -> int:
    """Torch threads for inference: leave one core to the GUI thread."""
    return max(1, (os.cpu_count() or 2) - 1)


class Engine:
    """Runs one model on frames. Not thread-safe: one thread calls ``process``.

    ``drawing``: frames are drawings (the pad): MNIST-style centring, and an empty
    drawing gives an empty Result instead of a guess.
    """

    def __init__(
        self,
        model: LoadedModel,
        layers: list[str] | None = None,
        saliency: str = "gradcam",
        top_k: int = 5,
        drawing: bool = False,
        norm: str = "layer",
    ) -> None:
        if saliency not in SALIENCY_METHODS:
            raise ValueError(f"saliency {saliency!r}: choose one of {SALIENCY_METHODS}")
        self.model = model
        self.layers = list(model.display_layers if layers is None else layers)
        self.types = {n: type(m).__name__ for n, m in resolve(model.module, self.layers).items()}
        self.saliency = saliency if model.cam_layer else "none"
        self.top_k = top_k
        self.drawing = drawing
        self.norm = norm
        self.recorder = ActivationRecorder(
            model.module, self.layers, model.cam_layer if self.saliency == "gradcam" else None
        )

    def network_image(self, image: np.ndarray) -> np.ndarray | None:
        """The uint8 image the network will see, or None for an empty drawing."""
        if self.drawing:
            return center_digit(image)
        return self.model.preprocess.to_network_image(image)

    def warm_up(self, runs: int = 3) -> None:
        """Run a few frames so the first real one is not a slow start."""
        h, w = self.model.input_size
        dummy = np.zeros((h, w, 3), np.uint8)
        dummy[h // 4 : 3 * h // 4, w // 2 - 1 : w // 2 + 2] = 255
        for i in range(runs):
            self.process(Frame(-1 - i, time.perf_counter(), dummy, "warm-up"))

    def process(self, frame: Frame) -> Result:
        t0 = time.perf_counter()
        result = Result.blank(frame)
        timings = result.timings_ms
        try:
            net_image = self.network_image(frame.image)
        except InputError as exc:
            result.error = str(exc)
            return self._done(result)
        if net_image is None:
            result.empty = True
            return self._done(result)
        x = self.model.preprocess.to_tensor(net_image)
        result.network_image = net_image
        t1 = time.perf_counter()
        timings["preprocess"] = (t1 - t0) * 1000
        cam = self.saliency == "gradcam"
        with self.recorder, torch.enable_grad() if cam else torch.inference_mode():
            logits = self.model.module(x)
        t2 = time.perf_counter()
        timings["forward"] = (t2 - t1) * 1000
        logits_d = logits.detach()[0].float()
        probs = torch.softmax(logits_d, dim=0)
        top = torch.topk(probs, min(self.top_k, probs.numel()))
        labels = self.model.labels
        pairs = zip(top.values.tolist(), top.indices.tolist(), strict=True)
        result.top = [(i, labels[i], p) for p, i in pairs]
        result.probs = probs.numpy()
        result.logits = logits_d.numpy()
        if cam and self.recorder.cam_activation is not None:
            raw = fast_gradcam(logits, self.recorder.cam_activation, result.top[0][0])
            result.saliency = finish_cam(raw, self.model.input_size).numpy()
        t3 = time.perf_counter()
        timings["saliency"] = (t3 - t2) * 1000
        result.layers = self._mosaics(self.recorder.outputs)
        self.recorder.outputs = {}
        self.recorder.cam_activation = None
        timings["mosaics"] = (time.perf_counter() - t3) * 1000
        return self._done(result, t0)

    def _mosaics(self, outputs: dict[str, torch.Tensor]) -> list[LayerView]:
        views = []
        for name in self.layers:
            act = outputs.get(name)
            if act is None:  # a layer the forward pass never reached
                continue
            mosaic, grid, tile = build_mosaic(act[0], self.norm)
            views.append(
                LayerView(name, self.types[name], tuple(act.shape[1:]), mosaic, grid, tile)
            )
        return views

    @staticmethod
    def _done(result: Result, t0: float | None = None) -> Result:
        result.done_time = time.perf_counter()
        if t0 is not None:
            result.timings_ms["total"] = (result.done_time - t0) * 1000
        return result


class InferenceWorker(threading.Thread):
    """Takes the newest Frame from ``frames``, puts its Result into ``results``.

    Swap the engine with ``set_engine`` (any thread); ``stop()`` ends the loop and
    ``join`` returns within one frame's processing time. ``on_result`` is called in
    this thread after each Result is put, as a wake-up; it must not do heavy work.
    """

    def __init__(
        self,
        engine: Engine,
        frames: LatestSlot[Frame],
        results: LatestSlot[Result],
        threads: int | None = None,
        on_result: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="inference", daemon=True)
        self._engine = engine
        self._lock = threading.Lock()
        self.frames = frames
        self.results = results
        self.threads = threads or default_threads()
        self._stop_event = threading.Event()
        self.processed = 0
        self.on_result = on_result  # called in this thread after each put (e.g. to wake the GUI)

    def set_engine(self, engine: Engine) -> None:
        with self._lock:
            self._engine = engine

    @property
    def engine(self) -> Engine:
        with self._lock:
            return self._engine

    def stop(self) -> None:
        self._stop_event.set()
        self.frames.wake()

    def run(self) -> None:
        torch.set_num_threads(self.threads)
        while not self._stop_event.is_set():
            frame = self.frames.take(timeout=0.1)
            if frame is None or self._stop_event.is_set():
                continue
            engine = self.engine
            try:
                result = engine.process(frame)
            except Exception as exc:  # report per frame and go on with the next
                result = Result.blank(frame, error=f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            self.processed += 1
            self.results.put(result)
            if self.on_result is not None:
                self.on_result()
