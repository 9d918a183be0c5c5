"""Source specs and image files/folders: parsing, next/prev order with wrap-around,
unreadable files skipped with a message, resend. Real files written with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.open_source import (
    CameraSource,
    ImageSource,
    folder_images,
    open_source,
    parse_source_spec,
)


def write_image(path: Path, value: int, *, channels: int = 3, size=(20, 30)) -> Path:
    """An image whose pixels all equal ``value`` (gray, BGR or BGRA with opaque alpha)."""
    h, w = size
    if channels == 1:
        img = np.full((h, w), value, np.uint8)
    else:
        img = np.full((h, w, channels), value, np.uint8)
        if channels == 4:
            img[:, :, 3] = 255
    assert cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """bad.png (not an image), img1 (gray 10), img2 (RGBA 20), img10 (60), notes.txt."""
    d = tmp_path / "pics"
    d.mkdir()
    (d / "bad.png").write_bytes(b"not a png at all")
    write_image(d / "img1.png", 10, channels=1)
    write_image(d / "img2.png", 20, channels=4)
    write_image(d / "img10.bmp", 60)
    (d / "notes.txt").write_text("ignore me")
    (d / ".hidden.png").write_bytes(b"")
    return d


def value_of(frame: Frame | None) -> int:
    assert frame is not None
    assert frame.image.ndim == 3 and frame.image.shape[2] == 3
    assert frame.image.dtype == np.uint8
    return int(frame.image.mean().round())


def test_parse_camera_specs():
    assert parse_source_spec("camera").index == 0
    assert parse_source_spec("camera:3").index == 3
    assert parse_source_spec(" Camera:12 ").kind == "camera"
    with pytest.raises(ValueError) as exc:
        parse_source_spec("camera:abc")
    assert str(exc.value) == "camera:abc is not a camera index; use camera:0"
    with pytest.raises(ValueError, match="not a camera index"):
        parse_source_spec("camera:-1")
    with pytest.raises(ValueError, match="empty source"):
        parse_source_spec("  ")


def test_parse_paths(tmp_path, folder):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(ValueError) as exc:
        parse_source_spec(str(missing))
    assert str(exc.value) == f"no such file: {missing}"
    clip = tmp_path / "Clip.MP4"
    clip.write_bytes(b"x")
    assert parse_source_spec(str(clip)).kind == "video"
    assert parse_source_spec(str(folder / "img1.png")).kind == "image"
    assert parse_source_spec(str(folder)).kind == "folder"
    with pytest.raises(ValueError, match="notes.txt is not a video .* or image"):
        parse_source_spec(str(folder / "notes.txt"))


def test_folder_images_sorted_by_name_numbers_as_numbers(folder):
    assert [p.name for p in folder_images(folder)] == [
        "bad.png",
        "img1.png",
        "img2.png",
        "img10.bmp",
    ]


def test_empty_folder_says_so(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="no images in folder .*empty"):
        open_source(str(empty), LatestSlot())
    src = ImageSource([], LatestSlot(), label="empty")
    src.start()
    assert src.status().state == "unavailable" and "no images in empty" in src.status().message


def test_folder_next_prev_wrap_and_skip_unreadable(folder):
    slot: LatestSlot[Frame] = LatestSlot()
    src = open_source(str(folder), slot)
    assert isinstance(src, ImageSource) and src.count == 4
    assert slot.peek() is None  # nothing until start
    src.start()
    # bad.png is first by name: skipped, the message names it, img1 is shown.
    assert value_of(slot.take_nowait()) == 10
    st = src.status()
    assert st.state == "running" and "bad.png" in st.message and st.frames == 1
    assert src.name == "image 2/4 img1.png"

    seen = []
    for _ in range(4):
        src.next()
        frame = slot.take_nowait()
        seen.append((src.name, value_of(frame), frame.source, src.status().message))
    assert [v for _, v, _, _ in seen] == [20, 60, 10, 20]  # wraps past the end, skipping bad
    assert seen[1][0] == "image 4/4 img10.bmp" == seen[1][2]
    assert [m for *_, m in seen] == ["", "", seen[2][3], ""]
    assert "bad.png" in seen[2][3]  # the wrap skipped it again
    src.next()
    assert value_of(slot.take_nowait()) == 60

    src.prev()
    assert value_of(slot.take_nowait()) == 20
    src.prev()
    assert value_of(slot.take_nowait()) == 10
    src.prev()  # bad.png skipped backwards, wraps to the last
    assert value_of(slot.take_nowait()) == 60
    assert src.name == "image 4/4 img10.bmp"
    assert src.status().frames == 9
    assert src.stop()


def test_resend_puts_the_current_image_again(folder):
    slot: LatestSlot[Frame] = LatestSlot()
    src = ImageSource([folder / "img2.png"], slot)
    assert not src.resend()  # nothing shown yet
    src.start()
    first = slot.take_nowait()
    assert src.resend()
    again = slot.take_nowait()
    assert again is not None and again.id != first.id
    assert again.timestamp >= first.timestamp
    assert np.array_equal(again.image, first.image) and value_of(again) == 20
    src.resend()
    src.resend()  # unread frames are replaced, never queued
    assert slot.dropped == 1 and src.status().dropped == 1
    src.next()  # one image: next shows it again
    assert value_of(slot.take_nowait()) == 20
    assert src.name == "image 1/1 img2.png"


def test_all_unreadable_is_unavailable_with_the_file_named(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"junk")
    b = tmp_path / "b.jpg"
    b.write_bytes(b"")
    slot: LatestSlot[Frame] = LatestSlot()
    src = ImageSource([a, b], slot)
    src.start()
    st = src.status()
    assert st.state == "unavailable" and "2 images could be read" in st.message
    assert "b.jpg" in st.message or "a.png" in st.message
    assert slot.peek() is None and not src.resend()
    src.next()  # still usable, still nothing to show
    assert src.status().state == "unavailable"


def test_image_file_that_breaks_later_moves_on(folder):
    slot: LatestSlot[Frame] = LatestSlot()
    src = open_source(str(folder), slot)
    src.start()
    slot.take_nowait()
    (folder / "img2.png").write_bytes(b"truncated")
    src.next()
    assert value_of(slot.take_nowait()) == 60
    assert "img2.png" in src.status().message


def test_open_source_kinds(folder):
    slot: LatestSlot[Frame] = LatestSlot()
    cam = open_source("camera", slot)
    assert isinstance(cam, CameraSource) and cam.index == 0 and cam.name == "camera 0"
    assert cam.stop()  # never started: nothing to wait for
    one = open_source(str(folder / "img10.bmp"), slot)
    assert isinstance(one, ImageSource) and one.count == 1
    with pytest.raises(ValueError, match="no such file"):
        open_source(str(folder / "missing.png"), slot)
