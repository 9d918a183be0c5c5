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
    """While frozen, frames still reach the worker and it answers them, but the window
    shows none of the answers; unfreezing sends the pad's image as it is now."""
    import time

    from cnn_viewer.core.dataflow.frames import Frame
    from cnn_viewer.core.sources.frame_source import new_frame_id

    window.pad.draw_example(7)
    before = wait_for_result(qtbot, window, lambda r: not r.empty and r.top[0][1] == "7")
    qtbot.waitUntil(lambda: window.prediction.rows == before.top)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.state.frozen and not window.pad.isEnabled()
    shown, sent = window.shown, window.pad_frame_id
    conv1 = window.layers_panel.rows["conv1"].view.arrays[0].copy()
    drag(qtbot, window.pad, line((20, 260), (260, 260)))  # the pad is disabled while frozen
    # Frames down the data path all the same, as a source thread sends them: a "1" and a
    # "4". The worker answers each, the GUI thread takes each answer and drops it.
    for digit in (1, 4):
        window.pad.draw_example(digit)
        produced = window.results.version
        window.frames.put(Frame(new_frame_id(), time.perf_counter(), window.pad.image(), "pad"))
        qtbot.waitUntil(lambda v=produced: window.results.version > v, timeout=5000)
        qtbot.waitUntil(lambda: window.results.peek() is None, timeout=5000)
    qtbot.wait(100)
    assert window.shown == shown and window.last_result is before
    assert window.prediction.rows == before.top
    np.testing.assert_array_equal(window.layers_panel.rows["conv1"].view.arrays[0], conv1)
    window.pad.draw_example(1)  # the canvas changes, but a frozen pad sends nothing
    assert window.pad_frame_id == sent
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.state.frozen and window.pad.isEnabled()
    # Unfreezing sends the pad as it is now (the "1" drawn while frozen), and it is shown.
    assert window.pad_frame_id != sent
    after = wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
    assert window.shown > shown and after.top[0][1] == "1"
    qtbot.waitUntil(lambda: window.prediction.rows == after.top)


def test_saliency_can_be_switched_off(qtbot, window):
    """Off: no map, no heatmap over the input, the same answer; on again: the map is back."""
    window.pad.draw_example(4)
    on = wait_for_result(qtbot, window, lambda r: not r.empty and r.saliency is not None)
    assert len(window.input_view.cam_view.arrays) == 2  # the input and the heatmap over it
    window.saliency_box.setCurrentIndex(1)
    off = wait_for_result(qtbot, window, lambda r: not r.empty and r.saliency is None)
    assert off.frame_id > on.frame_id
    assert off.saliency_rgba is None
    np.testing.assert_array_equal(off.network_image, on.network_image)
    np.testing.assert_allclose(off.probs, on.probs, rtol=0, atol=1e-5)
    assert [lv.name for lv in off.layers] == [lv.name for lv in on.layers]
    cam = window.input_view.cam_view.arrays
    assert len(cam) == 1  # the input alone
    np.testing.assert_array_equal(cam[0], off.network_image)
    assert window.input_view.cam_title.text() == "saliency off"
    window.saliency_box.setCurrentIndex(0)
    again = wait_for_result(qtbot, window, lambda r: not r.empty and r.saliency is not None)
    np.testing.assert_allclose(again.saliency, on.saliency, rtol=0, atol=1e-5)
    assert len(window.input_view.cam_view.arrays) == 2


def test_screenshot_is_a_real_png(tmp_path, qtbot, window):
    window.pad.draw_example(2)
    wait_for_result(qtbot, window, lambda r: not r.empty)
    path = tmp_path / "shot.png"
    assert window.save_screenshot(path)
    import cv2

    image = cv2.imread(str(path))
    assert image.shape[0] >= 600 and image.shape[1] >= 1000
    assert image.std() > 10  # not a blank frame


def test_a_result_from_a_replaced_engine_is_never_shown(qtbot, window):
    """A result already on its way when the engine is replaced (other colours, layers,
    model) is dropped by the window, not drawn with the new engine's rows."""
    import dataclasses

    drag(qtbot, window.pad, line((140, 40), (140, 240)))
    old = wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
    old_engine = window.engine
    window.state.colormap = "viridis"  # observed: a new engine, and the pad sends again
    assert window.engine is not old_engine
    new = wait_for_result(qtbot, window, lambda r: r.engine_id == window.engine.id)
    shown = window.shown
    stale = dataclasses.replace(old, frame_id=new.frame_id + 1)
    assert stale.engine_id == old_engine.id
    window.results.put(stale)
    window.worker.on_result()  # the worker's wake-up, as for any published result
    qtbot.wait(200)
    assert window.shown == shown and window.last_result is new


def test_a_worker_bug_reaches_the_status_bar(qtbot, window, monkeypatch):
    """A bug in the inference worker's own loop is told to the user (not printed to
    stderr), and the frames after it go on."""
    put = window.results.put
    calls = []

    def broken_once(result):
        calls.append(result)
        if len(calls) == 1:
            raise RuntimeError("boom in the result slot")
        put(result)

    monkeypatch.setattr(window.results, "put", broken_once)
    drag(qtbot, window.pad, line((140, 40), (140, 240)))
    qtbot.waitUntil(lambda: "boom" in window.statusBar().currentMessage(), timeout=5000)
    assert "inference worker: RuntimeError: boom" in window.last_error
    drag(qtbot, window.pad, line((50, 45), (140, 40)))
    wait_for_result(qtbot, window, lambda r: r.frame_id == window.pad_frame_id)
