"""Frame fuzzing: any array a source could hand over, of any size, dtype and channel count,
with NaN and Inf, either becomes a finite tensor of the model's input shape or raises our
InputError with a plain message; the engine reports such a frame and goes on.

Real parts: the shipped digit CNN, torchvision's mobilenet_v3_small preprocessing
(resize the short side, centre crop), the real inference worker.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_viewer.core.dataflow.frames import Frame, Result
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.engine.engine import Engine
from cnn_viewer.core.engine.pipeline import InferenceWorker
from cnn_viewer.models import load_model
from cnn_viewer.models.data.images import InputError, to_rgb, to_uint8

DTYPES = [
    np.uint8,
    np.uint16,
    np.float16,
    np.float32,
    np.float64,
    np.bool_,
    np.int8,
    np.int32,
    np.uint32,
]
MAX_BYTES = 24 * 1024 * 1024  # keep one generated array (and its float copy) small
# Mostly small sides, but the extremes (0, 1, 2 and 4096) come up often enough.
SIDE = st.one_of(
    st.integers(0, 48),
    st.sampled_from([0, 1, 2, 3, 5, 7, 255, 1023, 4095, 4096]),
)
PLAIN = re.compile(r"Traceback|File \"|0x[0-9a-f]{6,}|<.*object at")
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def frames(draw) -> np.ndarray:
    """An image-like array: HxW or HxWxC (C in 1..4, sometimes 5 or 0), any of DTYPES,
    random values over the dtype's range, sometimes NaN/+-Inf/extremes, sometimes a
    non-contiguous view or byte-swapped (big-endian) data."""
    h, w = draw(SIDE), draw(SIDE)
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, None, 3, 0, 5]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    c = channels or 1
    if h * w * c * max(dtype.itemsize, 8) > MAX_BYTES:  # the float64 copy counts
        w = max(1, MAX_BYTES // (h * c * 8))
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["full", "unit", "byte", "const", "wide"]))
    if dtype == np.bool_:
        image = rng.random(shape) < 0.5
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        lo, hi = (0, min(255, info.max)) if kind in ("unit", "byte") else (info.min, info.max)
        image = rng.integers(lo, hi, shape, dtype=dtype, endpoint=True)
        if kind == "const":
            image[...] = info.max
    else:
        scale = {"unit": 1.0, "byte": 255.0, "const": 0.0, "wide": 1e4}.get(kind, 1e30)
        finfo_max = float(np.finfo(dtype).max)
        image = (rng.standard_normal(shape) * min(scale, finfo_max / 8)).astype(dtype)
        if kind == "unit":
            image = np.abs(image) % 1
        if image.size and draw(st.booleans()):
            flat = image.reshape(-1)
            picks = rng.integers(0, flat.size, min(flat.size, 5))
            specials = [np.nan, np.inf, -np.inf, finfo_max, -finfo_max]
            flat[picks] = rng.choice(specials, picks.size).astype(dtype)
    if draw(st.booleans()) and image.ndim >= 2 and image.shape[1] > 1:
        image = image[:, ::-1]  # a view with negative strides
    if draw(st.booleans()) and image.dtype.itemsize > 1:
        image = image.astype(image.dtype.newbyteorder(">"))
    return image


def assert_plain(exc: InputError) -> None:
    message = str(exc)
    assert message and len(message) < 300, message
    assert not PLAIN.search(message), message
    assert any(w in message for w in ("image", "pixels", "dtype", "shape")), message


@pytest.fixture(scope="module")
def digits():
    return load_model("digits")


@pytest.fixture(scope="module")
def mobilenet_prep():
    """torchvision's mobilenet_v3_small transforms: short side to 256, crop 224."""
    from torchvision.models import MobileNet_V3_Small_Weights

    from cnn_viewer.models.zoo.torchvision_zoo import torchvision_preprocess

    return torchvision_preprocess(MobileNet_V3_Small_Weights.DEFAULT)


@pytest.fixture(scope="module")
def engines(digits):
    return [
        Engine(digits, saliency="gradcam", drawing=True),
        Engine(digits, saliency="gradcam", drawing=False),
    ]


@FUZZ
@given(image=frames())
def test_preprocessing_gives_a_finite_input_tensor_or_input_error(image, digits, mobilenet_prep):
    for prep in (digits.preprocess, mobilenet_prep):
        try:
            x = prep(image)
        except InputError as exc:
            assert_plain(exc)
            continue
        assert tuple(x.shape) == (1, prep.channels, *prep.input_size)
        assert x.dtype.is_floating_point and bool(x.isfinite().all())


