"""A quick, clean exit: when the application is about to quit, move every object alive
into the garbage collector's permanent generation (gc.freeze).

Python's shutdown otherwise runs full collections over the whole heap, and with torch,
torchvision and Qt loaded that heap is large: measured here, the process took 1.7-2.9 s
from the end of the event loop to its exit, and 0.5-0.7 s with the heap frozen.
Nothing is lost: frozen objects are still freed by reference counting and module
teardown; only the cycle collector skips them.
"""

from __future__ import annotations

import gc

from PyQt6.QtCore import QCoreApplication


def freeze_heap() -> None:
    gc.freeze()


def install(window) -> None:
    app = QCoreApplication.instance()
    if app is None or app.property("cnn_viewer_freeze_on_quit"):
        return  # once per application, however many windows
    app.setProperty("cnn_viewer_freeze_on_quit", True)
    app.aboutToQuit.connect(freeze_heap)
