"""Camera faults through the capture thread's injectable opener: reads that fail, hang or
return the same frame forever, and a camera that disappears and comes back. Each fault
must show in status() within 2 s and clear without a restart (the same source object)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.capture import CameraSource
from tests.fake_camera import FakeCamera

REPORT_S = 2.0  # a fault must show in the status within this


def seconds_until(predicate, timeout: float = 5.0) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():
            return time.perf_counter() - t0
        time.sleep(0.01)
    return None


@pytest.fixture
def camera():
    fake = FakeCamera()
    slot: LatestSlot[Frame] = LatestSlot()
    cam = CameraSource(0, slot, opener=fake.opener, retry_interval=0.2, reopen_after=5)
    cam.start()
    assert seconds_until(lambda: cam.status().state == "running", REPORT_S) is not None
    yield fake, cam, slot
    fake.set_mode("ok")  # let a hung read return
    assert cam.stop(1.0)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("fail", "sent no frame"),
        ("hang", "sent no frame"),
        ("same", "the very same picture"),
        ("gone", "was lost"),
    ],
)
def test_each_fault_is_reported_within_2_s_and_recovers(camera, fault, words):
    fake, cam, slot = camera
    frames_before = cam.status().frames
    fake.set_mode(fault)
    reported = seconds_until(lambda: cam.status().state == "stalled")
    assert reported is not None and reported < REPORT_S, (fault, reported)
    status = cam.status()
    assert words in status.message and "camera 0" in status.message, status.message
    time.sleep(0.3)
    assert cam.status().state == "stalled"  # stays reported while the fault lasts
    opens = fake.opens
    fake.set_mode("ok")
    recovered = seconds_until(lambda: cam.status().state == "running")
    assert recovered is not None and recovered < REPORT_S, (fault, recovered)
    assert cam.status().message == ""
    assert seconds_until(lambda: cam.status().frames > frames_before + 5, 2) is not None
    frame = slot.take(timeout=1)
    assert frame is not None and frame.image.shape == (48, 64, 3)
    if fault == "gone":
        assert fake.opens > opens or opens > 1  # it was reopened, not restarted by hand


def test_the_same_source_survives_every_fault_in_a_row(camera):
    fake, cam, _ = camera
    thread = cam._thread
    for fault in ("same", "fail", "hang", "gone", "same", "ok"):
        fake.set_mode(fault)
        want = "running" if fault == "ok" else "stalled"
        assert seconds_until(lambda w=want: cam.status().state == w, REPORT_S) is not None
        if fault != "ok":
            fake.set_mode("ok")
            assert seconds_until(lambda: cam.status().state == "running", REPORT_S) is not None
    assert cam._thread is thread and thread.is_alive()  # one thread all along


def test_a_still_video_is_not_called_frozen(tmp_path):
    """Only live sources are checked: a video of a still scene repeats frames legitimately."""
    import cv2

    from cnn_viewer.core.sources.video import VideoFileSource

    path = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for _ in range(60):
        writer.write(np.full((48, 64, 3), 99, np.uint8))
    writer.release()
    src = VideoFileSource(path, LatestSlot())
    src.start()
    try:
        time.sleep(1.6)
        assert src.status().state == "running"
    finally:
        assert src.stop(1.0)
