"""`bench --render`: each result drawn (and painted) in the real window, offscreen."""

from cnn_viewer.core.bench.headless import KEYS, make_engine, summarize
from cnn_viewer.ui.bench.render import run_rendered


def test_rendered_run_reports_a_render_stage(qapp, digits_model):
    engine = make_engine(digits_model, "default", "gradcam")
    engine.warm_up()
    run = run_rendered(digits_model, engine, "synthetic", frames=6, threads=1, warmup=2)
    assert len(run.results) == 6 and len(run.render_ms) == 6
    assert all(ms > 0 for ms in run.render_ms)
    figures = summarize(run, raw_fps=100.0)
    assert tuple(figures) == KEYS and figures["stage_ms"]["render"] > 0
    # Latency runs to the end of painting, so it is at least the render time.
    assert min(run.latency_ms) >= min(run.render_ms)


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
