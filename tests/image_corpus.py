"""A corpus of awkward image files (written for real with OpenCV and Pillow), shared by the
predict and window tests: each file with what reading it must give."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.huge_image import write_blank_png


@dataclass(frozen=True)
class Case:
    path: Path
    error: str | None  # words the error message must hold; None: the file is usable
    shape: tuple[int, ...] | None = None  # what read_image gives for a usable file


def digit_one(h: int, w: int) -> np.ndarray:
    """Dark "1" on white (any size): the digit CNN reads it as 1."""
    img = np.full((h, w, 3), 255, np.uint8)
    x, t = w // 2, max(1, min(h, w) // 12)
    cv2.line(img, (x, h // 6), (x, h - h // 6), (0, 0, 0), t)
    return img


def write_corpus(folder: Path) -> dict[str, Case]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Case] = {}

    def add(name: str, error: str | None, shape=None) -> Path:
        cases[name] = Case(folder / name, error, shape)
        return folder / name

    one = digit_one(120, 90)
    good_png = cv2.imencode(".png", one)[1].tobytes()
    good_jpg = cv2.imencode(".jpg", one)[1].tobytes()
    add("empty.png", "the file is empty").write_bytes(b"")
    add("truncated.png", "damaged or truncated PNG").write_bytes(good_png[: len(good_png) // 2])
    add("truncated.jpg", "damaged or truncated JPEG").write_bytes(good_jpg[:200])
    add("text.png", "not an image file").write_text("a shopping list, renamed .png\n")
    cv2.imwrite(str(add("1x1.png", "1x1 pixels")), np.full((1, 1), 90, np.uint8))
    # 490 KB on disk, 900 megapixels: refused from its header before any decoding
    write_blank_png(add("huge_30000x30000.png", "900 megapixels, over the limit of 90"))
    wide = np.full((10, 10000), 255, np.uint8)
    wide[2:8, 4990:5010] = 0
    cv2.imwrite(str(add("wide_10000x10.png", None, (10, 10000))), wide)
    cv2.imwrite(str(add("tall_10x10000.png", None, (10000, 10))), wide.T.copy())
    deep = (digit_one(120, 90)[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)
    cv2.imwrite(str(add("deep16.png", None, (120, 90))), deep)
    Image.fromarray(one).convert("CMYK").save(add("cmyk.jpg", None, (120, 90, 3)), quality=95)
    frames = [Image.fromarray(one), Image.fromarray(255 - one)]
    frames[0].save(
        add("animated.gif", None, (120, 90, 4)),
        save_all=True,
        append_images=frames[1:],
        duration=100,
        loop=0,
    )
    return cases
