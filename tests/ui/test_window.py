"""The window with the real digit CNN: strokes on the pad drive every panel."""

import numpy as np
from PyQt6.QtCore import QPoint, Qt

from cnn_viewer.core.display.colormaps import BACKGROUND, colorize, mosaic_lut


def drag(qtbot, widget, points, button=Qt.MouseButton.LeftButton):
    """Press at the first point, move through the rest, release: a real stroke."""
    qtbot.mousePress(widget, button, pos=QPoint(*points[0]))
    for p in points[1:]:
        qtbot.mouseMove(widget, QPoint(*p))
    qtbot.mouseRelease(widget, button, pos=QPoint(*points[-1]))


def line(a, b, steps=12):
    return [
        (round(a[0] + (b[0] - a[0]) * t / steps), round(a[1] + (b[1] - a[1]) * t / steps))
        for t in range(steps + 1)
    ]


def wait_for_result(qtbot, win, predicate, timeout=5000):
    qtbot.waitUntil(
        lambda: win.last_result is not None and bool(predicate(win.last_result)), timeout=timeout
    )
    return win.last_result


def test_empty_pad_says_draw_a_digit(window):
    assert window.prediction.rows == []
    assert window.prediction.message == "draw a digit"


def test_stroke_updates_probabilities_and_mosaics(qtbot, window):
    drag(qtbot, window.pad, line((140, 40), (140, 240)))  # a vertical bar: a "1"
    result = wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
    qtbot.waitUntil(lambda: window.prediction.rows == result.top)
    assert result.top[0][1] == "1"
    assert abs(sum(result.probs) - 1) < 1e-4
    # The network input the window shows is the centred 28x28 digit.
    assert result.network_image.shape == (28, 28)
    np.testing.assert_array_equal(window.input_view.input_view.arrays[0], result.network_image)
    # the heatmap is drawn over the same input
    cam_layers = window.input_view.cam_view.arrays
    assert len(cam_layers) == 2 and cam_layers[1].shape == (28, 28, 4)
    assert result.saliency is not None and result.saliency.shape == (28, 28)
    # Every default layer has a mosaic of the expected shape, and the view shows it.
    expected = {
        "conv1": ((28, 8 * 29 - 1), (1, 8)),
        "pool1": ((14, 8 * 15 - 1), (1, 8)),
        "conv2": ((2 * 15 - 1, 8 * 15 - 1), (2, 8)),
        "conv3": ((2 * 8 - 1, 16 * 8 - 1), (2, 16)),
        "fc1": ((1, 64), (1, 64)),
        "fc2": ((1, 10), (1, 10)),
    }
    shown = {lv.name: lv for lv in result.layers}
    assert list(shown) == window.engine.layers
    for name, (shape, grid) in expected.items():
        assert shown[name].mosaic.shape == shape, name
        assert shown[name].grid == grid, name
        np.testing.assert_array_equal(
            window.layers_panel.rows[name].view.arrays[0], shown[name].rgba
        )
        # the colours are the mosaic's values through the colormap
        np.testing.assert_array_equal(shown[name].rgba, colorize(shown[name].mosaic, mosaic_lut()))


def test_new_stroke_changes_the_answer_and_clear_empties(qtbot, window):
    drag(qtbot, window.pad, line((140, 40), (140, 240)))
    first = wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
    # Turn the "1" into a "7": a bar across the top, from the left.
    drag(qtbot, window.pad, line((50, 45), (140, 40)))
    second = wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
    assert second.frame_id > first.frame_id
    assert not np.array_equal(first.layers[0].mosaic, second.layers[0].mosaic)
    assert not np.allclose(first.probs, second.probs)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    wait_for_result(qtbot, window, lambda r: r.empty)
    assert window.prediction.message == "draw a digit"
    cleared = window.layers_panel.rows["conv1"].view.arrays[0]
    assert (cleared[..., :3] == BACKGROUND).all()


def test_right_button_erases(qtbot, window):
    drag(qtbot, window.pad, line((140, 40), (140, 240)))
    assert window.pad.image().max() == 255
    drag(qtbot, window.pad, line((140, 20), (140, 260), steps=40), Qt.MouseButton.RightButton)
    assert window.pad.image().max() < 60  # anti-aliased fringe at most
    wait_for_result(qtbot, window, lambda r: r.empty)


def test_freeze_keeps_results_still(qtbot, window):
    window.pad.draw_example(7)
    before = wait_for_result(qtbot, window, lambda r: not r.empty and r.top[0][1] == "7")
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.frozen
    drag(qtbot, window.pad, line((20, 260), (260, 260)))  # the pad is disabled while frozen
    qtbot.wait(200)
    assert window.last_result is before
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.frozen


def test_saliency_can_be_switched_off(qtbot, window):
    window.saliency_box.setCurrentIndex(1)
    window.pad.draw_example(4)
    result = wait_for_result(qtbot, window, lambda r: not r.empty and r.saliency is None)
    assert "saliency" not in result.timings_ms or result.timings_ms["saliency"] < 50


def test_screenshot_is_a_real_png(tmp_path, qtbot, window):
    window.pad.draw_example(2)
    wait_for_result(qtbot, window, lambda r: not r.empty)
    path = tmp_path / "shot.png"
    assert window.save_screenshot(path)
    import cv2

    image = cv2.imread(str(path))
    assert image.shape[0] >= 600 and image.shape[1] >= 1000
    assert image.std() > 10  # not a blank frame
