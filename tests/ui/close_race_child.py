"""Child process for the close-race tests: the real viewer (`cnn-viewer view`) on a video, closed
by its window's close() at a chosen moment of a chosen phase.

    python tests/ui/close_race_child.py PHASE DELAY_MS VIDEO [MNIST_FOLDER]

PHASE: "frame" (streaming), "sigint" / "sigterm" (that signal sent to the process),
"load" (a model loading in the background), "download" (pretrained
weights streaming from a slow local HTTP server), "train" (the training studio running).
After the command returns, worker threads get until 2 s after the close to end; then one
JSON line: {"closed_at": wall time of the close, "code": its exit status, "alive":
names of threads still running, "phase_reached": bool}. Exit status: the command's, or 3 if
a thread was left.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable()
faulthandler.dump_traceback_later(30, exit=True)  # a hang shows where, and ends the child

CLOSE_BUDGET_S = 2.0


def slow_weights_server() -> str:
    """A local HTTP server sending 64 MB in small slow chunks; its URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            try:
                for _ in range(4096):
                    self.wfile.write(b"\0" * (16 << 10))
                    time.sleep(0.005)
            except OSError:
                pass  # the client went away: what a cancel does

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="test-http", daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/resnet18-fake0000.pth"


def main() -> int:
    phase, delay_ms, video = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mnist = sys.argv[4] if len(sys.argv) > 4 else None
    from PyQt6.QtCore import QTimer

    from cnn_viewer.cli.commands import main as cli_main
    from cnn_viewer.core.options import ModelOptions
    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.window.main_window import MainWindow

    app = make_app()
    state = {"closed_at": None, "reached": False}
    if phase == "download":
        import cnn_viewer.models.zoo.weights_download as wd

        url = slow_weights_server()
        wd.weights_url = lambda name, weights: url if weights == "default" else None
        os.environ["TORCH_HOME"] = str(Path(video).parent / "torch-home")  # an empty cache

    def window() -> MainWindow:
        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

    def close() -> None:
        state["closed_at"] = time.time()
        window().close()

    def begin() -> None:
        win = window()
        if phase == "load":
            win.load_model(ModelOptions(model="resnet18", weights="none"))
            state["reached"] = win.loader.busy
        elif phase == "download":
            win.load_model(ModelOptions(model="resnet18", weights="default"))
            state["reached"] = win.loader.busy
        elif phase == "train":
            panel = win.features.train
            if mnist:
                panel.data.set_kind("mnist")
                panel.data.path_edit.setText(mnist)
                panel.epochs.setValue(50)
                panel.start()
                state["reached"] = panel.worker.running
        else:
            state["reached"] = win.source is not None and win.source.running
        if phase in ("sigint", "sigterm"):
            sig = signal.SIGINT if phase == "sigint" else signal.SIGTERM

            def send() -> None:
                time.sleep(delay_ms / 1000)
                state["closed_at"] = time.time()
                os.kill(os.getpid(), sig)  # as Ctrl+C in the terminal, or `kill`

            threading.Thread(target=send, name="test-signal", daemon=True).start()
            return
        QTimer.singleShot(delay_ms, close)

    QTimer.singleShot(300, begin)  # once the window runs and the video streams
    code = cli_main(["view", "--source", video, "--threads", "1"])  # the real command
    returned_at = time.time()
    if state["closed_at"] is None:
        print(json.dumps({"error": "the window closed before the test closed it"}))
        return 4
    deadline = state["closed_at"] + CLOSE_BUDGET_S - 0.2
    for t in threading.enumerate():
        if t is not threading.main_thread() and t.name != "test-http":
            t.join(max(0.0, deadline - time.time()))
    alive = [
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and t.is_alive()
        and not t.name.startswith("test-")
        and "process_request_thread" not in t.name  # the test server's request threads
    ]
    print(json.dumps({"closed_at": state["closed_at"], "code": code, "alive": alive,
                      "phase_reached": state["reached"], "returned_at": returned_at,
                      "reported_at": time.time()}), flush=True)  # fmt: skip
    faulthandler.cancel_dump_traceback_later()
    return code if not alive else 3


if __name__ == "__main__":
    sys.exit(main())
