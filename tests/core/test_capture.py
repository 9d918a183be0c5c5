"""Capture sources: a real cv2.VideoCapture reading videos this test writes, and fault
injection (a reader whose read blocks or fails) for stalls, hung reads and lost cameras."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.capture import CameraSource, list_cameras
from cnn_viewer.core.sources.open_source import open_source
from cnn_viewer.core.sources.video import DEFAULT_FPS, VideoFileSource, video_fps

H, W = 48, 64
FPS = 30.0


def encode_frame(i: int) -> np.ndarray:
    """BGR frame carrying ``i`` (0..255): left half 8 + 16 * (i // 16), right half
    8 + 16 * (i % 16); the top 8 rows pure red, to check the BGR -> RGB conversion."""
    f = np.zeros((H, W, 3), np.uint8)
    f[:, : W // 2] = 8 + 16 * (i // 16)
    f[:, W // 2 :] = 8 + 16 * (i % 16)
    f[:8] = (0, 0, 255)
    return f


def decode_frame(rgb: np.ndarray) -> int:
    """The index ``encode_frame`` put into a (decoded, RGB) frame."""
    hi = round((float(rgb[20:44, 4:28].mean()) - 8) / 16)
    lo = round((float(rgb[20:44, 36:60].mean()) - 8) / 16)
    return hi * 16 + lo


def write_video(path: Path, frames: int, fps: float = FPS) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for i in range(frames):
        writer.write(encode_frame(i))
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {n: write_video(folder / f"clip{n}.avi", n) for n in (10, 30, 60)}


def wait_for(predicate, timeout: float, poll: float = 0.02) -> float | None:
    """Seconds until ``predicate()`` held, or None if it did not within ``timeout``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():
            return time.perf_counter() - t0
        time.sleep(poll)
    return None


class Collector:
    """A consumer thread taking frames from a slot, every ``period`` s (0: at once)."""

    def __init__(self, slot: LatestSlot[Frame], period: float = 0.0) -> None:
        self.slot, self.period = slot, period
        self.frames: list[tuple[float, Frame]] = []  # (take time, frame)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.period:
                self._stop.wait(self.period)
            frame = self.slot.take(timeout=0.05)
            if frame is not None:
                self.frames.append((time.perf_counter(), frame))

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.slot.wake()
        self._thread.join(2)

    @property
    def indices(self) -> list[int]:
        return [decode_frame(f.image) for _, f in self.frames]


def test_encoding_survives_mjpg(videos):
    cap = cv2.VideoCapture(str(videos[60]))
    got = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        got.append(decode_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    assert got == list(range(60))


def test_video_frames_arrive_in_order_as_rgb_at_the_file_rate(videos):
    slot: LatestSlot[Frame] = LatestSlot()
    src = open_source(str(videos[30]), slot, loop=False)
    assert isinstance(src, VideoFileSource)
    assert src.name == "video clip30.avi" and src.fps == pytest.approx(FPS)
    with Collector(slot) as col:
        src.start()
        assert wait_for(lambda: src.status().frames >= 15, 3) is not None
        mid = src.status()
        assert wait_for(lambda: src.status().state == "ended", 5) is not None
        time.sleep(0.1)
    assert src.stop(1.0)
    idx = col.indices
    assert idx[0] == 0 and idx[-1] == 29
    assert all(b > a for a, b in zip(idx, idx[1:], strict=False)), idx
    frames = [f for _, f in col.frames]
    first = frames[0].image
    assert first.shape == (H, W, 3) and first.dtype == np.uint8
    red = first[:4].reshape(-1, 3).mean(axis=0)
    assert red[0] > 200 and red[2] < 60, f"top stripe should be red in RGB, got {red}"
    assert all(f.source == "video clip30.avi" for f in frames)
    assert len({f.id for f in frames}) == len(frames)
    stamps = [f.timestamp for f in frames]
    assert stamps == sorted(stamps)
    # Paced at 30 fps: 30 frames span about 29/30 s (a free-running reader takes ~10 ms).
    assert 0.6 < stamps[-1] - stamps[0] < 3.0
    st = src.status()
    assert st.frames == 30 and st.state == "ended" and st.message == "video clip30.avi ended"
    assert mid.state == "running" and 10 < mid.fps < 60, mid  # measured rate, about 30


def test_slow_consumer_sees_drops_not_lag(videos):
    slot: LatestSlot[Frame] = LatestSlot()
    src = VideoFileSource(videos[60], slot, loop=False)
    with Collector(slot, period=0.1) as col:
        src.start()
        assert wait_for(lambda: len(col.frames) >= 14, 5) is not None
        src.pause()
        delivered = src.status().frames
        newest = slot.peek()
    src.stop()
    idx = col.indices
    assert slot.dropped > 0 and src.status().dropped > 0
    assert max(b - a for a, b in zip(idx, idx[1:], strict=False)) >= 2, idx
    assert all(b > a for a, b in zip(idx, idx[1:], strict=False)), idx
    # Never more than one frame waiting: the newest delivered frame is the one in the slot
    # (or the one just taken), so the last take is at most one frame behind delivery.
    last = newest if newest is not None else col.frames[-1][1]
    assert decode_frame(last.image) == delivered - 1
    # Not lag: each frame taken is close to where the video is by wall time.
    t0 = col.frames[0][1].timestamp - idx[0] / FPS
    for take_time, frame in col.frames[3:]:
        expected = (take_time - t0) * FPS
        assert decode_frame(frame.image) >= expected - 15, (decode_frame(frame.image), expected)


def test_pause_holds_step_delivers_one_resume_goes_on(videos):
    slot: LatestSlot[Frame] = LatestSlot()
    src = VideoFileSource(videos[60], slot)
    src.start()
    try:
        assert wait_for(lambda: src.status().frames >= 3, 3) is not None
        src.pause()
        paused_at = src.status().frames
        last = slot.take_nowait()
        assert last is not None
        time.sleep(0.3)
        st = src.status()
        assert st.state == "paused" and st.frames == paused_at
        assert slot.peek() is None

        src.step()
        stepped = slot.take(timeout=1.0)
        assert stepped is not None
        assert decode_frame(stepped.image) == decode_frame(last.image) + 1
        time.sleep(0.2)
        assert src.status().frames == paused_at + 1 and slot.peek() is None

        assert src.resend()
        again = slot.take_nowait()
        assert again is not None and again.id != stepped.id
        assert np.array_equal(again.image, stepped.image)

        src.resume()
        assert wait_for(lambda: src.status().frames >= paused_at + 5, 2) is not None
        assert src.status().state == "running"
        following = slot.take(timeout=1.0)
        assert decode_frame(following.image) > decode_frame(stepped.image)
    finally:
        assert src.stop(1.0)


def test_video_loops_at_the_end_and_ends_when_loop_is_off(videos):
    slot: LatestSlot[Frame] = LatestSlot()
    src = VideoFileSource(videos[10], slot)  # loop on by default: 10 frames, 1/3 s
    with Collector(slot) as col:
        src.start()
        assert wait_for(lambda: src.status().frames >= 25, 4) is not None
    assert src.stop(1.0)
    idx = col.indices
    wraps = [(a, b) for a, b in zip(idx, idx[1:], strict=False) if b < a]
    assert wraps, idx
    assert all(a >= 7 and b <= 2 for a, b in wraps), wraps
    assert src.status().state != "ended"

    slot2: LatestSlot[Frame] = LatestSlot()
    once = VideoFileSource(videos[10], slot2, loop=False)
    once.start()
    try:
        assert wait_for(lambda: once.status().state == "ended", 3) is not None
        assert once.status().frames == 10
        assert decode_frame(slot2.take_nowait().image) == 9
        once.resume()  # plays again from the start
        first = slot2.take(timeout=1.0)
        assert first is not None and decode_frame(first.image) == 0
    finally:
        assert once.stop(1.0)


def test_video_that_cannot_be_opened_raises_naming_it(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    with pytest.raises(ValueError, match="broken.mp4"):
        open_source(str(bad), LatestSlot())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (25.0, 25.0),
        (59.94, 59.94),
        (0.0, DEFAULT_FPS),
        (float("nan"), DEFAULT_FPS),
        (float("inf"), DEFAULT_FPS),
        (-5.0, DEFAULT_FPS),
        (90000.0, DEFAULT_FPS),
        (None, DEFAULT_FPS),
    ],
)
def test_video_fps_falls_back_when_missing_or_insane(value, expected):
    assert video_fps(value) == pytest.approx(expected)


class FaultyReader:
    """The allowed fake: a capture whose read returns a frame, fails, or blocks on an Event."""

    def __init__(self) -> None:
        self.mode = "ok"  # "ok" | "fail" | "block"
        self.unblock = threading.Event()
        self.blocked = threading.Event()
        self.released = threading.Event()
        self.opens = 0
        self.open_ok = True
        self.n = 0

    def opener(self, target):
        self.opens += 1
        self.released.clear()
        return self

    def isOpened(self) -> bool:
        return self.open_ok

    def read(self):
        if self.mode == "block":
            self.blocked.set()
            self.unblock.wait()
        time.sleep(0.01)
        if self.mode == "fail":
            return False, None
        self.n += 1
        return True, encode_frame(self.n % 256)

    def get(self, prop):
        return 0.0

    def set(self, prop, value):
        return False

    def release(self) -> None:
        self.released.set()


def test_hung_read_is_reported_stalled_and_stop_still_returns():
    reader = FaultyReader()
    slot: LatestSlot[Frame] = LatestSlot()
    cam = CameraSource(3, slot, opener=reader.opener)
    cam.start()
    assert wait_for(lambda: cam.status().state == "running", 2) is not None
    reader.mode = "block"
    assert reader.blocked.wait(2)
    t_block = time.perf_counter()
    assert wait_for(lambda: cam.status().state == "stalled", 2.5) is not None
    assert time.perf_counter() - t_block < 2.0
    assert "camera 3" in cam.status().message

    t0 = time.perf_counter()
    ended = cam.stop(timeout=1.0)
    assert time.perf_counter() - t0 < 1.0 + 0.2
    assert not ended  # the read is still hung; the daemon thread is left to finish it
    assert not reader.released.is_set()
    reader.unblock.set()  # the read returns: the thread itself releases the capture
    assert reader.released.wait(2)
    assert wait_for(lambda: not cam.running, 2) is not None


def test_hung_read_recovers_to_running():
    reader = FaultyReader()
    cam = CameraSource(0, LatestSlot(), opener=reader.opener)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().frames > 0, 2) is not None
        reader.mode = "block"
        assert wait_for(lambda: cam.status().state == "stalled", 2.5) is not None
        reader.mode = "ok"
        reader.unblock.set()
        assert wait_for(lambda: cam.status().state == "running", 2) is not None
    finally:
        assert cam.stop(1.0)


