"""The benchmark runs the window's engine headless and reports figures that add up."""

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.core.bench.headless import (
    KEYS,
    Run,
    Sample,
    make_engine,
    measure_raw_fps,
    run_headless,
    summarize,
)
from cnn_viewer.models.devices import resolve_device


def test_headless_run_on_the_digit_cnn(digits_model, torch_threads):
    engine = make_engine(digits_model, "default", "gradcam")
    engine.warm_up()
    run = run_headless(engine, "synthetic", frames=25, threads=1, warmup=3)
    assert len(run.results) == 25 and len(run.latency_ms) == 25
    assert all(lat > 0 for lat in run.latency_ms)
    assert run.dropped == 0  # the synthetic source only makes a frame when one is taken
    figures = summarize(run, measure_raw_fps(digits_model, 1, seconds=0.3))
    assert tuple(figures) == KEYS
    assert set(figures["stage_ms"]) == {"preprocess", "forward", "saliency", "mosaics"}
    assert figures["pipeline_fps"] > 0 and figures["raw_fps"] > 0
    assert figures["ratio"] == pytest.approx(figures["pipeline_fps"] / figures["raw_fps"], 0.01)


def test_all_layers_means_every_named_module(digits_model):
    engine = make_engine(digits_model, "all", "none")
    names = [n for n, _ in digits_model.module.named_modules() if n]
    assert engine.layers == names and "flatten" in names and "dropout" in names


def test_video_source_at_its_own_rate_drops_nothing_it_can_keep_up_with(
    digits_model, tmp_path, torch_threads
):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(40):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    engine = make_engine(digits_model, "default", "none")
    run = run_headless(engine, str(path), frames=15, threads=1, warmup=2)
    assert len(run.results) == 15
    # 30 fps source, a digit CNN far faster: a frame never waits for another's forward.
    assert np.median(run.latency_ms) < 1000 / 30


def test_summarize_medians_and_percentiles():
    run = Run(
        results=[Sample(t, {"preprocess": 1.0, "forward": 2.0 * t}) for t in (1.0, 2.0, 3.0)],
        latency_ms=[10.0, 20.0, 30.0],
        render_ms=[4.0, 6.0],
        dropped=2,
        rss_start=100.0,
        rss_end=101.5,
    )
    f = summarize(run, raw_fps=2.0)
    assert f["pipeline_fps"] == 1.0 and f["ratio"] == 0.5
    assert f["stage_ms"]["forward"] == 4.0 and f["stage_ms"]["render"] == 5.0
    assert f["latency_ms_p50"] == 20.0 and f["latency_ms_p95"] == 29.0
    assert (f["dropped"], f["rss_mb_start"], f["rss_mb_end"]) == (2, 100.0, 101.5)


def test_devices_resolve_or_say_what_is_missing():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and getattr(torch.backends, "mps", None):
        expected = "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="use one of"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
