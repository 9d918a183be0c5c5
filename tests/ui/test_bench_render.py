"""`bench --render`: each result drawn (and painted) in the real window, offscreen."""

import numpy as np

from cnn_viewer.core.bench.headless import KEYS, make_engine, summarize
from cnn_viewer.ui.bench.render import run_rendered


def test_rendered_run_reports_a_render_stage(qapp, digits_model):
    engine = make_engine(digits_model, "default", "gradcam")
    engine.warm_up()
    run = run_rendered(digits_model, engine, "synthetic", frames=6, threads=1, warmup=2)
    # One sample, one latency and one render time per measured (rendered) result.
    assert len(run.results) == len(run.latency_ms) == len(run.render_ms) == 6
    assert np.isfinite(run.render_ms).all() and np.isfinite(run.latency_ms).all()
    # Each rendered result is a newer one than the last: none is drawn twice.
    done = [s.done_time for s in run.results]
    assert all(a < b for a, b in zip(done, done[1:], strict=False))
    # The engine's own stages were timed for each of them.
    for sample in run.results:
        assert {"preprocess", "forward", "saliency", "mosaics"} <= set(sample.timings_ms)
    # Latency runs from capture to the end of painting: for every result, at least the
    # engine's stages (done one after the other, after capture) and then its render time.
    for sample, lat, ms in zip(run.results, run.latency_ms, run.render_ms, strict=True):
        assert lat >= sample.timings_ms["total"] + ms - 1e-6, (lat, sample.timings_ms, ms)
    assert run.seconds > 0 and run.dropped >= 0 and run.rss_start > 0 and run.rss_end > 0
    figures = summarize(run, raw_fps=100.0)
    assert tuple(figures) == KEYS
    assert set(figures["stage_ms"]) == {"preprocess", "forward", "saliency", "mosaics", "render"}
    assert figures["stage_ms"]["render"] == round(float(np.median(run.render_ms)), 3)
    assert figures["latency_ms_p50"] <= figures["latency_ms_p95"] <= round(max(run.latency_ms), 2)
    assert figures["dropped"] == run.dropped


def test_input_probe_measures_event_delay_and_sees_a_blocked_gui(qapp):
    """The probe's figures are real: a GUI thread blocked for 120 ms shows up as a delay
    of about that much, an idle one as a small delay."""
    import time

    from PyQt6.QtCore import QEventLoop, QTimer

    from cnn_viewer.ui.bench.render import InputProbe

    probe = InputProbe(interval_ms=20)
    loop = QEventLoop()
    QTimer.singleShot(150, lambda: time.sleep(0.12))  # the GUI thread busy for 120 ms
    QTimer.singleShot(400, loop.quit)
    probe.start()
    loop.exec()
    probe.stop()
    assert len(probe.delays_ms) >= 5
    assert min(probe.delays_ms) < 20
    assert max(probe.delays_ms) >= 80
