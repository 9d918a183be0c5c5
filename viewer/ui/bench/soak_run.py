"""Drive the full window for a long run and sample memory (see cnn_viewer.core.bench.soak).

Runs in the GUI thread: a nested event loop for ``seconds``, a timer sampling RSS."""

from __future__ import annotations

import time
from collections.abc import Callable

from PyQt6.QtCore import QEventLoop, QTimer

from cnn_viewer.core.bench.soak import MemoryLog, summarize


def run_soak(
    window,
    seconds: float,
    warmup_s: float,
    sample_every: float = 1.0,
    on_sample: Callable[[float, float, int], None] | None = None,
) -> dict:
    """Let ``window`` (shown, its source started) run for ``seconds``; return the memory
    summary plus results shown and their rate. ``on_sample(t, rss_mb, shown)`` after
    each sample (GUI thread)."""
    log = MemoryLog()
    shown0 = window.shown
    t_start = time.perf_counter()

    def sample() -> None:
        log.add()
        if on_sample is not None:
            t, mb = log.samples[-1]
            on_sample(t, mb, window.shown - shown0)

    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(max(10, int(sample_every * 1000)))
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    sample()
    loop.exec()
    timer.stop()
    sample()
    elapsed = time.perf_counter() - t_start
    summary = summarize(log.samples, warmup_s)
    shown = window.shown - shown0
    summary.update(
        seconds=round(elapsed, 1),
        results_shown=shown,
        results_per_s=round(shown / elapsed, 1) if elapsed else 0.0,
        dropped_frames=window.frames.dropped,
        source=window.source.name if window.source is not None else "pad",
        model=window.state.model.name,
    )
    return summary
