"""Work around a memory leak: PyQt6 (6.11 here) keeps about 100 bytes for every
``QImage(int address, ...)`` it builds, and pyqtgraph 0.14's ``ndarray_to_qimage`` passes
the array's address as an int - so every ImageItem update leaked. A 10-minute soak of
the window (digits, 30 results/s) grew +3.9 MB (trend +3.7 MB / 10 min) with it and
+1.1 MB (+0.8 MB / 10 min) without. Passing a ``sip.voidptr`` instead picks the same
(non-const, no copy) constructor without the leak.
"""

from __future__ import annotations

import numpy as np

original_ndarray_to_qimage = None  # pyqtgraph's own, kept once patched (tests use it)


def fixed_ndarray_to_qimage(arr: np.ndarray, fmt):
    """pyqtgraph.functions.ndarray_to_qimage for PyQt, without the int address."""
    from PyQt6 import sip
    from PyQt6.QtGui import QImage

    h, w = arr.shape[:2]
    qimg = QImage(sip.voidptr(arr), w, h, arr.strides[0], fmt)
    qimg.data = arr  # the QImage reads the array's memory: keep it alive (as pyqtgraph does)
    return qimg


def patch_pyqtgraph() -> bool:
    """Replace pyqtgraph's function (idempotent). False where it does not apply."""
    global original_ndarray_to_qimage
    import pyqtgraph.functions as fn

    if not fn.QT_LIB.startswith("PyQt6"):
        return False
    if fn.ndarray_to_qimage is not fixed_ndarray_to_qimage:
        original_ndarray_to_qimage = fn.ndarray_to_qimage
        fn.ndarray_to_qimage = fixed_ndarray_to_qimage
    return True