@settings(FUZZ, max_examples=60)
@given(image=frames())
def test_engine_reports_a_bad_frame_and_never_raises(image, engines):
    for engine in engines:
        result = engine.process(Frame(1, time.perf_counter(), image, "fuzz"))
        if result.error is not None:
            assert_plain(InputError(result.error))
            assert not result.top
        elif result.empty:  # no ink: the digit model's one rule finds no digit
            assert engine.model.is_digits and not result.top
        else:
            assert len(result.top) == engine.top_k
            assert np.isfinite(result.probs).all() and result.probs.sum() == pytest.approx(1, 1e-4)
            assert result.network_image.dtype == np.uint8


def test_the_worker_reports_the_bad_frame_then_processes_the_next(engines, torch_threads):
    frames_slot: LatestSlot[Frame] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    worker = InferenceWorker(engines[1], frames_slot, results, threads=1)
    worker.start()
    try:
        bad = [
            np.zeros((1, 1, 3), np.uint8),
            np.zeros((0, 7), np.float32),
            np.zeros((4, 4, 6), np.uint8),
            np.zeros((4, 4), np.complex64),
            "not an array",
        ]
        for i, image in enumerate(bad):
            frames_slot.put(Frame(100 + i, time.perf_counter(), image, "fuzz"))
            result = results.take(timeout=5)
            assert result is not None and result.frame_id == 100 + i
            assert result.error and not result.top, result.error
            good = np.full((40, 30, 3), 200, np.uint8)
            good[10:30, 12:18] = 0
            frames_slot.put(Frame(200 + i, time.perf_counter(), good, "fuzz"))
            result = results.take(timeout=5)
            assert result is not None and result.frame_id == 200 + i
            assert result.error is None and len(result.top) == engines[1].top_k
    finally:
        worker.stop()
        worker.join(2)
    assert not worker.is_alive()


# ---- value mapping: scaled, not clipped to garbage --------------------------------------


def test_uint16_maps_its_full_range():
    img = np.array([[0, 255, 256, 32768], [65280, 65534, 65535, 4095]], np.uint16)
    np.testing.assert_array_equal(to_uint8(img), [[0, 0, 1, 128], [255, 255, 255, 15]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_unit_floats_map_to_0_255(dtype):
    img = np.array([[0.0, 0.25, 0.5], [0.75, 1.0, 1 / 255]], dtype)
    expected = (img.astype(np.float64) * 255).astype(np.uint8)
    np.testing.assert_array_equal(to_uint8(img), expected)
    assert to_uint8(img)[1, 1] == 255 and to_uint8(img)[0, 0] == 0


def test_nan_and_inf_do_not_change_the_other_pixels():
    """One Inf pixel in a 0..1 image used to make the whole image read as 0..255: black."""
    img = np.array([[0.0, 0.5, 1.0, np.inf], [np.nan, -np.inf, 0.2, 0.8]], np.float32)
    out = to_uint8(img)
    np.testing.assert_array_equal(out, [[0, 127, 255, 255], [0, 0, 51, 204]])


def test_out_of_range_values_are_stretched_in_order():
    hdr = np.array([[0.0, 1000.0, 2000.0, 4000.0]], np.float32)  # e.g. a raw sensor image
    np.testing.assert_array_equal(to_uint8(hdr), [[0, 63, 127, 255]])
    signed = np.array([[-2.0, 0.0, 2.0]], np.float64)  # a normalised tensor turned image
    np.testing.assert_array_equal(to_uint8(signed), [[0, 127, 255]])
    huge = np.array([[-1e308, 0.0, 1e308]], np.float64)  # the range overflows float64
    np.testing.assert_array_equal(to_uint8(huge), [[0, 127, 255]])


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=4, max_size=64
    )
)
def test_float_mapping_keeps_the_order_of_values(values):
    img = np.array(values, np.float32).reshape(1, -1)
    out = to_uint8(img).astype(int)[0]
    order = np.argsort(img[0], kind="stable")
    assert (np.diff(out[order]) >= 0).all()  # monotonic: brighter stays brighter
    if img.min() < img.max() and not (0 <= img.min() and img.max() <= 255):
        assert out.min() == 0 and out.max() == 255  # the full range is used


def test_uint16_rgb_and_float_rgba_become_rgb():
    rgb16 = np.zeros((4, 4, 3), np.uint16)
    rgb16[..., 0] = 65535
    np.testing.assert_array_equal(to_rgb(rgb16)[0, 0], (255, 0, 0))
    rgba = np.zeros((4, 4, 4), np.float32)
    rgba[..., 1] = 1.0
    rgba[..., 3] = 1.0
    np.testing.assert_array_equal(to_rgb(rgba)[0, 0], (0, 255, 0))
