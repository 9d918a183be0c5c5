"""Turning any image array into the tensor a network takes. Qt-free, numpy + OpenCV."""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from cnn_viewer.models.data.image_header import image_size

MIN_SIDE = 2
# Larger pictures are refused before they are decoded (as Pillow's decompression-bomb
# guard does): 90 megapixels is 270 MB as RGB. CNN_VIEWER_MAX_PIXELS sets another limit.
MAX_PIXELS = 90_000_000
MAX_PIXELS_ENV = "CNN_VIEWER_MAX_PIXELS"


class InputError(ValueError):
    """An image the models cannot take; the message says what is wrong with it."""


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale any numeric/bool image to uint8 without clipping its range to garbage.

    uint8 as is; bool -> 0 / 255; uint16 -> top 8 bits (65535 -> 255). Other numbers
    (floats, other integers): values within [0, 1] (floats only) are scaled by 255,
    values within [0, 255] kept, any other range stretched linearly from its finite
    min..max to 0..255. The range is read from finite values only: NaN -> 0, +Inf -> 255,
    -Inf -> 0 (one Inf pixel must not darken the rest).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy image array, got {type(image).__name__}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating):
        return _scale_numbers(image)
    raise InputError(
        f"image dtype {image.dtype} is not supported; use uint8, uint16, float or bool"
    )


