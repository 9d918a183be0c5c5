"""Sizes read from image headers (no decoding) match the decoded pictures, and
read_image refuses a picture over the pixel limit before decoding it."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from cnn_viewer.models.data.image_header import image_size
from cnn_viewer.models.data.images import MAX_PIXELS_ENV, InputError, pixel_limit, read_image
from tests.huge_image import write_blank_png

W, H = 123, 45  # odd sizes: a swapped width and height would show


def picture(channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (H, W, channels), dtype=np.uint8)


def pillow_bytes(fmt: str, mode: str = "RGB", **options) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(picture(4 if mode == "RGBA" else 3)).convert(mode).save(buf, fmt, **options)
    return buf.getvalue()


def encoded() -> dict[str, bytes]:
    enc = {
        name: cv2.imencode(ext, picture(), params)[1].tobytes()
        for name, ext, params in [
            ("png", ".png", []),
            ("jpeg", ".jpg", []),
            ("progressive jpeg", ".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
            ("bmp", ".bmp", []),
            ("tiff", ".tiff", []),
            ("webp lossy (VP8)", ".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
            ("webp lossless (VP8L)", ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
        ]
    }
    enc["gif"] = pillow_bytes("GIF", "P")
    enc["webp with alpha (VP8X)"] = pillow_bytes("WEBP", "RGBA")
    enc["jpeg with exif"] = pillow_bytes("JPEG", "RGB", exif=b"Exif\x00\x00" + b"II*\x00" * 64)
    enc["bmp top-down"] = bytearray(enc["bmp"])
    enc["bmp top-down"][22:26] = (-H).to_bytes(4, "little", signed=True)
    enc["bmp top-down"] = bytes(enc["bmp top-down"])
    return enc


@pytest.mark.parametrize("name", list(encoded()))
def test_header_size_matches_the_decoded_picture(name):
    data = encoded()[name]
    size = image_size(data)
    assert size == (W, H), name
    if name != "bmp top-down":
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert decoded.shape[1::-1] == size, name


def test_big_endian_tiff_with_a_short_and_a_long_size():
    entries = [(256, 3, 1, W << 16), (257, 4, 1, H), (258, 3, 1, 8 << 16)]  # SHORTs left-aligned
    ifd = len(entries).to_bytes(2, "big") + b"".join(
        t.to_bytes(2, "big") + k.to_bytes(2, "big") + n.to_bytes(4, "big") + v.to_bytes(4, "big")
        for t, k, n, v in entries
    )
    assert image_size(b"MM\x00*" + (8).to_bytes(4, "big") + ifd + b"\x00" * 4) == (W, H)


def test_cut_short_or_unknown_headers_give_none():
    enc = encoded()
    for name, data in enc.items():
        assert image_size(data[:9]) is None, name  # shorter than any size field
    assert image_size(b"") is None
    assert image_size(b"a shopping list, renamed .png") is None
    assert image_size(b"\xff\xd8\xff\xda" + b"\x00" * 20) is None  # a scan before any frame


def test_a_huge_blank_png_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    path = write_blank_png(tmp_path / "blank.png")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputError) as info:
        read_image(str(path))
    message = str(info.value)
    assert str(path) in message and "30000x30000 is 900 megapixels" in message
    assert "over the limit of 90 megapixels" in message and f"{MAX_PIXELS_ENV}=" in message


def test_the_limit_is_set_by_the_environment(tmp_path, monkeypatch):
    path = write_blank_png(tmp_path / "blank.png", 300, 200)
    monkeypatch.setenv(MAX_PIXELS_ENV, "59999")
    with pytest.raises(
        InputError, match="300x200 is 60,000 pixels, over the limit of 59,999 pixels"
    ):
        read_image(str(path))
    monkeypatch.setenv(MAX_PIXELS_ENV, "60000")  # exactly at the limit: allowed
    assert read_image(str(path)).shape == (200, 300)
    monkeypatch.setenv(MAX_PIXELS_ENV, "0")  # no limit
    assert pixel_limit() == 0 and read_image(str(path)).shape == (200, 300)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match=f"{MAX_PIXELS_ENV}='lots' is not a pixel count"):
        read_image(str(path))
