"""The PyQt6 QImage(int address) leak that pyqtgraph's image updates hit, and its fix."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn

from cnn_viewer.ui.window.qimage_leak import fixed_ndarray_to_qimage


def bytes_per_update(item: pg.ImageItem, images: list[np.ndarray], n: int = 1500) -> float:
    for i in range(200):  # first-use caches are not a leak
        item.setImage(images[i % 2], autoLevels=False)
        item.render()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(n):
            item.setImage(images[i % 2], autoLevels=False)
            item.render()  # what a paint does: builds the QImage
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(s.size_diff for s in after.compare_to(before, "filename")) / n


def test_image_updates_no_longer_leak(qtbot, monkeypatch):
    from cnn_viewer.ui.app import make_app

    make_app()  # applies the fix
    assert fn.ndarray_to_qimage is fixed_ndarray_to_qimage
    item = pg.ImageItem(axisOrder="row-major")
    images = [np.full((60, 80, 4), v, np.uint8) for v in (10, 200)]
    assert bytes_per_update(item, images) < 5

    from cnn_viewer.ui.window import qimage_leak

    original = qimage_leak.original_ndarray_to_qimage  # pyqtgraph's own
    assert original is not None and original is not fixed_ndarray_to_qimage
    monkeypatch.setattr(fn, "ndarray_to_qimage", original)
    assert bytes_per_update(item, images) > 50  # the leak is real (~100 B per update)
