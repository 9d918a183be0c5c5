"""`bench --render`: each result drawn (and painted) in the real window, offscreen."""

from viewer.core.bench import KEYS, make_engine, summarize
from viewer.ui.bench_render import run_rendered


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
