"""cnn_viewer.models.data.images: any image array or file -> RGB uint8 -> a network's tensor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cnn_viewer.models import InputError
from cnn_viewer.models.data.images import Preprocess, read_image, to_gray, to_rgb, to_uint8


def test_gray_becomes_three_equal_channels():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = to_rgb(gray)
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], gray)
    np.testing.assert_array_equal(to_rgb(gray[:, :, None]), rgb)


def test_rgb_passes_through():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(rgb), rgb)
    assert to_rgb(rgb[:, ::-1]).flags.c_contiguous  # a view with odd strides comes out packed


def test_rgba_is_composited_over_white():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)  # opaque: the colour itself
    rgba[0, 1] = (10, 20, 30, 0)  # transparent: white
    rgba[0, 2] = (0, 100, 200, 128)  # half: halfway to white
    rgba[1, :] = (50, 60, 70, 255)
    rgb = to_rgb(rgba)
    assert rgb.shape == (2, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0], (10, 20, 30))
    np.testing.assert_array_equal(rgb[0, 1], (255, 255, 255))
    a = 128 / 255
    expected = np.array([0, 100, 200]) * a + 255 * (1 - a)  # 127, 177.2, 227.4
    np.testing.assert_allclose(rgb[0, 2], expected, atol=1)
    np.testing.assert_array_equal(rgb[1], [(50, 60, 70)] * 3)


def test_gray_with_alpha():
    ga = np.zeros((2, 2, 2), np.uint8)
    ga[..., 0] = 40
    ga[0, 0, 1] = 255
    rgb = to_rgb(ga)
    np.testing.assert_array_equal(rgb[0, 0], (40, 40, 40))
    np.testing.assert_array_equal(rgb[1, 1], (255, 255, 255))


def test_uint16_keeps_the_top_eight_bits():
    img = np.array([[0, 255, 256, 65535], [1000, 32768, 40000, 512]], np.uint16)
    np.testing.assert_array_equal(to_uint8(img), img >> 8)
    rgb = to_rgb(img)
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[:, :, 1], (img >> 8).astype(np.uint8))


def test_float_images():
    unit = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    np.testing.assert_array_equal(to_rgb(unit)[:, :, 0], [[0, 127], [255, 63]])
    byte = np.array([[0.0, 100.0], [255.0, 7.5]], np.float64)  # within 0..255: kept
    np.testing.assert_array_equal(to_rgb(byte)[:, :, 2], [[0, 100], [255, 7]])
    wide = np.array([[0.0, 100.0], [255.0, 300.0]], np.float64)  # beyond: stretched, not clipped
    np.testing.assert_array_equal(to_rgb(wide)[:, :, 2], [[0, 85], [216, 255]])
    odd = np.array([[np.nan, np.inf], [-np.inf, 0.5]], np.float32)
    out = to_uint8(odd)
    assert out.dtype == np.uint8 and out[0, 0] == 0 and out[1, 0] == 0 and out[0, 1] == 255


def test_bool_and_other_integers():
    np.testing.assert_array_equal(to_uint8(np.array([[True, False]])), [[255, 0]])
    np.testing.assert_array_equal(to_uint8(np.array([[0, 7, 255]], np.int32)), [[0, 7, 255]])
    # outside 0..255: min..max stretched to 0..255 ((7 + 5) / 305 * 255 = 10.03)
    np.testing.assert_array_equal(to_uint8(np.array([[-5, 7, 300]], np.int32)), [[0, 10, 255]])


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (np.zeros((1, 1), np.uint8), "1x1"),
        (np.zeros((1, 1, 3), np.uint8), "1x1"),
        (np.zeros((1, 1, 4), np.uint8), "1x1"),
        (np.zeros((1, 9), np.uint8), "9x1"),
        (np.zeros((4, 4, 5), np.uint8), "(4, 4, 5)"),
        (np.zeros((2, 2, 2, 3), np.uint8), "(2, 2, 2, 3)"),
        (np.zeros(7, np.uint8), "(7,)"),
        (np.zeros((4, 4), np.complex64), "complex64"),
        ([[1, 2], [3, 4]], "list"),
    ],
)
def test_bad_images_raise_input_error(image, words):
    with pytest.raises(InputError) as info:
        to_rgb(image)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_to_gray():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 1] = (255, 255, 255)
    gray = to_gray(rgb)
    assert gray.shape == (2, 2)
    assert gray[1, 1] == 255 and gray[0, 1] == 0 and 70 <= gray[0, 0] <= 80  # 0.299 * 255


# --- files -------------------------------------------------------------------------------


def test_read_rgb_and_gray_png(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's order
    path = tmp_path / "blue.png"
    assert cv2.imwrite(str(path), bgr)
    rgb = read_image(str(path))
    assert rgb.shape == (4, 5, 3)
    assert np.all(rgb[..., 2] == 200) and np.all(rgb[..., 0] == 0)  # came back as RGB
    gray_path = tmp_path / "gray.png"
    assert cv2.imwrite(str(gray_path), np.full((6, 7), 99, np.uint8))
    gray = read_image(str(gray_path))
    assert gray.shape == (6, 7) and np.all(gray == 99)


def test_read_16_bit_png(tmp_path):
    img = np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), img)
    back = read_image(str(path))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img)
    np.testing.assert_array_equal(to_rgb(back)[..., 0], (img >> 8).astype(np.uint8))


def test_read_rgba_png(tmp_path):
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 0] = 255  # blue
    bgra[..., 3] = 255
    bgra[0, 0, 3] = 0  # one transparent pixel
    path = tmp_path / "alpha.png"
    assert cv2.imwrite(str(path), bgra)
    rgba = read_image(str(path))
    assert rgba.shape == (3, 3, 4)
    np.testing.assert_array_equal(rgba[1, 1], (0, 0, 255, 255))  # RGBA order
    rgb = to_rgb(rgba)
    np.testing.assert_array_equal(rgb[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(rgb[2, 2], (0, 0, 255))


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("notes.png", b"this is a text file, not a picture\n", "not an image"),
        ("empty.png", b"", "empty"),
        ("half.png", None, "damaged or truncated PNG"),  # a PNG cut short
    ],
)
def test_unreadable_files(tmp_path, name, content, words):
    path = tmp_path / name
    if content is None:
        ok, data = cv2.imencode(".png", np.full((40, 40), 7, np.uint8))
        content = data.tobytes()[:30]
    path.write_bytes(content)
    with pytest.raises(InputError, match=words) as info:
        read_image(str(path))
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    for path, words in ((tmp_path / "nope.png", "no such file"), (tmp_path, "is a folder")):
        with pytest.raises(InputError, match=words) as info:
            read_image(str(path))
        assert str(path) in str(info.value)


# --- network input ------------------------------------------------------------------------


def test_stretch_preprocess():
    prep = Preprocess(input_size=(28, 28), channels=1, mean=(0.5,), std=(0.25,))
    assert prep.crop_box(50, 80) == (0, 0, 80, 50)
    img = np.full((50, 80, 3), 255, np.uint8)
    net = prep.to_network_image(img)
    assert net.shape == (28, 28) and np.all(net == 255)
    x = prep(img)
    assert x.shape == (1, 1, 28, 28)
    np.testing.assert_allclose(x.numpy(), (1 - 0.5) / 0.25)


def test_resize_then_centre_crop_like_torchvision():
    prep = Preprocess(
        input_size=(224, 224),
        channels=3,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        resize_short=256,
    )
    # 300 x 400: the short side 300 -> 256, so the 224 crop covers 224 * 300 / 256 = 262.5 px.
    x0, y0, x1, y1 = prep.crop_box(300, 400)
    assert (x1 - x0, y1 - y0) == (262, 262) or (x1 - x0, y1 - y0) == (263, 263)
    assert (x0 + x1) / 2 == pytest.approx(200, abs=1) and (y0 + y1) / 2 == pytest.approx(150, abs=1)
    img = np.zeros((300, 400, 3), np.uint8)
    img[:, 200:] = (255, 0, 0)  # right half red
    net = prep.to_network_image(img)
    assert net.shape == (224, 224, 3)
    assert net[:, :100, 0].max() == 0 and net[:, 124:, 0].min() == 255
    x = prep(img)
    assert x.shape == (1, 3, 224, 224)
    assert float(x[0, 0, 0, -1]) == pytest.approx((1 - 0.485) / 0.229, abs=1e-5)
    assert float(x[0, 1, 0, -1]) == pytest.approx((0 - 0.456) / 0.224, abs=1e-5)
