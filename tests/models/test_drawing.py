"""center_digit: any drawing -> MNIST layout (20x20 box, centre of mass at the centre)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.models.data.drawing import center_digit, ink_image

# (canvas (h, w), (x, y, height) of the digit): small, large, off-centre, near a corner.
PLACEMENTS = [
    ((100, 100), (40, 30, 40)),
    ((400, 300), (60, 40, 300)),
    ((400, 300), (200, 250, 100)),
    ((100, 100), (5, 5, 60)),
    ((300, 400), (300, 20, 70)),
]


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    total = img.astype(np.float64).sum()
    return float((yy * img).sum() / total), float((xx * img).sum() / total)


def bbox(img: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(img)
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


@pytest.mark.parametrize("digit", ["1", "7", "0"])
def test_same_digit_at_any_size_and_place_gives_nearly_the_same_28x28(digit, digit_drawer):
    outs = [center_digit(digit_drawer(digit, canvas, box)) for canvas, box in PLACEMENTS]
    ref = outs[0].astype(np.float64)
    for (canvas, box), out in zip(PLACEMENTS[1:], outs[1:], strict=True):
        assert out.shape == (28, 28) and out.dtype == np.uint8
        o = out.astype(np.float64)
        mad = np.abs(o - ref).mean()
        corr = np.corrcoef(o.ravel(), ref.ravel())[0, 1]
        assert mad < 20, f"{digit} on {canvas} at {box}: mean abs difference {mad:.1f}"
        assert corr > 0.9, f"{digit} on {canvas} at {box}: correlation {corr:.3f}"


@pytest.mark.parametrize("digit", ["1", "7", "0"])
def test_layout_matches_mnist(digit, digit_drawer):
    for canvas, box in PLACEMENTS:
        out = center_digit(digit_drawer(digit, canvas, box))
        # The ink's box is scaled to 20 px on its long side; the sub-pixel shift that puts
        # the centre of mass on the centre may spread the edge over one more pixel.
        h, w = bbox(out)
        assert 20 <= max(h, w) <= 21 and min(h, w) <= 21, f"{digit} {canvas} {box}: {h}x{w}"
        strong = bbox(np.where(out >= 128, out, 0))
        assert max(strong) <= 21 and max(strong) >= 19
        cy, cx = centre_of_mass(out)
        # (14, 14), where MNIST's own digits have it (not the geometric centre 13.5)
        assert abs(cy - 14) < 0.05 and abs(cx - 14) < 0.05, (cy, cx)
        assert out.max() >= 200 and out[:3].max() == 0 and out[:, :3].max() == 0


def test_mnist_digits_stay_readable(mnist_data, digits_model):
    """Real MNIST digits through the pad's preprocessing: the network reads them as well."""
    from cnn_viewer.models.data.mnist import split_indices

    images, labels = mnist_data
    test = split_indices(len(images))["test"][:1000]
    outs = np.stack([center_digit(img) for img in images[test]])
    x = torch.cat([digits_model.preprocess.to_tensor(o) for o in outs])
    with torch.inference_mode():
        pred = digits_model.module(x).argmax(1).numpy()
    accuracy = float((pred == labels[test]).mean())
    assert accuracy >= 0.98, f"accuracy {accuracy:.4f} on MNIST digits after center_digit"
    # Same layout: the long side of each box stays 20 (+1), as in MNIST itself.
    sides = np.array([max(bbox(o)) for o in outs[:200]])
    assert np.all((sides >= 19) & (sides <= 21))


@pytest.mark.parametrize("digit", ["1", "7", "0"])
def test_dark_on_light_equals_light_on_dark(digit, digit_drawer):
    for canvas, box in PLACEMENTS:
        light = center_digit(digit_drawer(digit, canvas, box))
        dark = center_digit(digit_drawer(digit, canvas, box, dark_on_light=True))
        np.testing.assert_array_equal(dark, light)


def test_colour_and_grey_paper(digit_drawer):
    ink = digit_drawer("7", (200, 200), (40, 30, 140))
    ref = center_digit(ink)
    # Blue ink on off-white paper, as an RGB photo of a page might look.
    paper = np.full((200, 200, 3), (235, 230, 225), np.uint8)
    alpha = (ink.astype(np.float32) / 255)[:, :, None]
    blue = (paper * (1 - alpha) + np.array([20, 30, 160]) * alpha).astype(np.uint8)
    out = center_digit(blue)
    assert out.shape == (28, 28)
    corr = np.corrcoef(out.ravel().astype(float), ref.ravel().astype(float))[0, 1]
    assert corr > 0.95
    # The grey of the paper itself is not ink.
    assert ink_image(paper).max() == 0


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((50, 50), np.uint8),
        np.full((60, 40), 255, np.uint8),
        np.full((30, 30, 3), 128, np.uint8),
        np.full((30, 30, 4), 0, np.uint8),  # fully transparent
    ],
)
def test_empty_image_returns_none(blank):
    assert center_digit(blank) is None


def test_faint_smudges_below_ink_level_are_not_a_digit():
    img = np.zeros((80, 80), np.uint8)
    cv2.circle(img, (40, 40), 10, 30, -1)
    assert center_digit(img) is None
    cv2.line(img, (10, 10), (10, 60), 255, 4)
    out = center_digit(img)
    assert out is not None and bbox(out)[0] in (20, 21)  # (+1: the sub-pixel shift)


def test_shipped_model_reads_drawn_digits(digits_model, digit_drawer):
    for digit in ("1", "7", "0"):
        for canvas, box in PLACEMENTS:
            for dark in (False, True):
                out = center_digit(digit_drawer(digit, canvas, box, dark_on_light=dark))
                top = digits_model.predict(out, k=1)[0]
                assert top[1] == digit, f"{digit} on {canvas} at {box}: read as {top}"