def test_failed_reads_stall_then_reopen_and_resume():
    reader = FaultyReader()
    slot: LatestSlot[Frame] = LatestSlot()
    cam = CameraSource(0, slot, opener=reader.opener)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().frames >= 3, 2) is not None
        reader.mode = "fail"
        assert wait_for(lambda: cam.status().state == "stalled", 2) is not None
        assert wait_for(lambda: reader.opens >= 2, 2) is not None  # reopened it
        assert reader.released.is_set() or reader.opens >= 2
        frames = cam.status().frames
        reader.mode = "ok"
        assert wait_for(lambda: cam.status().state == "running", 2) is not None
        assert wait_for(lambda: cam.status().frames > frames + 3, 2) is not None
        frame = slot.take(timeout=1)
        assert frame is not None and frame.source == "camera 0"
        assert frame.image.shape == (H, W, 3)
        assert frame.image[:4, :, 0].mean() > 200  # BGR -> RGB: the stripe is red
    finally:
        assert cam.stop(1.0)
    assert reader.released.is_set()


def test_lost_camera_that_cannot_be_reopened_stays_stalled_until_it_returns():
    reader = FaultyReader()
    cam = CameraSource(1, LatestSlot(), opener=reader.opener, retry_interval=0.1)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().frames > 0, 2) is not None
        reader.open_ok = False
        reader.mode = "fail"
        assert wait_for(lambda: cam.status().state == "stalled", 2) is not None
        opens = reader.opens
        assert wait_for(lambda: reader.opens >= opens + 2, 2) is not None  # keeps trying
        assert cam.status().state == "stalled"
        reader.open_ok = True
        reader.mode = "ok"
        assert wait_for(lambda: cam.status().state == "running", 2) is not None
    finally:
        assert cam.stop(1.0)


