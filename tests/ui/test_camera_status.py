"""Camera faults as the user sees them: the window's own status timer shows each fault in
the status bar and the source caption within 2 s, and the picture comes back on its own."""

from __future__ import annotations

import time

import pytest

from cnn_viewer.core.sources.capture import CameraSource
from tests.fake_camera import FakeCamera

REPORT_MS = 2000


@pytest.mark.parametrize(
    ("fault", "words"),
    [("hang", "sent no frame"), ("same", "the very same picture"), ("gone", "was lost")],
)
def test_window_shows_camera_faults_and_recovers(qtbot, window, fault, words):
    fake = FakeCamera(shape=(60, 80, 3))
    cam = CameraSource(0, window.frames, opener=fake.opener, retry_interval=0.2, reopen_after=5)
    window.attach_source(cam, "camera:0", "camera")
    try:
        qtbot.waitUntil(lambda: "source: camera 0  |" in window.status_text.text(), timeout=3000)
        qtbot.waitUntil(lambda: window.last_result is not None, timeout=5000)
        fake.set_mode(fault)
        t0 = time.perf_counter()
        qtbot.waitUntil(lambda: "camera 0 (stalled)" in window.status_text.text(), timeout=3000)
        assert time.perf_counter() - t0 < REPORT_MS / 1000
        caption = window.source_panel.frame_view.caption.text()
        assert words in caption, caption
        shown = window.shown
        fake.set_mode("ok")
        t0 = time.perf_counter()
        qtbot.waitUntil(lambda: "source: camera 0  |" in window.status_text.text(), timeout=3000)
        assert time.perf_counter() - t0 < REPORT_MS / 1000
        qtbot.waitUntil(lambda: window.shown > shown + 3, timeout=3000)  # frames flow again
        assert window.source is cam  # recovered in place, not reopened by hand
    finally:
        fake.set_mode("ok")
        window.set_source("pad")
