"""The benchmark: the very engine the window uses, headless, with figures that compare.

Qt-free. ``--render`` (drawing each result into the real window) lives in cnn_viewer.ui and
feeds the same ``summarize``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.pipeline import Engine, InferenceWorker
from cnn_viewer.core.engine.traced import plain_trace
from cnn_viewer.core.sources.synthetic import SyntheticSource, synthetic_images
from cnn_viewer.models.devices import synchronize
from cnn_viewer.models.zoo.loaded import LoadedModel

KEYS = (
    "raw_fps", "pipeline_fps", "ratio", "stage_ms", "latency_ms_p50", "latency_ms_p95",
    "dropped", "rss_mb_start", "rss_mb_end",
)  # fmt: skip


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def all_layers(model: LoadedModel) -> list[str]:
    """Every named module (what `--layers all` shows)."""
    return [name for name, _ in model.module.named_modules() if name]


def measure_raw_fps(
    model: LoadedModel, threads: int, seconds: float = 2.0, traced: bool = False
) -> float:
    """The model alone: forward passes in inference mode on one preprocessed input,
    same input size and torch thread count as the engine, after warm-up. ``traced``:
    run it as a plain TorchScript trace, as an engine with a traced network does."""
    x = model.preprocess(synthetic_images(1)[0]).to(model.device)
    net = plain_trace(model.module, x) if traced else model.module
    result: list[float] = []

    def run() -> None:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for _ in range(3):
                net(x)
            synchronize(model.device)
            n, t0 = 0, time.perf_counter()
            while n < 5 or time.perf_counter() - t0 < seconds:
                net(x)
                synchronize(model.device)  # per frame, as the engine waits for each result
                n += 1
            result.append(n / (time.perf_counter() - t0))

    # Its own thread, like the inference worker (grad mode and threads are per thread).
    worker = threading.Thread(target=run, name="raw-forward")
    worker.start()
    worker.join()
    return result[0]


@dataclass
class Sample:
    """What the benchmark keeps of one Result: only numbers, so a long run measures the
    engine's memory, not the benchmark's."""

    done_time: float
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, result: Result) -> Sample:
        return cls(result.done_time, dict(result.timings_ms))


@dataclass
class Run:
    """What one benchmark run collected, per measured result."""

    results: list[Sample] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)
    input_delay_ms: list[float] = field(default_factory=list)  # --render: GUI event delays
    seconds: float = 0.0
    dropped: int = 0
    rss_start: float = 0.0
    rss_end: float = 0.0


def open_bench_source(spec: str, slot: LatestSlot, size: tuple[int, int] = (480, 640)):
    if spec == "synthetic":
        return SyntheticSource(slot, size)
    from cnn_viewer.core.sources.open_source import open_source

    return open_source(spec, slot)


def run_headless(engine: Engine, source_spec: str, frames: int, threads: int,
                 warmup: int = 10) -> Run:  # fmt: skip
    """Feed ``frames`` results (after ``warmup`` more) through the worker thread."""
    frame_slot: LatestSlot[Frame] = LatestSlot()
    result_slot: LatestSlot[Result] = LatestSlot()
    ready = threading.Event()
    worker = InferenceWorker(engine, frame_slot, result_slot, threads, on_result=ready.set)
    source = open_bench_source(source_spec, frame_slot)
    run = Run()
    worker.start()
    source.start()
    try:
        seen = 0
        while len(run.results) < frames:
            if not ready.wait(30):
                raise RuntimeError(f"no result for 30 s from source {source_spec!r}")
            ready.clear()
            result = result_slot.take_nowait()
            if result is None:
                continue
            seen += 1
            if seen == warmup:
                run.rss_start, dropped0, t0 = rss_mb(), frame_slot.dropped, time.perf_counter()
            elif seen > warmup:
                run.results.append(Sample.of(result))
                run.latency_ms.append((result.done_time - result.frame_time) * 1000)
        run.seconds = time.perf_counter() - t0
        run.dropped = frame_slot.dropped - dropped0
        run.rss_end = rss_mb()
    finally:
        source.stop(1.0)
        worker.stop()
        worker.join(5)
    return run


def summarize(run: Run, raw_fps: float) -> dict:
    """The benchmark's figures, with exactly the keys in KEYS."""
    done = [r.done_time for r in run.results]
    span = done[-1] - done[0] if len(done) > 1 else run.seconds
    pipeline_fps = (len(done) - 1) / span if span > 0 else 0.0
    stages = ("preprocess", "forward", "saliency", "mosaics")
    stage_ms = {
        s: round(float(np.median([r.timings_ms.get(s, 0.0) for r in run.results])), 3)
        for s in stages
    }
    if run.render_ms:
        stage_ms["render"] = round(float(np.median(run.render_ms)), 3)
    lat = np.asarray(run.latency_ms) if run.latency_ms else np.zeros(1)
    return {
        "raw_fps": round(raw_fps, 2),
        "pipeline_fps": round(pipeline_fps, 2),
        "ratio": round(pipeline_fps / raw_fps, 3) if raw_fps else 0.0,
        "stage_ms": stage_ms,
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
        "dropped": int(run.dropped),
        "rss_mb_start": round(run.rss_start, 1),
        "rss_mb_end": round(run.rss_end, 1),
    }


def make_engine(
    model: LoadedModel, layers: str | list[str], saliency: str, trace: str | None = None
) -> Engine:
    """The engine as the window builds it; ``layers``: 'default', 'all' or the names."""
    if isinstance(layers, str):
        chosen = None if layers == "default" else all_layers(model)
    else:
        chosen = list(layers)
    return Engine(
        model, layers=chosen, saliency=saliency, top_k=5, drawing=model.is_digits, trace=trace
    )