def test_no_camera_is_unavailable_and_stop_is_prompt():
    src = open_source("camera:7", LatestSlot())
    assert isinstance(src, CameraSource) and src.name == "camera 7"
    src.start()
    assert wait_for(lambda: src.status().state == "unavailable", 2) is not None
    st = src.status()
    assert st.message == "no camera found at index 7; the drawing pad or a file still work"
    assert st.frames == 0 and st.fps == 0.0
    t0 = time.perf_counter()
    assert src.stop(1.0)
    assert time.perf_counter() - t0 < 1.0


def test_camera_that_appears_later_starts_delivering():
    reader = FaultyReader()
    reader.open_ok = False
    slot: LatestSlot[Frame] = LatestSlot()
    cam = CameraSource(0, slot, opener=reader.opener, retry_interval=0.1)
    assert cam.retry_interval == 0.1 and CameraSource(0, slot).retry_interval == 1.0
    cam.start()
    try:
        assert wait_for(lambda: cam.status().state == "unavailable", 1) is not None
        assert "no camera found at index 0" in cam.status().message
        assert wait_for(lambda: reader.opens >= 3, 2) is not None  # still looking
        reader.open_ok = True
        assert wait_for(lambda: cam.status().state == "running", 2) is not None
        assert slot.take(timeout=1) is not None
    finally:
        assert cam.stop(1.0)


