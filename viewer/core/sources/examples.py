"""Example digits drawn from stroke templates, for the pad's Example button and tests."""

from __future__ import annotations

import cv2
import numpy as np

# Polylines in a unit box (x right, y down), roughly how a person writes each digit.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [
        [
            (0.5, 0.1),
            (0.3, 0.2),
            (0.22, 0.5),
            (0.3, 0.8),
            (0.5, 0.9),
            (0.7, 0.8),
            (0.78, 0.5),
            (0.7, 0.2),
            (0.5, 0.1),
        ]
    ],
    1: [[(0.47, 0.18), (0.55, 0.1), (0.55, 0.9)]],
    2: [
        [
            (0.25, 0.28),
            (0.35, 0.13),
            (0.55, 0.1),
            (0.72, 0.2),
            (0.72, 0.38),
            (0.5, 0.6),
            (0.25, 0.88),
            (0.78, 0.88),
        ]
    ],
    3: [
        [
            (0.25, 0.15),
            (0.5, 0.1),
            (0.7, 0.2),
            (0.68, 0.38),
            (0.45, 0.48),
            (0.7, 0.58),
            (0.74, 0.78),
            (0.55, 0.9),
            (0.25, 0.85),
        ]
    ],
    4: [[(0.62, 0.9), (0.62, 0.1), (0.22, 0.62), (0.8, 0.62)]],
    5: [
        [
            (0.72, 0.12),
            (0.32, 0.12),
            (0.28, 0.45),
            (0.5, 0.4),
            (0.7, 0.5),
            (0.73, 0.72),
            (0.55, 0.9),
            (0.25, 0.85),
        ]
    ],
    6: [
        [
            (0.68, 0.12),
            (0.45, 0.2),
            (0.3, 0.45),
            (0.28, 0.72),
            (0.42, 0.9),
            (0.62, 0.88),
            (0.72, 0.7),
            (0.6, 0.52),
            (0.4, 0.52),
            (0.29, 0.62),
        ]
    ],
    7: [[(0.22, 0.12), (0.78, 0.12), (0.5, 0.55), (0.4, 0.9)]],
    8: [
        [
            (0.5, 0.5),
            (0.3, 0.35),
            (0.35, 0.15),
            (0.5, 0.1),
            (0.65, 0.15),
            (0.7, 0.33),
            (0.5, 0.5),
            (0.27, 0.68),
            (0.33, 0.87),
            (0.5, 0.9),
            (0.68, 0.86),
            (0.73, 0.68),
            (0.5, 0.5),
        ]
    ],
    9: [
        [
            (0.7, 0.35),
            (0.55, 0.48),
            (0.35, 0.45),
            (0.28, 0.28),
            (0.4, 0.12),
            (0.6, 0.12),
            (0.7, 0.3),
            (0.68, 0.6),
            (0.62, 0.9),
        ]
    ],
}


def draw_digit(
    digit: int,
    size: tuple[int, int] = (280, 280),
    box: tuple[float, float, float, float] = (0.1, 0.1, 0.8, 0.8),
    thickness: int | None = None,
) -> np.ndarray:
    """HxW uint8 image (white ink on black) of ``digit`` drawn inside ``box``.

    ``box`` is (x, y, width, height) as fractions of the image; ``thickness`` in
    pixels defaults to 8% of the box height.
    """
    if digit not in STROKES:
        raise ValueError(f"digit {digit!r}: use 0..9")
    h, w = size
    bx, by, bw, bh = box
    image = np.zeros((h, w), np.uint8)
    thickness = thickness or max(1, round(0.08 * bh * h))
    for line in STROKES[digit]:
        pts = np.array([[(bx + x * bw) * w, (by + y * bh) * h] for x, y in line], np.int32)
        cv2.polylines(image, [pts], False, 255, thickness, lineType=cv2.LINE_AA)
    return image
