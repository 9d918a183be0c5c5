"""The Visualize dock on a real window (digit CNN, offscreen): short real jobs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PyQt6.QtCore import Qt


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_VIEWER_CACHE", str(tmp_path / "cache"))


def wait_idle(qtbot, panel, timeout=60_000):
    qtbot.waitUntil(lambda: not panel.job.busy and not panel._callbacks, timeout=timeout)


def test_one_click_digit_shows_the_image_as_it_forms(qtbot, window, tmp_path):
    panel = window.features.visualize
    window.actions_by_name["visualize"].trigger()
    assert window.docks["visualize"].isVisible()
    fv = panel.featurevis
    assert fv.digit_row.isVisibleTo(panel)
    previews = []
    panel.job.preview.connect(lambda _g, image: previews.append(image))
    fv.steps.setValue(64)
    qtbot.mouseClick(fv.digit_buttons[4], Qt.MouseButton.LeftButton)
    assert panel.bar.cancel.isVisible()
    wait_idle(qtbot, panel)
    assert len(previews) == 8  # every 8th of 64 steps
    assert fv.result is not None and fv.view.image is fv.result.image
    assert window.state.model.predict(fv.result.image, k=1)[0][0] == 4
    assert "class 4" in fv.info.text() and "4: " in fv.info.text()
    assert not panel.bar.cancel.isVisible()
    from cnn_viewer.ui.visualize.featurevis import save_image

    out = tmp_path / "four.png"
    assert save_image(fv.view.image, str(out)) == f"saved {out}"
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), fv.result.image)
    assert "could not write" in save_image(fv.view.image, str(tmp_path / "no" / "x.png"))


def test_cancel_stops_the_job(qtbot, window):
    panel = window.features.visualize
    fv = panel.featurevis
    fv.steps.setValue(5000)
    fv.run_class(1)
    qtbot.waitUntil(lambda: panel.bar.bar.value() > 2, timeout=10_000)
    assert not panel.run("another", lambda h: None, lambda r: None)  # one job at a time
    assert "still running" in panel.bar.text.text()
    qtbot.mouseClick(panel.bar.cancel, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, panel, 10_000)
    assert "cancelled" in panel.bar.text.text()
    assert fv.result is None


def test_unit_click_aims_the_tabs(qtbot, window):
    panel = window.features.visualize
    window.layers_panel.unit_clicked.emit("conv2", 5)
    fv = panel.featurevis
    assert fv.layer_box.currentText() == "conv2" and fv.channel.value() == 5
    assert fv.kind.currentData() == "channel"
    assert panel.deepdream.layer_box.currentText() == "conv2"
    fv.steps.setValue(40)
    fv.run()
    wait_idle(qtbot, panel)
    # The unit's activation grows well past where the optimisation started (how far
    # depends on the unit and the weights: half as much again is any real climb).
    start, end = fv.result.start_value, fv.result.value
    assert end > start + 0.1 and end > 1.5 * start


def test_top_images_scan_then_cache(qtbot, window, mnist_dir):
    # mnist_dir skips the test where the digit data is not on this machine.
    panel = window.features.visualize
    tab = panel.topimages
    panel.tabs.setCurrentWidget(tab)
    assert tab.data.spec().kind == "digits"
    tab.data.limit.setValue(60)
    for i in range(tab.layer_list.count()):
        item = tab.layer_list.item(i)
        item.setCheckState(Qt.CheckState.Checked if item.text() in ("conv1", "conv2")
                           else Qt.CheckState.Unchecked)  # fmt: skip
    tab.run()
    wait_idle(qtbot, panel)
    assert "scanned: 60 images" in tab.summary.text()
    window.layers_panel.unit_clicked.emit("conv2", 3)
    lt = tab.top.layers["conv2"]
    assert tab.channel.value() == 3
    h, w = lt.crops.shape[2:4]
    assert tab.mosaic.image.shape == (3 * h + 2, 3 * w + 2)  # 3 x 3 crops, 1-pixel gaps
    assert np.array_equal(tab.mosaic.image[:h, :w], lt.crops[3, 0])
    assert np.array_equal(tab.mosaic.image[-h:, -w:], lt.crops[3, 8])
    assert tab.captions.text().startswith(f"1. {lt.values[3, 0]:.2f}")
    tab.run()
    wait_idle(qtbot, panel)
    assert "loaded from the cache" in tab.summary.text()


def test_invariance_and_embedding_follow_the_input(qtbot, window, mnist_dir):
    panel = window.features.visualize
    window.draw_example()
    qtbot.waitUntil(lambda: window.last_result is not None and bool(window.last_result.top),
                    timeout=10_000)  # fmt: skip
    shown = window.last_result
    inv = panel.invariance
    inv.count.setValue(9)
    inv.run()
    wait_idle(qtbot, panel)
    r = inv.result
    assert len(r.values) == 9 and r.classes[0] == shown.top[0][0]
    np.testing.assert_allclose(r.probs[4], shown.probs, atol=1e-5)  # the identity, in the middle
    assert len(inv.plot.listDataItems()) == len(r.classes)

    window.actions_by_name["visualize"].trigger()
    emb = panel.embedding
    panel.tabs.setCurrentWidget(emb)
    emb.data.limit.setValue(200)
    emb.run()
    wait_idle(qtbot, panel)
    assert emb.embedding is not None and emb.table.rowCount() == 10
    qtbot.waitUntil(lambda: len(emb.live.data) == 1, timeout=10_000)
    first = (emb.live.data["x"][0], emb.live.data["y"][0])
    window.draw_example()  # another digit: the star moves
    qtbot.waitUntil(lambda: (emb.live.data["x"][0], emb.live.data["y"][0]) != first,
                    timeout=10_000)  # fmt: skip
    assert "nearest to the centres" in emb.nearest.text()


def test_closing_the_window_stops_a_running_job(qtbot, window):
    panel = window.features.visualize
    panel.featurevis.steps.setValue(5000)
    panel.featurevis.run_class(3)
    qtbot.waitUntil(lambda: panel.bar.bar.value() > 0, timeout=10_000)
    thread = panel.job.thread
    window.close()
    assert not thread.is_alive()


def test_a_new_model_cancels_the_job_and_resets_the_tabs(qtbot, window):
    from cnn_viewer.core.options import ModelOptions

    panel = window.features.visualize
    old = window.state.model
    panel.featurevis.steps.setValue(5000)
    panel.featurevis.run_class(6)
    qtbot.waitUntil(lambda: panel.bar.bar.value() > 0, timeout=10_000)
    window.load_model(ModelOptions(model="resnet18", weights="none", input_size=(64, 64)))
    qtbot.waitUntil(lambda: window.state.model is not old, timeout=60_000)
    wait_idle(qtbot, panel, 10_000)
    assert "the model changed" in panel.bar.text.text()
    assert panel.featurevis.result is None
    assert not panel.featurevis.digit_row.isVisibleTo(panel)  # no digit buttons for resnet
    assert panel.featurevis.class_box.count() == 1000
    assert panel.topimages.layer_list.item(0).text() == window.engine.layers[0]
    fv = panel.featurevis
    assert fv.channel.value() < panel.channel_count(fv.layer_box.currentText())


def test_private_copy_leaves_the_engines_hooks_behind(digits_model):
    import dataclasses

    import torch

    from cnn_viewer.models.private_copy import private_copy

    seen = []
    handle = digits_model.module.conv2.register_forward_hook(lambda *a: seen.append(1))
    try:
        copy = dataclasses.replace(digits_model, module=private_copy(digits_model.module))
        with torch.no_grad():
            copy.module(torch.zeros(1, 1, 28, 28))
    finally:
        handle.remove()
    assert seen == []  # the original's hook did not come along
    assert copy.module is not digits_model.module and copy.labels == digits_model.labels
    for (name, a), b in zip(digits_model.module.state_dict().items(),
                            copy.module.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b), name


def test_channel_is_clamped_to_the_layer(qtbot, window):
    panel = window.features.visualize
    fv, dream = panel.featurevis, panel.deepdream
    for tab, last in ((fv, 0), (dream, -1)):
        tab.layer_box.setCurrentText("fc1")  # 64 units
        tab.channel.setValue(60)
        assert tab.channel.value() == 60
        tab.layer_box.setCurrentText("conv1")  # 8 channels
        assert tab.channel.value() == 7 and tab.channel.maximum() == 7
        assert tab.channel.minimum() == last
    assert panel.channel_count("fc2") == 10


def test_embedding_key_names_every_class_in_order_in_distinct_colours(qtbot, window):
    import re

    from cnn_viewer.core.visualize.embedding import Embedding

    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(10), [40, 5, 30, 2, 25, 8, 12, 3, 20, 1])  # uneven counts
    present = np.arange(10)
    emb = Embedding(
        layer="fc2", mean=np.zeros(4, np.float32), axes=np.eye(2, 4, dtype=np.float32),
        explained=np.array([0.5, 0.2]), points=rng.normal(size=(len(classes), 2)),
        classes=classes, class_names=[str(i) for i in range(10)],
        centres=rng.normal(size=(10, 4)).astype(np.float32), present=present,
        distances=np.abs(rng.normal(size=(10, 10))), labelled=True,
    )  # fmt: skip
    tab = window.features.visualize.embedding
    tab.show_embedding(emb)
    key = tab.key.text()
    named = re.findall(r"</span>&nbsp;([^ &<]+)", key)
    assert named == [str(i) for i in range(10)]  # all of them, in class order
    colours = re.findall(r"color:(#[0-9a-f]{6})", key)
    assert len(set(colours)) == 10
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colours]
    closest = min(
        sum((a - b) ** 2 for a, b in zip(p, q, strict=True)) ** 0.5
        for i, p in enumerate(rgb)
        for q in rgb[i + 1 :]
    )
    assert closest > 60, "two classes look alike"
