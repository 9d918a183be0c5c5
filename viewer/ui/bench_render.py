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
    from PyQt6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer

    from viewer.ui.app import make_app
    from viewer.ui.main_window import MainWindow

    app = make_app()  # keep a reference: an unreferenced QApplication is destroyed
    win = MainWindow(model, threads=threads)
    win.resize(1280, 800)
    win.show()
    run = Run()
    state = {"seen": 0, "dropped0": 0, "t0": 0.0}

    def after(result) -> None:
        # Qt paints later, in the event loop; paint what changed now (the window's pending
        # update request, as the loop would) so the render stage includes the painting.
        t0 = time.perf_counter()
        QCoreApplication.sendPostedEvents(win, QEvent.Type.UpdateRequest.value)
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
    if source_spec == "pad":
        win.attach_source(None, "pad", "pad")
        pen = _PenStrokes(win)
        pen.timer.start(33)  # mouse moves at 30 Hz, as a hand drawing
    else:
        source = open_bench_source(source_spec, win.frames)
        kind = "video" if source_spec != "synthetic" else "camera"
        win.attach_source(source, source_spec, kind)
    win.engine = engine  # the benchmark's engine (layers, saliency), set after attach
    win.worker.set_engine(engine)
    win.layers_panel.set_layers(engine.layers)
    # A local loop, not app.exec(): quitting the application's loop would leave Qt
    # closing down for anything that runs after (the window, or other tests).
    loop.exec()
    if source_spec == "pad":
        pen.timer.stop()
    app.processEvents()
    win.shutdown()
    win.close()
    return run


class _PenStrokes:
    """Draws on the pad like a hand: one short stroke segment per timer tick, wiping
    the pad every few dozen, so every tick is a real stroke event through the window."""

    def __init__(self, win) -> None:
        import math

        from PyQt6.QtCore import QPoint, QTimer

        self.win, self.i = win, 0
        self.points = [
            QPoint(int(140 + 80 * math.cos(t / 6)), int(140 + 100 * math.sin(t / 9)))
            for t in range(240)
        ]
        self.timer = QTimer()
        self.timer.timeout.connect(self.step)

    def step(self) -> None:
        pad = self.win.pad
        if self.i % 40 == 0:
            pad.clear()
        a, b = self.points[self.i % 240], self.points[(self.i + 1) % 240]
        pad._button = pad._button.LeftButton
        pad._stroke(a, b)
        self.i += 1
