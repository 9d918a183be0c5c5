"""`view --screenshot FILE --wait SECONDS`: a source that never yields a result no longer
hangs the command; the window is saved as it is and the exit status is 1. A source that
fails for good (no such camera, an unreadable file) ends it at once, whatever --wait says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import pytest

from cnn_viewer.cli.commands import build_parser
from cnn_viewer.core.options import ModelOptions, ViewerOptions
from cnn_viewer.ui.screenshot import arm_screenshot
from cnn_viewer.ui.window.events import WindowEvents

ROOT = Path(__file__).resolve().parents[2]


# ---- the option ------------------------------------------------------------------------
def test_wait_defaults_to_20_seconds():
    args = build_parser().parse_args(["view", "--screenshot", "x.png"])
    assert args.wait == 20.0
    assert ViewerOptions(model=ModelOptions()).wait == 20.0
    assert build_parser().parse_args(["view", "--wait", "2.5"]).wait == 2.5


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_wait_must_be_a_positive_number(capsys, value):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["view", "--screenshot", "x.png", f"--wait={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --wait" in err and "number of seconds" in err, err


# ---- the timer, against a stand-in window whose results we hand out ---------------------
class _App:
    def __init__(self) -> None:
        self.codes: list[int] = []

    def exit(self, code: int) -> None:
        self.codes.append(code)


def _fake_window(qtbot, tmp_path):
    from PyQt6.QtWidgets import QLabel, QMainWindow

    class Window(QMainWindow):
        source = None

        def __init__(self) -> None:
            super().__init__()
            self.state = SimpleNamespace(source="pad")
            self.events = WindowEvents()
            self.status_text = QLabel()  # the window's status line (empty here)
            self.shown = 0
            self.saved: list[str] = []

        def request_frame(self) -> None:
            pass

        def save_screenshot(self, path) -> bool:
            self.saved.append(str(path))
            Path(path).write_bytes(b"png")
            return True

        def show_result(self) -> None:
            self.shown += 1
            self.events.rendered.emit(None)

    win = Window()
    qtbot.addWidget(win)
    return win


def _options(tmp_path, frames: int, wait: float) -> ViewerOptions:
    return ViewerOptions(
        model=ModelOptions(), screenshot=str(tmp_path / "s.png"), frames=frames, wait=wait
    )


def test_a_slow_stream_is_not_cut_off(qtbot, tmp_path, capsys):
    """Results 0.2 s apart, 5 of them: 1 s in all, longer than the 0.6 s wait, which
    restarts with each result."""
    from PyQt6.QtCore import QTimer

    app, win = _App(), _fake_window(qtbot, tmp_path)
    arm_screenshot(app, win, _options(tmp_path, frames=5, wait=0.6))
    ticker = QTimer(win)
    ticker.timeout.connect(win.show_result)
    ticker.start(200)
    qtbot.waitUntil(lambda: bool(app.codes), timeout=5000)
    ticker.stop()
    qtbot.wait(900)  # past the wait: the timer was stopped with the save
    assert app.codes == [0]
    assert win.saved == [str(tmp_path / "s.png")]
    out = capsys.readouterr()
    assert f"saved {tmp_path / 's.png'}" in out.out
    assert out.err == ""


def test_no_result_saves_the_window_and_fails(qtbot, tmp_path, capsys):
    app, win = _App(), _fake_window(qtbot, tmp_path)
    win.statusBar().showMessage("the source is resting")
    arm_screenshot(app, win, _options(tmp_path, frames=3, wait=0.3))
    win.show_result()  # one result, then silence
    qtbot.waitUntil(lambda: bool(app.codes), timeout=5000)
    win.show_result()  # too late: nothing more happens
    qtbot.wait(500)
    assert app.codes == [1]
    assert win.saved == [str(tmp_path / "s.png")]
    assert len(win.events.rendered) == 0  # disconnected
    err = capsys.readouterr().err
    assert "no result from source 'pad' for 0.3 s (the source is resting)" in err, err
    assert "saved the window as it is" in err and "--wait" in err, err


# ---- the real command --------------------------------------------------------------------
def run_screenshot(tmp_path, source: str) -> tuple[subprocess.CompletedProcess, Path]:
    """The real command with a --wait far longer than the test's own time bound: a source
    that fails for good must end the run at once, not after the wait."""
    out = tmp_path / "s.png"
    env = os.environ.copy()  # keeps the private $CNN_VIEWER_SETTINGS of the autouse fixture
    env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [sys.executable, "main.py", "view", "--source", source]
    cmd += ["--screenshot", str(out), "--wait", "600"]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return run, out


def check_saved_as_it_is(run, out) -> None:
    assert run.returncode == 1, (run.stdout, run.stderr)
    image = cv2.imread(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image is not None and image.shape[0] > 0 and image.shape[1] > 0
    assert f"saved the window as it is to {out}" in run.stderr
    assert "no result from source" not in run.stderr  # it did not wait for --wait
    assert "saved" not in run.stdout
    assert "propagateSizeHints" not in run.stderr  # no Qt plugin chatter


@pytest.mark.skipif(Path("/dev/video7").exists(), reason="this machine has a camera 7")
def test_missing_camera_gives_up_at_once_with_a_saved_window(tmp_path):
    run, out = run_screenshot(tmp_path, "camera:7")
    check_saved_as_it_is(run, out)
    assert "cnn-viewer: error: source 'camera:7' failed: no camera found at index 7" in run.stderr


def test_unreadable_video_gives_up_at_once_with_a_saved_window(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(bytes(range(256)) * 40)  # named .mp4, but no video inside
    run, out = run_screenshot(tmp_path, str(video))
    check_saved_as_it_is(run, out)
    assert f"source '{video}' failed: cannot open video {video}" in run.stderr, run.stderr
