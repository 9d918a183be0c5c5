"""`cnn-viewer bench --render`: the engine's results drawn into the real window."""

from __future__ import annotations

import time

from models.registry import LoadedModel
from viewer.core.bench import Run, Sample, open_bench_source, rss_mb
from viewer.core.engine import Engine


def run_rendered(model: LoadedModel, engine: Engine, source_spec: str, frames: int,
                 threads: int, warmup: int = 10) -> Run:  # fmt: skip
    """Like run_headless, but each result is rendered by the window (offscreen works);
    latency runs to the end of rendering and the render time is a stage of its own."""
    from PyQt6.QtCore import QEventLoop, QTimer

    from viewer.ui.app import make_app
    from viewer.ui.main_window import MainWindow

    app = make_app()  # keep a reference: an unreferenced QApplication is destroyed
    win = MainWindow(model, threads=threads)
    win.resize(1280, 800)
    win.show()
    run = Run()
    state = {"seen": 0, "dropped0": 0, "t0": 0.0}

    def after(result) -> None:
        # Qt paints later, in the event loop; paint now so the render stage includes it.
        t0 = time.perf_counter()
        win.repaint()
        paint_ms = (time.perf_counter() - t0) * 1000
        state["seen"] += 1
        if state["seen"] == warmup:
            run.rss_start, state["dropped0"] = rss_mb(), win.frames.dropped
            state["t0"] = time.perf_counter()
        elif state["seen"] > warmup and len(run.results) < frames:
            run.results.append(Sample.of(result))
            run.latency_ms.append((time.perf_counter() - result.frame_time) * 1000)
            run.render_ms.append(win.render_ms[-1] + paint_ms)
            if len(run.results) == frames:
                run.seconds = time.perf_counter() - state["t0"]
                run.dropped = win.frames.dropped - state["dropped0"]
                run.rss_end = rss_mb()
                QTimer.singleShot(0, loop.quit)

    loop = QEventLoop()
    win.after_render = after
    source = open_bench_source(source_spec, win.frames)
    win.attach_source(source, source_spec, "video" if source_spec != "synthetic" else "camera")
    win.engine = engine  # the benchmark's engine (layers, saliency), set after attach
    win.worker.set_engine(engine)
    win.layers_panel.set_layers(engine.layers)
    # A local loop, not app.exec(): quitting the application's loop would leave Qt
    # closing down for anything that runs after (the window, or other tests).
    loop.exec()
    app.processEvents()
    win.shutdown()
    win.close()
    return run
