"""The first screen shows the idea: an example digit on the pad with the maps and the
answer live, and a hint that says how to draw your own (issue 19 item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from tests.pad_answer import wait_pad_answer

ROOT = Path(__file__).resolve().parents[2]


def test_first_input_is_an_example_digit_with_live_maps(qtbot, window):
    assert window.pad.image().max() == 0  # the window alone opens on a blank pad
    window.show_first_input()
    assert window.pad.image().max() == 255
    wait_pad_answer(qtbot, window)
    qtbot.waitUntil(lambda: window.prediction.rows == window.last_result.top)
    assert window.prediction.rows[0][1] == "3"
    for name, row in window.layers_panel.rows.items():
        assert row.view_data is not None, f"{name} has no map on the first screen"
    hint = window.source_panel.pad_hint
    assert hint.isVisible() and "left button draws" in hint.text()
    # E goes on from the example, not back to 0
    window.draw_example()
    qtbot.waitUntil(lambda: bool(window.prediction.rows) and window.prediction.rows[0][1] == "4")


def test_draw_on_the_command_line_wins_over_the_example(qtbot, window):
    window.show_first_input(7)
    qtbot.waitUntil(lambda: bool(window.prediction.rows) and window.prediction.rows[0][1] == "7")


def test_screenshot_without_draw_shows_a_digit_not_a_blank_pad(tmp_path):
    shot = tmp_path / "first.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", str(shot), "--frames", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    image = cv2.imread(str(shot))
    assert image is not None
    white = np.all(image == 255, axis=2).sum()  # the pad's ink; nothing else is pure white
    assert white > 2000, f"only {white} ink pixels: the pad looks blank"


def test_a_key_right_after_the_window_appears_is_not_dropped(qtbot, digits_model):
    """Before the system makes the new window active its shortcuts are asleep; the key
    still does what it names."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.features import build_window

    make_app()
    win = build_window(digits_model, threads=1)
    qtbot.addWidget(win)
    try:
        win.show()
        QTest.keyClick(win, Qt.Key.Key_E)  # no event processed yet: not active
        assert win.pad.image().max() == 255, "the E was dropped"
        QTest.keyClick(win, Qt.Key.Key_Space)
        assert win.state.frozen
    finally:
        win.shutdown()
        win.worker.join(5.0)


def test_panels_say_loading_until_the_first_result(qtbot, window):
    from cnn_viewer.ui.window.source_control import LOADING

    assert not window.answered
    window.show_first_input()
    assert window.prediction.message == LOADING
    waiting = window.layers_panel.waiting
    assert waiting.isVisible() and waiting.text() == LOADING
    qtbot.waitUntil(lambda: window.answered and bool(window.prediction.rows), timeout=5000)
    assert not waiting.isVisible()
