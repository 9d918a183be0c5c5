"""The engine: one frame in, one finished Result out, in three steps that can run on
three threads: ``prepare`` (preprocess), ``infer`` (forward with hooks, Grad-CAM's
gradient), ``finish`` (top-k, heatmap, mosaics). ``process`` runs all three.

Nothing writes to a running engine. What the window may change while frames flow (the
rows on screen, the inspected layer) arrives as ``FrameSettings`` with each frame: the
worker hands the newest settings to ``prepare``, and the frame carries them through
``infer`` and ``finish``, so a change made during a forward pass applies from the next
frame. Anything else (model, layers, saliency, colours) is a new engine; each Result
names the engine that made it (``Result.engine_id``), so a replaced engine's work is
dropped. What an engine learns about its model (the forward time, traced graphs) lives
in its ``EngineMemory``, which a rebuilt engine for the same model takes over.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from cnn_viewer.core.dataflow.frames import Frame, LayerView, Result
from cnn_viewer.core.display.colormaps import colorize, heat_lut, is_diverging, mosaic_lut
from cnn_viewer.core.display.mosaic import Scaler
from cnn_viewer.core.engine.objects import class_colours, frame_detections, segment_overlay
from cnn_viewer.core.engine.traced import Traced, TracedNetwork, TraceRefused, trace_network
from cnn_viewer.core.explain.inspect import UnitProbe
from cnn_viewer.core.explain.saliency import fast_gradcam, finish_cam
from cnn_viewer.core.hooks.recorder import ActivationRecorder, resolve
from cnn_viewer.models.data.drawing import NoInk, as_digits
from cnn_viewer.models.data.images import InputError
from cnn_viewer.models.devices import synchronize
from cnn_viewer.models.zoo.loaded import LoadedModel

SALIENCY_METHODS = ("gradcam", "none")
# Above this forward time (ms) the worker overlaps preprocessing and finishing with the
# forward pass (pipelined); below it one thread does all (measured: see pipeline.py).
PIPELINE_MIN_FORWARD_MS = 30.0
# A traced forward pass releases the GIL, so finishing beside it pays from this length.
PIPELINE_MIN_TRACED_MS = 3.0
# Below this forward time a pipelined worker prepares the next frame on the finishing
# thread; above it, a frame prepared ahead would be older by a long forward pass.
PREFETCH_MAX_FORWARD_MS = 25.0
TRACES_KEPT = 4  # traced networks kept per model (one per layer set)
# 'auto': run a TorchScript trace of the model where it is faithful (cnn_viewer.core.engine.traced);
# 'off': always the eager model. CNN_VIEWER_TRACE=off sets the default.
TRACE_MODES = ("auto", "off")


@dataclass(frozen=True)
class FrameSettings:
    """What the window may change while frames flow; a frame keeps the settings it was
    prepared with. ``visible``: the layers to build mosaics for (None: all);
    ``inspect_layer``: the unit inspector's layer (any module name), which runs the
    eager model with the probe on it, or None."""

    visible: frozenset[str] | None = None
    inspect_layer: str | None = None


@dataclass
class EngineMemory:
    """What engines learn about one model, kept across engines rebuilt for it:
    ``forward_ms`` (one forward pass after warm-up) and the traced graphs by shown
    layers, Grad-CAM layer and input shape (or why tracing was refused)."""

    module: torch.nn.Module  # the network this memory is about
    forward_ms: float | None = None
    traces: dict[tuple, TracedNetwork | str] = field(default_factory=dict)


_engine_ids = itertools.count(1)


@dataclass
class Prepared:
    """A frame turned into the network's input, by the engine that will run it, with
    the settings it runs under."""

    engine: Engine
    result: Result  # filled in along the way; final when empty or error
    x: torch.Tensor | None = None
    settings: FrameSettings = field(default_factory=FrameSettings)


@dataclass
class Raw:
    """What the forward pass left for ``finish``: detached tensors only."""

    engine: Engine
    result: Result
    settings: FrameSettings = field(default_factory=FrameSettings)
    logits: torch.Tensor | None = None
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    cam: torch.Tensor | None = None  # raw Grad-CAM map (h x w), not yet resized
    # A traced pass, unpacked by ``finish`` (with its input, for Grad-CAM's gradient).
    traced: Traced | None = None
    x: torch.Tensor | None = None


def _should_pipeline(forward_ms: float | None, traced: bool = False) -> bool:
    """With 4+ cores (or a GPU doing the forward) finishing on a second thread is free.
    On 2 vCPUs an eager forward pass and the finishing thread take turns at the GIL, so
    it only pays for a long forward pass; a traced one runs beside it (unknown: no)."""
    many_cores = (os.cpu_count() or 1) >= 4
    ms = forward_ms or 0.0
    return many_cores or ms >= PIPELINE_MIN_FORWARD_MS or (traced and ms >= PIPELINE_MIN_TRACED_MS)


def default_trace() -> str:
    mode = os.environ.get("CNN_VIEWER_TRACE", "auto")
    return mode if mode in TRACE_MODES else "auto"


class Engine:
    """Runs one model on frames. Each step is called by one thread at a time.

    ``drawing``: frames are drawings (MNIST-style centring); an empty drawing gives
    an empty Result instead of a guess. ``memory``: an earlier engine's memory of the
    same model (its forward time and traces), else a fresh one.
    """

    def __init__(
        self,
        model: LoadedModel,
        layers: list[str] | None = None,
        saliency: str = "gradcam",
        top_k: int = 5,
        drawing: bool = False,
        norm: str = "layer",
        colormap: str = "inferno",
        trace: str | None = None,
        memory: EngineMemory | None = None,
    ) -> None:
        if saliency not in SALIENCY_METHODS:
            raise ValueError(f"saliency {saliency!r}: choose one of {SALIENCY_METHODS}")
        trace = trace or default_trace()
        if trace not in TRACE_MODES:
            raise ValueError(f"trace {trace!r}: choose one of {TRACE_MODES}")
        if memory is not None and memory.module is not model.module:
            raise ValueError("memory: that EngineMemory is about another network")
        self.id = next(_engine_ids)  # names this engine in its Results
        self.model = model
        self.memory = memory or EngineMemory(model.module)
        self.layers = list(model.display_layers if layers is None else layers)
        self.types = {n: type(m).__name__ for n, m in resolve(model.module, self.layers).items()}
        self.task = model.task  # 'classify', 'detect' or 'segment'
        # a class score's Grad-CAM is for classifiers; a box's map is asked for per box
        # (cnn_viewer.core.explain.box_saliency)
        self.saliency = saliency if model.cam_layer and self.task == "classify" else "none"
        self.top_k = top_k
        self.drawing = drawing
        self.norm = norm
        # 'layer', 'channel', 'fixed' or 'fixed:V' (mosaic.parse_norm); a diverging
        # colormap gets ranges centred on zero.
        self.scaler = Scaler(norm, symmetric=is_diverging(colormap))
        self.lut = mosaic_lut(colormap)
        self.heat = heat_lut()
        cam_layer = model.cam_layer if self.saliency == "gradcam" else None
        self.recorder = ActivationRecorder(model.module, self.layers, cam_layer)
        # The traced network (built on the first frame, kept in the memory for engines
        # with the same layers), or why the engine runs the eager model.
        self.trace = trace
        self.traced: TracedNetwork | None = None
        self.trace_note = "" if trace == "auto" else "tracing is off"
        if self.task != "classify":  # boxes and NMS: data-dependent, no faithful trace
            self.trace_note = f"runs the eager model: a {self.task} model is not traced"
        self.colours = class_colours(len(model.labels))
        # A trace holds the shapes it saw: the input size is part of its key.
        self._trace_key = (tuple(self.layers), cam_layer, model.input_size, model.channels)
        if trace == "auto":
            self._take_trace(self.memory.traces.get(self._trace_key))
        # Set from the model's forward time, measured by warm_up (of this engine or an
        # earlier one for the same model, so a rebuilt engine keeps the mode).
        self._set_mode()
        self.device = model.device
        self.probe = UnitProbe(model)

    def network_image(self, image: np.ndarray) -> np.ndarray | None:
        """The uint8 image the network will see, or None for an empty drawing. A digit
        model's own preprocess centres the digit (the one rule of every path)."""
        prep = as_digits(self.model.preprocess) if self.drawing else self.model.preprocess
        try:
            return prep.to_network_image(image)
        except NoInk:
            return None

    def warm_up(self, runs: int = 3) -> None:
        """Run a few frames so the first real one is not a slow start."""
        h, w = self.model.input_size
        dummy = np.zeros((h, w, 3), np.uint8)
        dummy[h // 4 : 3 * h // 4, w // 2 - 1 : w // 2 + 2] = 255
        forward_ms = []
        for i in range(runs):
            result = self.process(Frame(-1 - i, time.perf_counter(), dummy, "warm-up"))
            forward_ms.append(result.timings_ms.get("forward", 0.0))
        self.memory.forward_ms = min(forward_ms)
        self.scaler.reset()  # a 'fixed' scale starts from real frames
        self._set_mode()

    def _set_mode(self) -> None:
        ms = self.memory.forward_ms
        self.pipelined = _should_pipeline(ms, self.traced is not None)
        self.prefetch = self.pipelined and ms is not None and ms < PREFETCH_MAX_FORWARD_MS

    def pipelined_for(self, settings: FrameSettings) -> bool:
        """The worker mode for a frame with these settings. While a layer is inspected
        the eager model runs, and an eager pass only pipelines when it is long (it holds
        the GIL)."""
        if self.traced is None or self.runs_traced(settings):
            return self.pipelined
        return _should_pipeline(self.memory.forward_ms)

    # ---- the traced network ------------------------------------------------------------
    def runs_traced(self, settings: FrameSettings) -> bool:
        """True when a frame with these settings goes through the traced network (no
        layer is being inspected)."""
        return self.traced is not None and settings.inspect_layer is None

    def _take_trace(self, built: TracedNetwork | str | None) -> None:
        if isinstance(built, TracedNetwork):
            self.traced = built
        elif isinstance(built, str):
            self.trace_note = built

    def _build_trace(self, x: torch.Tensor) -> None:
        """Trace the model on this input (once per model and layer set); eager on refusal."""
        net_map = self.probe.arm(None).map
        head = net_map.head() if net_map is not None else None  # the Answer tab's input
        try:
            built: TracedNetwork | str = trace_network(
                self.model.module, x, self.layers, self.recorder.cam_layer,
                head.linear if head is not None else None,
            )  # fmt: skip
        except TraceRefused as exc:
            built = f"runs the eager model: {exc}"
        traces = self.memory.traces
        traces[self._trace_key] = built
        for stale in list(traces)[:-TRACES_KEPT]:  # layer sets chosen long ago
            del traces[stale]
        self._take_trace(built)
        self._set_mode()

    def process(self, frame: Frame, settings: FrameSettings | None = None) -> Result:
        """All three steps in the calling thread."""
        return self.finish(self.infer(self.prepare(frame, settings)))

    def blank(self, frame: Frame, error: str | None = None) -> Result:
        """A Result of this engine for ``frame`` with nothing computed yet (or an error)."""
        result = Result.blank(frame, error)
        result.engine_id = self.id
        return result

    # ---- the three steps ---------------------------------------------------------------
    def prepare(self, frame: Frame, settings: FrameSettings | None = None) -> Prepared:
        t0 = time.perf_counter()
        result = self.blank(frame)
        prepared = Prepared(self, result, settings=settings or FrameSettings())
        try:
            net_image = self.network_image(frame.image)
        except InputError as exc:
            result.error = str(exc)
            return prepared
        if net_image is None:
            result.empty = True
            return prepared
        prepared.x = self.model.preprocess.to_tensor(net_image).to(self.device)
        result.network_image = net_image
        result.timings_ms["preprocess"] = (time.perf_counter() - t0) * 1000
        return prepared

    def infer(self, prepared: Prepared) -> Raw:
        raw = Raw(self, prepared.result, settings=prepared.settings)
        if prepared.x is None:
            return raw
        if self.traced is None and not self.trace_note:
            self._build_trace(prepared.x)
        # The inspector's probe hooks a layer of its choice: the eager model does that.
        if self.runs_traced(prepared.settings):
            return self._infer_traced(raw, prepared.x)
        t1 = time.perf_counter()
        cam = self.saliency == "gradcam"
        rec = self.recorder
        probe = self.probe.arm(prepared.settings.inspect_layer)
        with rec, probe, torch.enable_grad() if cam else torch.inference_mode():
            logits = self.model.module(prepared.x)
        synchronize(self.device)
        t2 = time.perf_counter()
        out = logits.detach()
        raw.logits = (out if self.task == "detect" else out[0]).float().cpu()
        if cam and rec.cam_activation is not None:
            cam_map = fast_gradcam(logits, rec.cam_activation, int(raw.logits.argmax()))
            raw.cam = cam_map.cpu()
        raw.outputs, rec.outputs, rec.cam_activation = rec.outputs, {}, None
        raw.result.probe = probe.take(prepared.x)
        t3 = time.perf_counter()
        raw.result.timings_ms["forward"] = (t2 - t1) * 1000
        raw.result.timings_ms["saliency"] = (t3 - t2) * 1000
        return raw

    def _infer_traced(self, raw: Raw, x: torch.Tensor) -> Raw:
        """The traced forward pass and nothing else: each torch call lets go of the GIL,
        and getting it back waits for the finishing thread, so the logits, Grad-CAM's
        gradient and the probe's copies are left to ``finish``, beside the next pass."""
        assert self.traced is not None  # runs_traced(settings)
        self.probe.arm(None)  # maps the network once, for the Answer tab's numbers
        t1 = time.perf_counter()
        raw.traced, raw.x = self.traced.run(x), x
        synchronize(self.device)
        raw.result.timings_ms["forward"] = (time.perf_counter() - t1) * 1000
        return raw

    def _unpack(self, raw: Raw) -> None:
        """A traced pass -> logits, outputs, probe and raw Grad-CAM, as ``infer`` leaves
        them on the eager path (with the "saliency" time so far)."""
        out, x = raw.traced, raw.x
        # (set together by _infer_traced, from self.traced, which is never unset)
        assert out is not None and x is not None and self.traced is not None
        raw.logits = out.logits[0].float().cpu()
        raw.outputs = out.outputs
        raw.result.probe = self.probe.from_taps(x, out.head_input)
        raw.traced = raw.x = None
        t0 = time.perf_counter()
        cam_layer = self.recorder.cam_layer
        if cam_layer is not None and cam_layer in raw.outputs:
            activation = raw.outputs[cam_layer]
            raw.cam = self.traced.cam(x, activation, int(raw.logits.argmax())).cpu()
        raw.result.timings_ms["saliency"] = (time.perf_counter() - t0) * 1000

    def finish(self, raw: Raw) -> Result:
        result = raw.result
        if raw.traced is not None:
            self._unpack(raw)
        if raw.logits is not None and self.task != "classify":
            self._finish_objects(raw)
        elif raw.logits is not None:
            probs = torch.softmax(raw.logits, dim=0)
            top = torch.topk(probs, min(self.top_k, probs.numel()))
            labels = self.model.labels
            pairs = zip(top.values.tolist(), top.indices.tolist(), strict=True)
            result.top = [(i, labels[i], p) for p, i in pairs]
            result.probs = probs.numpy()
            result.logits = raw.logits.numpy()
            if raw.cam is not None:
                t0 = time.perf_counter()
                result.saliency = finish_cam(raw.cam, self.model.input_size)
                heat = (result.saliency * 255).astype(np.uint8)
                result.saliency_rgba = colorize(heat, self.heat)
                result.timings_ms["saliency"] += (time.perf_counter() - t0) * 1000
            t1 = time.perf_counter()
            result.layers = self._mosaics(raw.outputs, raw.settings.visible)
            result.timings_ms["mosaics"] = (time.perf_counter() - t1) * 1000
        result.done_time = time.perf_counter()
        if result.timings_ms:
            result.timings_ms["total"] = sum(result.timings_ms.values())
        return result

    def _finish_objects(self, raw: Raw) -> None:
        """A detector's boxes or a segmenter's shares and overlay into the Result, with
        the rows' mosaics; ``top`` lists the best boxes (or largest classes)."""
        result = raw.result
        assert raw.logits is not None
        t0 = time.perf_counter()
        labels = self.model.labels
        if self.task == "detect":
            shape = result.frame_image.shape if result.frame_image is not None else (1, 1)
            found = frame_detections(raw.logits, labels, self.model.input_size, shape)
            result.detections = found
            result.top = [(d["index"], d["label"], d["score"]) for d in found[: self.top_k]]
        else:
            shares, rgba = segment_overlay(raw.logits[None], labels, self.colours)
            result.segments, result.segment_rgba = shares, rgba
            result.top = [(s["index"], s["label"], s["fraction"]) for s in shares[: self.top_k]]
        result.timings_ms["objects"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        result.layers = self._mosaics(raw.outputs, raw.settings.visible)
        result.timings_ms["mosaics"] = (time.perf_counter() - t1) * 1000

    def _mosaics(
        self, outputs: dict[str, torch.Tensor], visible: frozenset[str] | None
    ) -> list[LayerView]:
        views = []
        for name in self.layers:
            act = outputs.get(name)
            if act is None or (visible is not None and name not in visible):
                continue  # never reached by the forward pass, or not on screen
            mosaic, grid, tile, value_range = self.scaler.build(name, act[0])
            shape = tuple(act.shape[1:])
            rgba = colorize(mosaic, self.lut)
            views.append(
                LayerView(
                    name, self.types[name], shape, mosaic, grid, tile, rgba, value_range=value_range
                )
            )
        return views
