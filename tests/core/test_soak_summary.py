"""The soak's memory summary: growth is measured between medians after warm-up, so a leak
is caught and one spike or GC pause is not."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_viewer.core.bench.soak import GROWTH_LIMIT_MB, MemoryLog, rss_mb, summarize


def series(seconds: int, leak_mb_per_min: float, start: float = 500.0, spike_at=None):
    rng = np.random.default_rng(0)
    out = []
    for t in range(seconds):
        mb = start + leak_mb_per_min * t / 60 + rng.normal(0, 0.3)
        if t < 60:
            mb -= (60 - t) * 2  # warm-up: memory still climbing to its level
        if spike_at is not None and t == spike_at:
            mb += 200
        out.append((float(t), mb))
    return out


def test_flat_memory_passes_and_a_spike_is_not_growth():
    s = summarize(series(660, 0.0, spike_at=300), warmup_s=60)
    assert abs(s["growth_mb"]) < 1 and s["ok"]
    assert s["peak_above_baseline_mb"] > 150  # the spike is reported, not counted
    assert abs(s["slope_mb_per_10min"]) < 2
    assert s["measured_s"] == 599.0 and s["samples"] == 600


def test_a_leak_of_3_mb_a_minute_fails():
    s = summarize(series(660, 3.0), warmup_s=60)
    assert s["growth_mb"] == pytest.approx(3.0 * 9.5, abs=2)  # medians 30 s from each end
    assert not s["ok"] and s["growth_mb"] > GROWTH_LIMIT_MB
    assert s["slope_mb_per_10min"] == pytest.approx(30, abs=2)


def test_warm_up_is_left_out_and_short_runs_are_refused():
    s = summarize(series(200, 0.0), warmup_s=60)
    assert s["baseline_mb"] == pytest.approx(500, abs=1)  # not the climbing first minute
    with pytest.raises(ValueError, match="run longer"):
        summarize(series(62, 0.0), warmup_s=60)


def test_rss_is_this_process_and_sees_an_allocation():
    log = MemoryLog()
    log.add()
    block = np.ones(50_000_000, np.uint8)  # 50 MB, touched
    log.add()
    assert block[-1] == 1
    assert log.samples[1][1] - log.samples[0][1] > 40
    assert 10 < rss_mb() < 1e6
