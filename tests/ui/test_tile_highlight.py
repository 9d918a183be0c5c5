"""The unit being inspected is outlined in its layer's mosaic."""

import numpy as np
from PyQt6.QtGui import QColor

from cnn_viewer.ui.widgets.pixel_view import HIGHLIGHT


def test_selected_unit_is_outlined_in_its_mosaic(qtbot, window):
    window.draw_example()
    qtbot.waitUntil(lambda: window.last_result is not None and bool(window.last_result.layers),
                    timeout=10_000)  # fmt: skip
    window.features.inspect.select("relu2", 5)
    rows = window.layers_panel.rows
    lv = rows["relu2"].view_data
    th, tw = lv.tile  # 16 channels in 2 rows of 8: channel 5 is row 0, column 5
    assert lv.grid == (2, 8)
    assert rows["relu2"].view.highlight == (5 * (tw + 1), 0, tw, th)
    assert all(r.view.highlight is None for name, r in rows.items() if name != "relu2")
    # The outline is painted: cyan pixels on the tile's left edge.
    view = rows["relu2"].view
    image = view.grab().toImage()
    x = round(5 * (tw + 1) * view.width() / lv.mosaic.shape[1]) - 1
    colours = {image.pixelColor(x, y).name() for y in range(2, view.height() // 2)}
    assert QColor(HIGHLIGHT).name() in colours
    # Another unit moves the outline; a new result keeps it.
    window.features.inspect.select("conv1", 2)
    assert rows["relu2"].view.highlight is None and rows["conv1"].view.highlight is not None
    shown = window.shown
    window.draw_example()
    qtbot.waitUntil(lambda: window.shown > shown, timeout=10_000)
    assert rows["conv1"].view.highlight is not None
    assert np.array_equal(rows["conv1"].view.highlight[2:], rows["conv1"].view_data.tile[::-1])
