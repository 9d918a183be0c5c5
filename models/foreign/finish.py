"""What the foreign loaders share besides cnn_viewer.models.zoo.classifier: a
preprocessing at another input size (--input-size)."""

from __future__ import annotations

from cnn_viewer.models.data.images import Preprocess


def sized(prep: Preprocess, input_size: tuple[int, int] | None) -> Preprocess:
    """``prep`` at another input size (--input-size), its resize keeping the same margin."""
    if input_size is None or tuple(input_size) == tuple(prep.input_size):
        return prep
    h, w = int(input_size[0]), int(input_size[1])
    short = prep.resize_short
    if short is not None:
        short = round(max(h, w) * short / max(prep.input_size))
    hw = prep.resize_hw
    if hw is not None:
        hw = (round(h * hw[0] / prep.input_size[0]), round(w * hw[1] / prep.input_size[1]))
    return Preprocess(
        input_size=(h, w),
        channels=prep.channels,
        mean=prep.mean,
        std=prep.std,
        resize_short=short,
        resize_hw=hw,
    )
