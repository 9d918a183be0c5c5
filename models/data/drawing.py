"""The one digit rule: MNIST-style preprocessing for every image the digit CNN sees.

MNIST digits are white on black, the ink's bounding box scaled to fit 20x20 keeping
the aspect ratio (anti-aliased), then placed in 28x28 with the centre of mass at pixel
(14, 14) (measured on the MNIST test set: (13.99, 14.00), spread 0.29 px; not the
geometric centre 13.5). This module does the same to any image, in either polarity, at any size, and
``DigitPreprocess`` makes it the digit model's own preprocessing: the window (any source),
``predict``, ``explain``, visualize and ``load_model("digits").predict`` all go through it.
An image already in that layout (an MNIST digit, or this function's own output) passes
unchanged, so centring twice is centring once and MNIST accuracy is unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from cnn_viewer.models.data.images import InputError, Preprocess, resize, to_gray

BOX = 20
SIZE = 28
CENTRE = 14.0  # where MNIST puts the centre of mass (row and column, 0-based)
INK_LEVEL = 40  # of 255: fainter pixels do not count as ink when finding the box


def ink_image(image: np.ndarray) -> np.ndarray:
    """Any image -> HxW uint8 with ink bright on a dark background.

    Polarity is read from the border: a bright border means dark ink on light paper.
    """
    gray = to_gray(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = int(np.median(border))
    if paper > 127:
        gray, paper = 255 - gray, 255 - paper
    if paper > 0:  # off-white paper or a grey background reads as empty, not as ink
        # (cv2 takes a number for src2, a scalar; its stubs list arrays only)
        gray = cv2.subtract(gray, paper)  # type: ignore[call-overload]
    return gray


def center_digit(image: np.ndarray) -> np.ndarray | None:
    """Drawing -> 28x28 uint8 (white digit on black, MNIST layout), or None when empty."""
    ink = ink_image(image)
    mask = cv2.threshold(ink, INK_LEVEL, 255, cv2.THRESH_BINARY)[1]
    x, y, w, h = cv2.boundingRect(mask)  # (OpenCV: 20x faster than np.nonzero here)
    if w == 0 or h == 0:
        return None
    if ink.shape == (SIZE, SIZE) and BOX - 1 <= max(w, h) <= BOX + 1 and _centred(ink):
        return ink.copy()  # already in MNIST layout (an MNIST digit, or our own output)
    crop = ink[y : y + h, x : x + w]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (new_w, new_h), interpolation=interp).astype(np.float32)
    total = float(small.sum())
    if total <= 0:
        return None
    # (not cv2.moments: it reads an N x 2 array as a list of points)
    cy = float(small.sum(axis=1) @ np.arange(new_h)) / total
    cx = float(small.sum(axis=0) @ np.arange(new_w)) / total
    # Translate so the centre of mass lands on (14, 14), to the sub-pixel: the same digit
    # drawn anywhere comes out the same (MNIST shifted by whole pixels, which moves a thin
    # stroke by up to half a pixel between two drawings).
    shift = np.array([[1, 0, CENTRE - cx], [0, 1, CENTRE - cy]], np.float32)
    out = cv2.warpAffine(small, shift, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderValue=0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _centred(ink: np.ndarray) -> bool:
    """True when the centre of mass is within half a pixel of (14, 14), as MNIST has it."""
    f = ink.astype(np.float32)
    total = float(f.sum())
    if total <= 0:
        return False
    cy = float(f.sum(axis=1) @ np.arange(f.shape[0])) / total
    cx = float(f.sum(axis=0) @ np.arange(f.shape[1])) / total
    return abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


class NoInk(InputError):
    """An image with nothing in it the digit model could read as a digit."""


NO_INK = "no ink found; the image looks empty (nothing darker or lighter than its background)"


@dataclass
class DigitPreprocess(Preprocess):
    """The digit model's preprocessing: ``center_digit`` (MNIST layout, polarity found
    from the border), then the model's size and normalisation. Raises NoInk for an
    image with no digit in it."""

    def describe(self) -> str:
        h, w = self.input_size
        rest = super().describe().split(", ", 1)[1]  # "gray, mean ... std ..."
        return (
            f"digit centred like MNIST (ink box to 20 px, centre of mass in 28x28, "
            f"dark-on-light or light-on-dark found from the border), {h}x{w}, {rest}"
        )

    def to_network_image(self, image: np.ndarray) -> np.ndarray:
        digit = center_digit(image)
        if digit is None:
            raise NoInk(NO_INK)
        digit = resize(digit, self.input_size)
        return np.dstack([digit] * 3) if self.channels == 3 else digit


def as_digits(prep: Preprocess) -> DigitPreprocess:
    """``prep`` with the one digit rule in front (the same sizes and normalisation)."""
    if isinstance(prep, DigitPreprocess):
        return prep
    return DigitPreprocess(**asdict(prep))


def as_plain(prep: Preprocess) -> Preprocess:
    """``prep`` without the digit rule: a plain resize and normalisation."""
    if not isinstance(prep, DigitPreprocess):
        return prep
    return Preprocess(**asdict(prep))
