"""Record, snapshot, drag and drop, scale and colours: the real window, real files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication

from cnn_viewer.core.display.colormaps import colorize, mosaic_lut
from cnn_viewer.core.display.mosaic import GAP, LEVELS
from cnn_viewer.core.output.recording import partial_path
from cnn_viewer.models.zoo.digits import DIGITS_CHECKPOINT
from tests.huge_image import write_blank_png


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("keep") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(30):
        frame = np.full((120, 160, 3), 30, np.uint8)
        cv2.circle(frame, (30 + 3 * i, 60), 20, (0, 200, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def wait_result(qtbot, win, predicate, timeout=8000):
    qtbot.waitUntil(
        lambda: win.last_result is not None and bool(predicate(win.last_result)), timeout=timeout
    )
    return win.last_result


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def pick(box, data):
    """Choose ``data`` in a combo box as a user would (emits activated)."""
    i = box.findData(data)
    box.setCurrentIndex(i)
    box.activated.emit(i)


# ---- scale and colours ---------------------------------------------------------------
def test_scale_and_colours_change_the_mosaics(qtbot, window):
    controls = window.features.session.controls
    window.pad.draw_example(3)
    layer = wait_result(qtbot, window, lambda r: r.top).layers[0]
    assert controls.caption.text().startswith("per layer")
    assert layer.value_range is not None
    pick(controls.scale_box, "channel")
    assert window.state.norm == "channel" and window.engine.scaler.mode == "channel"
    chan_result = wait_result(qtbot, window, lambda r: r.top and r.layers[0].value_range is None)
    chan = chan_result.layers[0]
    assert not np.array_equal(chan.mosaic, layer.mosaic)
    assert "each tile's own" in controls.caption.text()
    # every non-constant tile now reaches both ends
    assert chan.mosaic[chan.mosaic != GAP].max() == LEVELS
    pick(controls.colour_box, "coolwarm")
    assert window.state.colormap == "coolwarm"
    div = wait_result(qtbot, window, lambda r: r.top and r.frame_id > chan_result.frame_id).layers[
        0
    ]
    # the diverging map is centred on zero: conv1 has negative values, so both halves show
    data = div.mosaic[div.mosaic != GAP]
    assert data.min() < LEVELS // 2 < data.max()
    np.testing.assert_array_equal(div.rgba, colorize(div.mosaic, mosaic_lut("coolwarm")))
    np.testing.assert_array_equal(window.layers_panel.rows[div.name].view.arrays[0], div.rgba)
    assert controls.bar.labels == ("−max|x|", "0", "+max|x|")
    # a fixed user value: every layer maps -V..V
    pick(controls.scale_box, "fixed")
    controls.limit.setValue(2.0)
    controls.limit.editingFinished.emit()
    assert window.state.norm == "fixed:2"
    fixed = wait_result(qtbot, window, lambda r: r.top and r.layers[0].value_range == (-2.0, 2.0))
    assert all(lv.value_range == (-2.0, 2.0) for lv in fixed.layers)
    assert controls.bar.labels == ("-2", "0", "2")
    assert "conv1: -2 .. 2" in controls.bar.toolTip()


# ---- recording ---------------------------------------------------------------------
def test_recording_a_video_source(qtbot, window, video, tmp_path):
    assert window.set_source(str(video))
    wait_result(qtbot, window, lambda r: r.source != "pad" and r.top)
    rec = window.features.session.recording
    out = tmp_path / "clip.mp4"
    assert window.features.session.start_recording(out, frames=5)
    assert rec.indicator.isVisible() and "REC" in rec.indicator.text()
    assert window.actions_by_name["record"].isChecked()
    with qtbot.waitSignal(rec.stopped, timeout=20000) as signal:
        pass
    outcome = signal.args[0]
    assert outcome.ok, outcome.message
    assert not rec.indicator.isVisible() and not window.actions_by_name["record"].isChecked()
    frames = read_video(out)
    w, h = window.width(), window.height()
    # 5 results; a result that came later than the video's next frame is held over the
    # slots between (the file plays in real time), so there may be more frames than that
    assert len(frames) == outcome.frames >= 5
    assert frames[0].shape == (h - h % 2, w - w % 2, 3)
    assert not partial_path(out).exists()
    assert outcome.fps == 30.0  # the video's own rate, not a measured 32.9
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
    cap.release()


def test_closing_the_window_finishes_the_recording(qtbot, window, video, tmp_path):
    window.set_source(str(video))
    rec = window.features.session.recording
    rec.target = "layers"
    out = tmp_path / "layers.mp4"
    assert window.features.session.start_recording(out)
    qtbot.waitUntil(lambda: rec.handed >= 3, timeout=15000)
    size = window.splitter.widget(1).size()
    window.close()
    outcome = rec.last_outcome
    assert outcome is not None and outcome.ok, outcome
    frames = read_video(out)
    assert len(frames) == outcome.frames >= 3
    assert frames[0].shape[:2] == (size.height() // 2 * 2, size.width() // 2 * 2)


def test_recording_to_a_bad_place_says_so(window, tmp_path):
    assert not window.features.session.start_recording(tmp_path / "missing" / "x.mp4")
    assert "does not exist" in window.last_error
    assert not window.actions_by_name["record"].isChecked()
    assert not window.features.session.recording.indicator.isVisible()


# ---- snapshot ----------------------------------------------------------------------
def test_snapshot_holds_what_the_window_showed(qtbot, window, tmp_path):
    window.features.session.output_folder = tmp_path
    window.pad.draw_example(7)
    shown = wait_result(qtbot, window, lambda r: r.top and r.top[0][1] == "7")
    with qtbot.waitSignal(window.features.session.snapshots.saved, timeout=10000) as signal:
        folder = window.features.session.snapshot()
    assert folder.parent == tmp_path and folder.name.startswith("snapshot-")
    assert signal.args[0] == str(folder)
    names = set(signal.args[1])
    layers = [f"layer-{k:02d}-{lv.name}.png" for k, lv in enumerate(shown.layers)]
    assert names == {"window.png", "input.png", "result.json", *layers}
    assert {p.name for p in folder.iterdir()} == names
    record = json.loads((folder / "result.json").read_text())
    assert record["frame_id"] == shown.frame_id == window.last_result.frame_id
    panel = [[i, label, p] for i, label, p in window.prediction.rows]
    assert [[t["index"], t["label"], t["prob"]] for t in record["top"]] == panel
    assert record["model"]["name"] == "digits" and record["source"] == "pad"
    assert record["timings_ms"].keys() == shown.timings_ms.keys()
    assert record["normalisation"] == "layer" and record["colormap"] == "inferno"
    window_png = cv2.imread(str(folder / "window.png"))
    assert window_png.shape[:2] == (window.height(), window.width())
    for entry, lv in zip(record["layers"], shown.layers, strict=True):
        png = cv2.imread(str(folder / entry["file"]), cv2.IMREAD_UNCHANGED)
        s = entry["scale"]
        back = cv2.cvtColor(png[::s, ::s], cv2.COLOR_BGRA2RGBA)
        np.testing.assert_array_equal(back, lv.rgba)  # the mosaic exactly as shown
        np.testing.assert_array_equal(window.layers_panel.rows[lv.name].view.arrays[0], lv.rgba)
    net = cv2.imread(str(folder / "input.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(net, shown.network_image)


def test_snapshot_key_and_an_empty_pad(qtbot, window, tmp_path):
    window.features.session.output_folder = tmp_path
    wait_result(qtbot, window, lambda r: r.empty)  # the empty pad: nothing classified
    with qtbot.waitSignal(window.features.session.snapshots.saved, timeout=10000) as signal:
        qtbot.keyClick(window, Qt.Key.Key_F12)
    assert set(signal.args[1]) == {"window.png", "result.json"}
    record = json.loads((tmp_path.glob("snapshot-*/result.json").__next__()).read_text())
    assert record["empty"] is True and record["top"] == [] and record["layers"] == []


# ---- drag and drop -----------------------------------------------------------------
def drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, event)
    return event


def test_dropping_files_opens_them(qtbot, window, video, tmp_path):
    drop(window, video)
    assert window.state.source == str(video)
    wait_result(qtbot, window, lambda r: r.source != "pad" and r.top)
    assert window.features.session.recent.sources == [str(video.resolve())]
    drop(window, DIGITS_CHECKPOINT)
    qtbot.waitUntil(
        lambda: window.state.model_options.checkpoint == str(DIGITS_CHECKPOINT), timeout=20000
    )
    assert window.features.session.recent.checkpoints == [str(DIGITS_CHECKPOINT.resolve())]
    texts = [a.text() for a in window.features.session.recent.menu.actions()]
    assert video.name in texts and DIGITS_CHECKPOINT.name in texts
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drop(window, notes)
    assert "notes.txt is not an image" in window.last_error
    assert window.state.source == str(video)  # still running what it had
    huge = write_blank_png(tmp_path / "huge.png")  # refused from its header, not decoded
    drop(window, huge)
    qtbot.waitUntil(lambda: window.source.status().state == "unavailable", timeout=2000)
    assert "30000x30000 is 900 megapixels, over the limit" in window.source.status().message


def test_recent_menu_reopens(qtbot, window, video):
    window.features.session.recent.set([str(video)], [])
    action = next(
        a for a in window.features.session.recent.menu.actions() if a.text() == video.name
    )
    action.trigger()
    assert window.state.source == str(video)