def test_opener_that_raises_is_unavailable_not_a_crash():
    def opener(target):
        raise RuntimeError("backend exploded")

    cam = CameraSource(2, LatestSlot(), opener=opener, retry_interval=0.1)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().state == "unavailable", 1) is not None
        assert "backend exploded" in cam.status().message
        assert cam.running
    finally:
        assert cam.stop(1.0)


def test_list_cameras_probes_quickly_and_gives_up_on_a_hung_open():
    assert isinstance(list_cameras(), list)  # real probe; [] on a machine without cameras
    hang = threading.Event()
    present = {1, 3}

    def opener(index):
        if index == 2:
            hang.wait(5)
        reader = FaultyReader()
        reader.open_ok = index in present
        return reader

    t0 = time.perf_counter()
    found = list_cameras(4, opener=opener, timeout=0.5)
    assert time.perf_counter() - t0 < 1.5
    assert found == [1]  # index 3 was never reached: the open of 2 hung
    hang.set()
    assert list_cameras(4, opener=opener) == [1, 3]


def test_unstarted_video_releases_its_capture_on_stop(videos):
    reader = FaultyReader()
    src = VideoFileSource(videos[10], LatestSlot(), opener=reader.opener)
    assert reader.opens == 1 and not reader.released.is_set()
    assert src.stop()
    assert reader.released.is_set()
    with pytest.raises(RuntimeError, match="stopped"):
        src.start()
