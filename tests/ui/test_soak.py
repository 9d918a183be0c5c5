"""Soak: the full window on a looping video while memory is sampled. The default run is a
short version (seconds); the 10-minute one is marked slow (--run-slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_viewer.cli.soak import write_clip
from cnn_viewer.ui.bench.soak_run import run_soak

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("soak") / "loop.avi", frames=60, size=(320, 240))


def test_short_soak_runs_the_window_and_samples_memory(qtbot, window, clip):
    assert window.set_source(str(clip))
    summary = run_soak(window, seconds=8, warmup_s=3, sample_every=0.25)
    assert summary["results_shown"] > 20  # frames kept flowing through the whole window
    assert summary["samples"] >= 15 and summary["source"] == "video loop.avi"
    assert summary["growth_mb"] < 20, summary  # the 10-minute limit holds over seconds too


@pytest.mark.slow
@pytest.mark.timeout(960)  # 660 s of soak, start-up, the child's own 900 s bound
def test_ten_minute_soak_memory_does_not_grow(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnn_viewer.cli.soak",
            "--seconds",
            "660",
            "--warmup",
            "60",
            "--json",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    print(summary)
    assert proc.returncode == 0 and summary["ok"], summary
    assert summary["results_shown"] > 1000
