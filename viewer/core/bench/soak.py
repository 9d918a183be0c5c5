"""Soak measurements, Qt-free: sample the process's resident memory over a long run and
say whether it grows. The window-driving part is cnn_viewer.ui.bench.soak_run."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

GROWTH_LIMIT_MB = 20.0  # after warm-up, over the run
WINDOW_S = 30.0  # baseline and end level: the median of this many seconds of samples


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux: /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak / 1e3  # bytes vs KiB


@dataclass
class MemoryLog:
    """(seconds since start, RSS MB) samples; ``add`` from one thread (the caller's)."""

    start: float = field(default_factory=time.perf_counter)
    samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, mb: float | None = None) -> None:
        self.samples.append((time.perf_counter() - self.start, rss_mb() if mb is None else mb))


def summarize(samples: list[tuple[float, float]], warmup_s: float) -> dict:
    """Growth after warm-up: the median RSS of the last WINDOW_S seconds minus the median of
    the first WINDOW_S seconds after ``warmup_s`` (medians: one GC pause or a transient
    buffer does not count as growth). Also the peak above that baseline and a least-squares
    slope in MB per 10 minutes. Shorter runs use a third of the measured span as window."""
    measured = [(t, mb) for t, mb in samples if t >= warmup_s]
    if len(measured) < 4:
        raise ValueError(
            f"only {len(measured)} samples after the {warmup_s:.0f} s warm-up; run longer"
        )
    t0, t1 = measured[0][0], measured[-1][0]
    span = t1 - t0
    window = min(WINDOW_S, span / 3)
    first = [mb for t, mb in measured if t <= t0 + window] or [measured[0][1]]
    last = [mb for t, mb in measured if t >= t1 - window] or [measured[-1][1]]
    base, end = statistics.median(first), statistics.median(last)
    ts = [t for t, _ in measured]
    mbs = [mb for _, mb in measured]
    mean_t, mean_mb = statistics.fmean(ts), statistics.fmean(mbs)
    var_t = sum((t - mean_t) ** 2 for t in ts)
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in measured) / var_t if var_t else 0.0
    growth = end - base
    return {
        "warmup_s": warmup_s,
        "measured_s": round(span, 1),
        "samples": len(measured),
        "baseline_mb": round(base, 1),
        "end_mb": round(end, 1),
        "growth_mb": round(growth, 1),
        "peak_above_baseline_mb": round(max(mbs) - base, 1),
        "slope_mb_per_10min": round(slope * 600, 1),
        "limit_mb": GROWTH_LIMIT_MB,
        "ok": growth <= GROWTH_LIMIT_MB,
    }
