"""Nothing stale: after Clear no panel keeps the old input's title or timings (issue 19
item 8)."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from tests.pad_answer import wait_pad_answer


def test_clear_takes_away_the_old_title_and_timings(qtbot, window):
    window.pad.draw_example(7)
    wait_pad_answer(qtbot, window)
    window._update_status()
    assert window.input_view.cam_title.text() == "Grad-CAM for '7'"
    assert window.timing_label.text().startswith("per frame")
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.last_result.empty, timeout=5000)
    window._update_status()
    assert "'7'" not in window.input_view.cam_title.text()
    assert "28 x 28" not in window.input_view.input_title.text()
    assert window.timing_label.text() == ""
    assert window.prediction.message == "draw a digit"
