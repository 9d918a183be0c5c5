"""VideoRecorder: real MP4 files written by OpenCV and read back frame by frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cnn_viewer.core.output.recording import (
    FREE_CHECK_EVERY,
    RecordingError,
    VideoRecorder,
    fit_frame,
    partial_path,
)


def frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, : (i * 5) % w] = (200, 40, 10)  # a red bar that grows
        out.append(f)
    return out


def read_back(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"OpenCV cannot open {path}"
    got = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        got.append(frame)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return got, fps


def test_frames_go_in_and_come_back(tmp_path):
    path = tmp_path / "clip.mp4"
    done = []
    rec = VideoRecorder(path, on_done=done.append)
    rec.start()
    for i, f in enumerate(frames(12)):
        assert rec.write(f, t=i * 0.2)  # 5 results/s
    outcome = rec.stop()
    assert outcome.ok, outcome.message
    assert done == [outcome]
    assert outcome.frames == 12 and outcome.size == (64, 48)
    assert outcome.fps == pytest.approx(5.0)
    got, fps = read_back(path)
    assert len(got) == 12 and got[0].shape == (48, 64, 3)
    assert fps == pytest.approx(5.0, abs=0.01)
    # the content survives the encoder: the red bar of the last frame (BGR in the file)
    last = got[-1].astype(int)
    assert last[:, 5:50, 2].mean() > 150 and last[:, 60:, 2].mean() < 40
    assert not partial_path(path).exists()
    assert "saved" in outcome.message and "12 frames" in outcome.message


def bar_widths(got: list[np.ndarray]) -> list[int]:
    """The red bar's width in each frame read back (BGR; see ``frames``)."""
    return [int((f[24, :, 2] > 100).sum()) for f in got]


def test_real_time_keeps_the_source_rate_and_holds_frames_over_gaps(tmp_path):
    rng = np.random.default_rng(0)
    # 30 fps delivery with a few ms of jitter: one file frame per result, at 30 fps
    path = tmp_path / "even.mp4"
    rec = VideoRecorder(path, fps=30, real_time=True)
    rec.start()
    for i, f in enumerate(frames(10)):
        assert rec.write(f, t=100.0 + i / 30 + rng.uniform(-0.005, 0.005))
    outcome = rec.stop()
    assert outcome.ok and outcome.frames == 10 and outcome.fps == 30.0
    got, fps = read_back(path)
    assert fps == pytest.approx(30.0) and len(got) == 10
    assert bar_widths(got) == [5 * i for i in range(10)]
    # results at half the rate (a slow network): each shown for two slots, so the file
    # lasts as long as the showing did; a 5 s pause is cut, not held for 150 frames
    path = tmp_path / "slow.mp4"
    rec = VideoRecorder(path, fps=30, real_time=True)
    rec.start()
    times = [0, 2 / 30, 4 / 30, 6 / 30, 5.0 + 6 / 30, 5.0 + 8 / 30]
    for t, f in zip(times, frames(6), strict=True):
        rec.write(f, t=t)
    outcome = rec.stop()
    got, fps = read_back(path)
    assert outcome.ok and fps == pytest.approx(30.0)
    assert bar_widths(got) == [0, 0, 5, 5, 10, 10, 15, 20, 20, 25]
    assert outcome.frames == len(got) == 10


def test_real_time_needs_a_rate(tmp_path):
    with pytest.raises(ValueError, match="give fps"):
        VideoRecorder(tmp_path / "x.mp4", real_time=True)


def test_odd_sizes_are_made_even_and_other_sizes_fitted(tmp_path):
    path = tmp_path / "odd.mp4"
    rec = VideoRecorder(path, fps=12)
    rec.start()
    rec.write(frames(1, 65, 49)[0])
    rec.write(np.full((20, 200, 3), 255, np.uint8))  # another shape: letterboxed
    outcome = rec.stop()
    assert outcome.ok and outcome.size == (64, 48)
    got, fps = read_back(path)
    assert len(got) == 2 and got[1].shape == (48, 64, 3) and fps == pytest.approx(12)
    assert got[1][24, 32].mean() > 200 and got[1][2, 32].mean() < 30  # bars above and below


def test_fit_frame_keeps_the_aspect():
    out = fit_frame(np.full((10, 40, 3), 255, np.uint8), (20, 20))
    assert out.shape == (20, 20, 3)
    assert out[10, 10].min() == 255 and out[0, 10].max() == 0


def test_nothing_recorded_leaves_no_file(tmp_path):
    path = tmp_path / "empty.mp4"
    rec = VideoRecorder(path)
    rec.start()
    outcome = rec.stop()
    assert not outcome.ok and "no frames" in outcome.message
    assert not path.exists() and not partial_path(path).exists()


@pytest.mark.parametrize(
    ("name", "match"),
    [("clip.avi", r"\.mp4"), ("missing/clip.mp4", "does not exist"), ("adir.mp4", "folder")],
)
def test_bad_targets_are_refused_at_start(tmp_path, name, match):
    (tmp_path / "adir.mp4").mkdir()
    with pytest.raises(RecordingError, match=match):
        VideoRecorder(tmp_path / name).start()


def test_a_full_disk_is_refused_at_start(tmp_path):
    with pytest.raises(RecordingError, match="MB free"):
        VideoRecorder(tmp_path / "x.mp4", min_free_mb=10**12).start()


def test_disk_filling_up_stops_and_says_so(tmp_path):
    path = tmp_path / "full.mp4"
    rec = VideoRecorder(path, fps=10)
    rec.start()
    rec.min_free_mb = 10**12  # the disk "fills up" while recording
    for f in frames(FREE_CHECK_EVERY + 5):
        rec.write(f)
    outcome = rec.stop()
    assert not outcome.ok
    assert "nearly full" in outcome.message and str(path) in outcome.message
    assert rec.failed and "nearly full" in rec.failed
    assert not path.exists() and not partial_path(path).exists()
    assert not rec.write(frames(1)[0])  # a stopped recorder takes no more frames


def test_an_existing_file_is_replaced_only_on_success(tmp_path):
    path = tmp_path / "keep.mp4"
    path.write_bytes(b"old")
    rec = VideoRecorder(path)
    rec.start()
    assert not rec.stop().ok
    assert path.read_bytes() == b"old"  # a failed recording does not clobber it


def test_frames_beyond_the_queue_are_counted_and_reported(tmp_path):
    rec = VideoRecorder(tmp_path / "burst.mp4", fps=30, queue_size=2)
    rec.start()
    big = np.zeros((720, 1280, 3), np.uint8)
    accepted = sum(rec.write(big.copy()) for _ in range(20))  # far faster than it encodes
    outcome = rec.stop()
    assert rec.dropped > 0
    assert outcome.ok and outcome.frames == accepted == 20 - rec.dropped
    assert len(read_back(tmp_path / "burst.mp4")[0]) == accepted
    assert f"{rec.dropped} frames skipped" in outcome.message
