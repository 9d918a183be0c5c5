"""`cnn-viewer bench --render`: the engine's results drawn into the real window."""

from __future__ import annotations

import time

from cnn_viewer.core.bench.headless import Run, Sample, open_bench_source, rss_mb
from cnn_viewer.core.engine.engine import Engine
from cnn_viewer.models.zoo.loaded import LoadedModel


def run_rendered(model: LoadedModel, engine: Engine, source_spec: str, frames: int,
                 threads: int, warmup: int = 10) -> Run:  # fmt: skip
    """Like run_headless, but each result is rendered by the window (offscreen works);
    latency runs to the end of rendering and the render time is a stage of its own."""
    from PyQt6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer

    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.features import build_window

    app = make_app()  # keep a reference: an unreferenced QApplication is destroyed
    win = build_window(model, threads=threads)
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
    probe = InputProbe()
    win.events.rendered.connect(after)
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
    probe.start()
    loop.exec()
    probe.stop()
    run.input_delay_ms = probe.delays_ms[5:]  # the first ones overlap start-up
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


class InputProbe:
    """Measures how long the GUI thread takes to handle an input event. Like the
    window system, a thread of its own posts an event every ``interval_ms``, whatever
    the GUI thread is doing, and the time until the event loop delivers it is recorded
    (a key press or a mouse move waits as long)."""

    def __init__(self, interval_ms: int = 50) -> None:
        import threading

        from PyQt6.QtCore import QEvent, QObject

        probe = self
        kind = QEvent.Type(QEvent.registerEventType())

        class _Target(QObject):
            def event(self, event) -> bool:
                if event.type() == kind:
                    probe.delays_ms.append((time.perf_counter() - event.posted) * 1000)
                    return True
                return super().event(event)

        self.kind = kind
        self.interval = interval_ms / 1000
        self.delays_ms: list[float] = []
        self.target = _Target()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._post_loop, name="input-probe", daemon=True)

    def _post_loop(self) -> None:
        from PyQt6.QtCore import QCoreApplication, QEvent

        while not self._stop.wait(self.interval):
            event = QEvent(self.kind)
            event.posted = time.perf_counter()
            QCoreApplication.postEvent(self.target, event)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