def _scale_numbers(image: np.ndarray) -> np.ndarray:
    """Floats and integers other than uint8/uint16 -> uint8 (see ``to_uint8``)."""
    f = image.astype(np.float64)
    finite = np.isfinite(f)
    all_finite = bool(finite.all())
    values = f if all_finite else f[finite]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0 and np.issubdtype(image.dtype, np.floating):
        out = f * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        out = f
    elif hi > lo:
        m = max(abs(lo), abs(hi))  # divide first: hi - lo may overflow float64
        out = 255.0 * ((f / m - lo / m) / (hi / m - lo / m))  # max -> exactly 255
    else:  # one value outside 0..255 everywhere
        out = np.full_like(f, 255.0 if lo > 255.0 else 0.0)
    if not all_finite:
        out = np.where(np.isposinf(f), 255.0, np.where(finite, out, 0.0))
    return np.clip(out, 0, 255).astype(np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any gray (HxW, HxWx1), RGB or RGBA image -> HxWx3 uint8 RGB (alpha over white)."""
    image = to_uint8(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        out = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 3:
        out = image
    elif image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        out = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    elif image.ndim == 3 and image.shape[2] == 2:  # gray + alpha
        return to_rgb(np.dstack([image[:, :, 0]] * 3 + [image[:, :, 1]]))
    else:
        raise InputError(
            f"image shape {image.shape} is not an image; expected HxW, HxWx1, HxWx3 or HxWx4"
        )
    h, w = out.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise InputError(f"image is {w}x{h} pixels; it needs at least {MIN_SIDE}x{MIN_SIDE}")
    return np.ascontiguousarray(out)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any supported image -> HxW uint8 luminance."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 2:
        h, w = image.shape
        if h >= MIN_SIDE and w >= MIN_SIDE:
            return image  # already gray: skip the round trip through RGB (the pad's case)
    rgb = to_rgb(image)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def resize(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize, anti-aliased when shrinking by 2x or more.

    A shrink by a whole factor first averages blocks (OpenCV's fast INTER_AREA path),
    then bilinear covers the rest (< 2x, where aliasing is mild). INTER_AREA at a
    fractional factor costs 8x more: 1.5 ms vs 0.19 ms for a 420 -> 224 camera crop.
    """
    h, w = size_hw
    if image.shape[0] == h and image.shape[1] == w:
        return image
    factor = min(image.shape[0] // h, image.shape[1] // w)
    if factor >= 2:
        small = (image.shape[1] // factor, image.shape[0] // factor)
        image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        if image.shape[0] == h and image.shape[1] == w:
            return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class Preprocess:
    """Image -> 1 x C x H x W float tensor for one model.

    ``resize_short``: resize the shorter side to this, then centre-crop to input_size
    (torchvision's classification transforms). ``resize_hw``: stretch to this (H, W), then
    centre-crop to input_size. Both None: stretch the whole image to input_size.
    """

    input_size: tuple[int, int]
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize_short: int | None = None
    resize_hw: tuple[int, int] | None = None

    def crop_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The (x0, y0, x1, y1) region of a height x width source that the network sees."""
        ch, cw = self.input_size
        if self.resize_short is not None:
            scale_y = scale_x = self.resize_short / min(height, width)
        elif self.resize_hw is not None and tuple(self.resize_hw) != (ch, cw):
            scale_y, scale_x = self.resize_hw[0] / height, self.resize_hw[1] / width
        else:
            return (0, 0, width, height)
        crop_h = min(height, round(ch / scale_y))
        crop_w = min(width, round(cw / scale_x))
        y0 = (height - crop_h) // 2
        x0 = (width - crop_w) // 2
        return (x0, y0, x0 + crop_w, y0 + crop_h)

    def describe(self) -> str:
        """How an image becomes the input, in one line (printed on stderr by every command
        and shown in the window), e.g. 'short side to 256, centre crop 224x224, RGB,
        mean 0.485,0.456,0.406 std 0.229,0.224,0.225'."""
        h, w = self.input_size
        if self.resize_short is not None:
            size = f"short side to {self.resize_short}, centre crop {h}x{w}"
        elif self.resize_hw is not None and tuple(self.resize_hw) != (h, w):
            size = f"stretched to {self.resize_hw[0]}x{self.resize_hw[1]}, centre crop {h}x{w}"
        else:
            size = f"stretched to {h}x{w}"
        colour = "gray" if self.channels == 1 else "RGB"

        def numbers(values: tuple[float, ...]) -> str:
            return ",".join(f"{v:.4g}" for v in values)

        return f"{size}, {colour}, mean {numbers(self.mean)} std {numbers(self.std)}"

    def to_network_image(self, image: np.ndarray) -> np.ndarray:
        """The uint8 image the network sees: HxW (1 channel) or HxWx3."""
        rgb = to_rgb(image)
        x0, y0, x1, y1 = self.crop_box(*rgb.shape[:2])
        rgb = resize(rgb[y0:y1, x0:x1], self.input_size)
        if self.channels == 1:
            return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return rgb

    def to_tensor(self, net_image: np.ndarray) -> torch.Tensor:
        """uint8 network image (from ``to_network_image``) -> normalised 1xCxHxW float32."""
        chw = net_image[None] if net_image.ndim == 2 else net_image.transpose(2, 0, 1)
        t = torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))
        # (x / 255 - mean) / std as one multiply and one subtract, in place
        mean = np.asarray(self.mean, np.float32).reshape(-1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(-1, 1, 1)
        t.mul_(torch.from_numpy(1.0 / (255.0 * std))).sub_(torch.from_numpy(mean / std))
        return t.unsqueeze(0)

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        return self.to_tensor(self.to_network_image(image))


# File signatures, to tell a damaged image from a file that is no image at all.
_MAGIC = [
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
]


def _image_format(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def pixel_limit() -> int:
    """The most pixels an image file may have: MAX_PIXELS, or $CNN_VIEWER_MAX_PIXELS (a
    whole number; 0 = no limit). InputError for a value that is not one."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not text:
        return MAX_PIXELS
    if not text.isdigit():
        raise InputError(
            f"{MAX_PIXELS_ENV}={os.environ[MAX_PIXELS_ENV]!r} is not a pixel count; "
            f"set a whole number such as {MAX_PIXELS} (0 = no limit) or unset it"
        )
    return int(text)


def check_pixel_count(path: str, head: bytes) -> None:
    """InputError when the header in ``head`` says the picture is over ``pixel_limit()``."""
    size = image_size(head)
    limit = pixel_limit()
    if size is None or not limit or size[0] * size[1] <= limit:
        return
    w, h = size

    def amount(n: int) -> str:
        return f"{n / 1e6:.4g} megapixels" if n >= 1_000_000 else f"{n:,} pixels"

    raise InputError(
        f"{path}: {w}x{h} is {amount(w * h)}, over the limit of {amount(limit)} (decoded "
        f"as RGB it would take {w * h * 3 / 1e6:,.0f} MB of memory); shrink the image, or "
        f"set {MAX_PIXELS_ENV}={w * h} to open it anyway"
    )


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB (or gray) numpy array, keeping 16-bit depth and alpha.

    CMYK JPEGs come back as RGB; an animated GIF as its first frame. Raises InputError
    naming the file when it is missing, a folder, empty, unreadable, damaged, not an image,
    or over the pixel limit (``pixel_limit()``, read from the header before decoding).
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a folder, not an image file")
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if p.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty")
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    check_pixel_count(path, data[: 1 << 20].tobytes())
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. a size over OpenCV's pixel limit
        detail = str(exc).strip().splitlines()[-1][:160]
        raise InputError(f"{path}: OpenCV refused to decode it ({detail})") from None
    if image is None:
        kind = _image_format(data[:12].tobytes())
        if kind is not None:
            raise InputError(f"{path}: a damaged or truncated {kind} file; it cannot be decoded")
        raise InputError(
            f"{path}: not an image file (its content is not PNG, JPEG, BMP, GIF, TIFF or WebP)"
        )
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image
