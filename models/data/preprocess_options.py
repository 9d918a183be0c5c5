"""The user's say over how an image becomes the input: ``--resize``, ``--crop``, ``--mean``,
``--std``. Parsed here (a ValueError naming the option and what would be right) and laid
over a model's own Preprocess after it has loaded. Qt-free.

``resize``: N (the short side to N, then the centre crop) or (H, W) (stretch to H x W,
then the centre crop). ``crop``: (H, W), the centre crop, which is the network's input
size (the loaders take it as ``input_size``). ``mean`` / ``std``: one value per input
channel (R,G,B; one for gray models), or one value for every channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnn_viewer.models.data.drawing import as_plain
from cnn_viewer.models.data.images import Preprocess


def parse_input_size(value) -> tuple[int, int] | None:
    """None, 224, '224', '224x192' (height x width) or (224, 192) -> (height, width)."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            parts = value.lower().replace(" ", "").split("x")
            if len(parts) not in (1, 2):
                raise ValueError
            nums = [int(p) for p in parts]
        elif isinstance(value, int):
            nums = [value]
        else:
            nums = [int(v) for v in value]
        if len(nums) == 1:
            nums = nums * 2
        h, w = nums
    except (TypeError, ValueError):
        raise ValueError(
            f"input size {value!r}: give HEIGHTxWIDTH such as 224x224, or one number"
        ) from None
    if not (2 <= h <= 4096 and 2 <= w <= 4096):
        raise ValueError(f"input size {h}x{w}: each side must be between 2 and 4096 pixels")
    return (h, w)


def _sides(value, option: str) -> list[int]:
    """'256', '256x320', 256 or (256, 320) -> [256] / [256, 320] (the input-size rule of
    ``parse_input_size``); the ValueError names ``option``."""
    one = isinstance(value, int) or (isinstance(value, str) and "x" not in value.lower())
    try:
        h, w = parse_input_size(value) or (0, 0)  # (None only for None)
    except ValueError as exc:
        raise ValueError(f"{option} {value!r}: {str(exc).split(': ', 1)[1]}") from None
    return [h] if one else [h, w]


def parse_resize(value) -> int | tuple[int, int] | None:
    """``--resize``: None, N (short side) or 'HxW' / (H, W) (stretch)."""
    if value is None:
        return None
    nums = _sides(value, "--resize")
    return nums[0] if len(nums) == 1 else (nums[0], nums[1])


def parse_crop(value) -> tuple[int, int] | None:
    """``--crop``: None, N (square) or 'HxW' / (H, W)."""
    if value is None:
        return None
    nums = _sides(value, "--crop")
    return (nums[0], nums[-1])


def parse_values(value, option: str) -> tuple[float, ...] | None:
    """``--mean`` / ``--std``: None, 'R,G,B', 'V' or a sequence of numbers. Every value must
    be finite; a std must be positive (it divides)."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            items = [v for v in value.replace(" ", "").split(",")]
            nums = tuple(float(v) for v in items)
        elif isinstance(value, int | float):
            nums = (float(value),)
        else:
            nums = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{option} {value!r}: give numbers separated by commas, such as 0.485,0.456,0.406"
        ) from None
    if not nums or len(nums) > 4:
        raise ValueError(f"{option} {value!r}: give one value per channel (R,G,B) or one value")
    if not all(math.isfinite(v) for v in nums):
        raise ValueError(f"{option} {value!r}: every value must be a finite number")
    if option == "--std" and any(v <= 0 for v in nums):
        raise ValueError(f"{option} {value!r}: a std must be positive (the input is divided by it)")
    return nums


def _text(values) -> str:
    return ",".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class PrepOptions:
    """Parsed ``--resize``/``--crop``/``--mean``/``--std``; all None: the model's own."""

    resize: int | tuple[int, int] | None = None
    crop: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @classmethod
    def make(cls, resize=None, crop=None, mean=None, std=None) -> PrepOptions:
        return cls(
            resize=parse_resize(resize),
            crop=parse_crop(crop),
            mean=parse_values(mean, "--mean"),
            std=parse_values(std, "--std"),
        )

    @property
    def empty(self) -> bool:
        return self.resize is None and self.crop is None and self.mean is None and self.std is None

    def apply(self, prep: Preprocess) -> Preprocess:
        """``prep`` with these options laid over it (a new Preprocess). ValueError naming
        the option for a value count that does not fit the model's channels, or a crop
        bigger than the resized image."""
        if self.empty:
            return prep
        if self.resize is not None or self.crop is not None:
            prep = as_plain(prep)  # the user says how the image is sized: no digit centring
        size = self.crop or prep.input_size
        out = replace(prep, input_size=(int(size[0]), int(size[1])))
        if isinstance(self.resize, int):
            out = replace(out, resize_short=self.resize, resize_hw=None)
        elif self.resize is not None:
            out = replace(out, resize_short=None, resize_hw=(self.resize[0], self.resize[1]))
        for option, values in (("--mean", self.mean), ("--std", self.std)):
            if values is None:
                continue
            if len(values) not in (1, prep.channels):
                kind = "gray (1-channel)" if prep.channels == 1 else "RGB (3-channel)"
                want = "one value" if prep.channels == 1 else "three values R,G,B (or one)"
                raise ValueError(
                    f"{option} {_text(values)}: {len(values)} values for a {kind} model; "
                    f"give {want}"
                )
            full = tuple(float(v) for v in (values * prep.channels if len(values) == 1 else values))
            out = replace(out, mean=full) if option == "--mean" else replace(out, std=full)
        check_crop_fits(out)
        return out


def check_crop_fits(prep: Preprocess) -> None:
    """ValueError when the centre crop (the input size) is bigger than the resized image."""
    h, w = prep.input_size
    crop = f"the centre crop {h}x{w} (--crop, or the model's input size)"
    if prep.resize_short is not None and max(h, w) > prep.resize_short:
        raise ValueError(
            f"--resize {prep.resize_short}: {crop} is bigger than the resized short side; "
            f"give --resize {max(h, w)} or more, or a smaller --crop"
        )
    if prep.resize_hw is not None and (h > prep.resize_hw[0] or w > prep.resize_hw[1]):
        rh, rw = prep.resize_hw
        raise ValueError(
            f"--resize {rh}x{rw}: {crop} does not fit inside it; give --resize "
            f"{max(h, rh)}x{max(w, rw)} or more, or a smaller --crop"
        )
