"""The window with a detector and with a segmenter, offscreen, on a video the test
writes: boxes with class and score over the frame (cut by the min-score control), the
class overlay with its legend, and the Prediction tab's rows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.models import load_model
from cnn_viewer.ui.inspect.box_map import box_at
from tests.object_models import DETECTORS, SEGMENTERS, seeded_net


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("objects") / "scene.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (240, 180))
    for i in range(12):
        frame = np.zeros((180, 240, 3), np.uint8)
        frame[:] = np.linspace(40, 200, 240, dtype=np.uint8)[None, :, None]
        cv2.rectangle(frame, (20 + 4 * i, 30), (100 + 4 * i, 120), (0, 0, 230), -1)
        cv2.circle(frame, (170, 120), 40, (20, 220, 30), -1)
        writer.write(frame)
    writer.release()
    return path


def _model(name, sharpen, tmp_path):
    ckpt = tmp_path / f"{name}.pth"
    torch.save(seeded_net(name, 3, sharpen).state_dict(), ckpt)
    # a small live input keeps the test quick
    return load_model(name, checkpoint=ckpt, input_size=(240, 320))


def _window(qtbot, model):
    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.features import build_window

    make_app()
    win = build_window(model, threads=1)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _apart(boxes):
    """The best box and the first that does not overlap it."""
    a = boxes[0]["box"]
    for d in boxes[1:]:
        b = d["box"]
        if b[0] >= a[2] or b[2] <= a[0] or b[1] >= a[3] or b[3] <= a[1]:
            return boxes[0], d
    pytest.fail("no two separate boxes on screen")


def _click(qtbot, win, d):
    """A real mouse click on the frame view at the middle of box ``d``."""
    from PyQt6.QtCore import QPointF, Qt

    frame_view = win.source_panel.frame_view
    x0, y0, x1, y1 = d["box"]
    scene = frame_view.box.mapViewToScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    pos = frame_view.view.mapFromScene(scene)
    qtbot.mouseClick(frame_view.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _close(win):
    win.shutdown()
    win.worker.join(10.0)
    assert not win.worker.is_alive()


def test_detector_boxes_on_a_video(qtbot, video, tmp_path):
    name = "ssdlite320_mobilenet_v3_large"
    win = _window(qtbot, _model(name, DETECTORS[name], tmp_path))
    try:
        assert win.object_controls.score_row.isVisibleTo(win)
        assert win.set_source(str(video))
        qtbot.waitUntil(
            lambda: win.last_result is not None and bool(win.last_result.detections),
            timeout=60000,
        )
        result = win.last_result
        h, w = result.frame_image.shape[:2]
        assert (h, w) == (180, 240)
        boxes = result.detections
        assert boxes == sorted(boxes, key=lambda d: -d["score"])
        assert all(0 <= d["box"][0] <= d["box"][2] <= w + 1 for d in boxes)
        cut = float(np.median([d["score"] for d in boxes]))
        win.object_controls.spin.setValue(cut)
        want = [d for d in boxes if d["score"] >= round(cut, 2)]
        drawn = [r for r in win.object_overlay.rects if r.isVisible()]
        assert len(drawn) == len(want) >= 1
        texts = [t.text() for t in win.object_overlay.texts if t.isVisible()]
        assert texts[0] == f"{want[0]['label']} {want[0]['score']:.2f}"
        assert [row[1] for row in win.prediction.rows] == [d["label"] for d in want][:10]
        win.object_controls.spin.setValue(1.0)
        assert not any(r.isVisible() for r in win.object_overlay.rects)
        assert "no box scores" in win.prediction.message
        win.object_controls.spin.setValue(cut)
        win.state.frozen = True  # the clicks are about this result's boxes
        first, second = _apart(want)
        maps, numbers = [], []
        for d in (first, second):
            win.box_map = None
            _click(qtbot, win, d)
            qtbot.waitUntil(lambda: getattr(win, "box_map", None) is not None, timeout=30000)
            x0, y0, x1, y1 = d["box"]  # the smallest shown box under the click is mapped
            number = box_at(result, (x0 + x1) / 2, (y0 + y1) / 2, win.object_controls.min_score)
            hit = result.detections[number]
            want_title = f"Grad-CAM for box {number} '{hit['label']}' {hit['score']:.2f}"
            assert win.input_view.cam_title.text() == win.box_map.title == want_title
            maps.append(win.box_map.heat_rgba)
            numbers.append(number)
        assert numbers[0] != numbers[1]
        assert float(np.abs(maps[0].astype(int) - maps[1].astype(int)).mean()) > 1.0
        qtbot.wait(300)  # the layout settles
        win.grab().save(str(tmp_path / "detector.png"))
        assert (tmp_path / "detector.png").stat().st_size > 0
    finally:
        _close(win)


def test_segmenter_overlay_and_legend_on_a_video(qtbot, video, tmp_path):
    name = "lraspp_mobilenet_v3_large"
    win = _window(qtbot, _model(name, SEGMENTERS[name], tmp_path))
    try:
        assert win.object_controls.legend.isVisibleTo(win)
        assert win.set_source(str(video))
        qtbot.waitUntil(
            lambda: win.last_result is not None and win.last_result.segments is not None,
            timeout=60000,
        )
        result = win.last_result
        shares = result.segments
        assert abs(sum(s["fraction"] for s in shares) - 1.0) < 1e-5
        assert result.segment_rgba.shape == (240, 320, 4)
        image = win.object_overlay.mask.image
        assert image is not None and image.shape == (240, 320, 4)
        rect = win.object_overlay.mask.mapRectToParent(win.object_overlay.mask.boundingRect())
        assert (round(rect.width()), round(rect.height())) == (240, 180)  # covers the frame
        legend = win.object_controls.legend.text()
        assert all(s["label"] in legend for s in shares[:3] if s["index"] != 0)
        assert [row[1] for row in win.prediction.rows] == [s["label"] for s in shares][:10]
        qtbot.wait(300)
        win.grab().save(str(tmp_path / "segmenter.png"))
    finally:
        _close(win)
