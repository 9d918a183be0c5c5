"""The inference worker: the engine's steps on worker threads.

    frames --> [prepare + infer] --> [finish] --> results

Two ways to run, chosen per engine (``Engine.pipelined``, measured at warm-up):
- serial: one thread runs prepare, infer and finish for each frame. Best for a tiny
  network (the digit CNN) and for a short eager forward pass: an eager pass holds the
  GIL between its ops, so a finishing thread beside it halved it (mobilenet_v3_small:
  80 -> 40-44 fps; another process on the second vCPU cost only 10-20%).
- pipelined: finishing a result (mosaics, heatmap) runs on a second thread while the
  next forward pass runs (resnet18, and any traced network: its forward pass releases
  the GIL). For a short forward pass (``Engine.prefetch``) the finishing thread also
  prepares the next frame when one is waiting, so the forward thread does nothing but
  forward passes; for a long one the frame would wait a whole forward pass, adding
  that to the latency, so the forward thread prepares it just before its pass.
Each stage hands over only its newest item; a slow stage drops stale work instead of
building lag.

The worker is told things, never written into: ``set_engine`` (a new model, layers or
saliency), ``set_settings`` (the rows on screen, the inspected layer; each frame takes
the newest when it is prepared). A result from a replaced engine is dropped here (and
the window checks ``Result.engine_id`` once more, for one already on its way).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable

import torch

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.engine import SALIENCY_METHODS, Engine, FrameSettings, Prepared, Raw

__all__ = ["SALIENCY_METHODS", "Engine", "FrameSettings", "InferenceWorker", "default_threads"]

log = logging.getLogger(__name__)


def default_threads() -> int:
    """Torch threads for the forward pass: leave one core to the other stages and the GUI."""
    return max(1, (os.cpu_count() or 2) - 1)


class InferenceWorker:
    """Takes the newest Frame from ``frames``, puts its Result into ``results``.

    Swap the engine with ``set_engine`` and the per-frame settings with
    ``set_settings`` (any thread); work of an older engine is dropped. ``stop()`` then
    ``join()`` ends the threads. ``on_result`` is called (in a worker thread) after each
    Result is put, as a wake-up; it must not do heavy work. Errors in a frame are
    reported in its Result (Result.error) and the next frame goes on; a bug in the
    worker's own loop goes to ``on_error(text)`` (a worker thread; the traceback is
    logged) and the loop goes on.
    """

    def __init__(
        self,
        engine: Engine,
        frames: LatestSlot[Frame],
        results: LatestSlot[Result],
        threads: int | None = None,
        on_result: Callable[[], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = FrameSettings()
        self._lock = threading.Lock()
        self.frames = frames
        self.results = results
        self.threads = threads or default_threads()
        self.on_result = on_result
        self.on_error = on_error
        self.raw: LatestSlot[Raw] = LatestSlot()
        self.prepared: LatestSlot[Prepared] = LatestSlot()  # prefetched by the finisher
        self.processed = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._guard(loop), name=name, daemon=True)
            for name, loop in [("inference", self._infer_step), ("finish", self._finish_step)]
        ]

    # ---- control -----------------------------------------------------------------------
    def start(self) -> None:
        # A thread waiting for the GIL asks its holder to let go only after the switch
        # interval (5 ms by default); the traced forward pass wants it back after each
        # call while the finishing thread runs Python. 1 ms: mobilenet_v3_small ratio
        # median 0.83 -> 0.88 (4 interleaved runs, twice); 0.2 ms was worse (0.81).
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        for t in self._threads:
            t.start()

    def set_engine(self, engine: Engine) -> None:
        with self._lock:
            self._engine = engine

    @property
    def engine(self) -> Engine:
        with self._lock:
            return self._engine

    def set_settings(self, settings: FrameSettings) -> None:
        """Settings for every frame prepared from now on (frames in flight keep theirs)."""
        with self._lock:
            self._settings = settings

    @property
    def settings(self) -> FrameSettings:
        with self._lock:
            return self._settings

    def stop(self) -> None:
        self._stop.set()
        for slot in (self.frames, self.raw):
            slot.wake()

    def join(self, timeout: float | None = None) -> None:
        for t in self._threads:
            t.join(timeout)

    def is_alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # ---- steps (each runs in a loop on its own thread) ---------------------------------
    def _guard(self, step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            # OpenMP's thread count is per calling thread: a thread left at the default
            # would start a team on every core and spin against the forward pass.
            torch.set_num_threads(self.threads)
            while not self._stop.is_set():
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - a bug in a step must not kill the worker
                    log.error("inference worker: %s", traceback.format_exc())
                    if self.on_error is not None:
                        self.on_error(f"inference worker: {_describe(exc)}")

        return run

    def _infer_step(self) -> None:
        ahead = self.prepared.take_nowait()
        if ahead is not None and ahead.engine is self.engine:  # else an older engine's
            self._infer(ahead)
            return
        frame = self.frames.take(0.1)  # the finisher's prefetch wakes this wait
        if frame is None or self._stop.is_set():
            return
        engine = self.engine  # read after the wait: set_engine may have run meanwhile
        settings = self.settings
        if not engine.pipelined_for(settings):
            try:
                result = engine.process(frame, settings)
            except Exception as exc:  # noqa: BLE001 - reported in the Result, never raised
                result = engine.blank(frame, error=_describe(exc))
            self._publish(result)
            return
        self._infer(_prepare(engine, frame, settings))

    def _infer(self, prepared: Prepared) -> None:
        try:
            raw = prepared.engine.infer(prepared)
        except Exception as exc:  # noqa: BLE001 - reported in the Result, never raised
            raw = Raw(prepared.engine, prepared.result, settings=prepared.settings)
            raw.result.error = _describe(exc)
        self.raw.put(raw)

    def _prefetch(self) -> None:
        """Prepare the waiting frame for the forward thread (short forward passes)."""
        engine, settings = self.engine, self.settings
        if not (engine.prefetch and engine.pipelined_for(settings)):
            return
        if self.prepared.peek() is not None:
            return
        frame = self.frames.take_nowait()
        if frame is not None:
            self.prepared.put(_prepare(engine, frame, settings))
            self.frames.wake()

    def _finish_step(self) -> None:
        raw = self.raw.take(0.1)
        if raw is None:
            return
        try:
            result = raw.engine.finish(raw)
        except Exception as exc:  # noqa: BLE001 - reported in the Result, never raised
            result = raw.result
            result.error = _describe(exc)
        self._publish(result)
        self._prefetch()

    def _publish(self, result: Result) -> None:
        self.processed += 1
        if result.engine_id != self.engine.id:
            return  # made by an engine replaced meanwhile: its model or layers are gone
        self.results.put(result)
        if self.on_result is not None:
            self.on_result()


def _prepare(engine: Engine, frame: Frame, settings: FrameSettings) -> Prepared:
    try:
        return engine.prepare(frame, settings)
    except Exception as exc:  # noqa: BLE001 - reported in the Result, never raised
        return Prepared(engine, engine.blank(frame, error=_describe(exc)), settings=settings)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
