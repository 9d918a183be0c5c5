"""The Inspector, Answer and Saliency tabs in a real window on the digit CNN."""

from __future__ import annotations

import numpy as np
import torch
from PyQt6.QtCore import QPoint, Qt

from cnn_viewer.core.explain.attribution import attribute
from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.ui.inspect.answer_panel import prob_text


def feature(window):
    return window.features.inspect


def drawn(qtbot, window, digit: int = 7):
    """Draw an example digit and wait until its result is shown."""
    for _ in range(digit + 1):
        window.draw_example()
    qtbot.waitUntil(lambda: window.last_result is not None and bool(window.last_result.top))


def click_tile(qtbot, window, layer: str, channel: int) -> None:
    """A real mouse click on ``channel``'s tile in ``layer``'s mosaic."""
    row = window.layers_panel.rows[layer]
    qtbot.waitUntil(lambda: row.view_data is not None)
    lv = row.view_data
    rows, cols = lv.grid
    th, tw = lv.tile
    r, c = divmod(channel, cols)
    mx, my = c * (tw + 1) + tw // 2, r * (th + 1) + th // 2
    h, w = lv.mosaic.shape
    point = QPoint(int((mx + 0.5) * row.view.width() / w), int((my + 0.5) * row.view.height() / h))
    qtbot.mouseClick(row.view, Qt.MouseButton.LeftButton, pos=point)


def recorded(model, x: np.ndarray, layer: str) -> np.ndarray:
    """``layer``'s output for input ``x`` (C x H x W), by a plain forward hook of our own."""
    twin = private_copy(model.module)
    store = {}

    def keep(_m, _i, out) -> None:  # returns None: the output goes on unchanged
        store["out"] = out.detach()[0].clone()

    handle = dict(twin.named_modules())[layer].register_forward_hook(keep)
    try:
        with torch.no_grad():
            twin(torch.from_numpy(x)[None])
    finally:
        handle.remove()
    return store["out"].numpy()


def test_clicking_a_unit_shows_its_numbers(qtbot, window):
    drawn(qtbot, window)
    f = feature(window)
    click_tile(qtbot, window, "relu1", 2)
    ins = f.inspector
    assert (ins.layer, ins.channel) == ("relu1", 2)
    assert window.side_tabs.currentWidget() is ins
    qtbot.waitUntil(lambda: ins.probe is not None and ins.probe.layer == "relu1", timeout=5000)
    ins.render()
    probe = ins.probe
    expected = recorded(window.state.model, probe.network_input, "relu1")[2]
    y, x = ins.position
    assert (y, x) == np.unravel_index(int(expected.argmax()), expected.shape)  # the strongest
    assert ins.value == float(expected[y, x]) > 0
    assert "channel <b>2</b> of 8" in ins.title.text()
    assert f"{ins.value:.4f}" in ins.value_label.text()
    # The written-out sum ends in the value shown, and the filter is conv1's.
    text = ins.arith_label.text()
    assert "conv1" in text and f"= the value shown: {ins.value:.4f}" in text
    assert "filter of <b>conv1</b>" in ins.filter_title.text()
    w = window.state.model.module.conv1.weight[2, 0]
    assert f"x {w.shape[0]} x {w.shape[1]}" in ins.filter_title.text()
    # The receptive field box is drawn on the input around the position.
    y0, x0, y1, x1 = ins.input_view.box
    assert y0 <= y < y1 and x0 <= x < x1
    # Hovering another position updates the value.
    ins._hovered(0, 0)
    assert ins.position == (0, 0) and ins.value == float(expected[0, 0])


def test_keys_step_units_and_layers(qtbot, window):
    drawn(qtbot, window)
    f = feature(window)
    f.select("conv2", 0)
    qtbot.waitUntil(lambda: f.inspector.channels == 16, timeout=5000)
    window.actions_by_name["next_unit"].trigger()
    assert f.inspector.channel == 1
    window.actions_by_name["prev_unit"].trigger()
    window.actions_by_name["prev_unit"].trigger()
    assert f.inspector.channel == 15  # wraps around
    window.actions_by_name["next_layer"].trigger()
    layers = window.engine.layers
    assert f.inspector.layer == layers[layers.index("conv2") + 1]
    assert window.worker.settings.inspect_layer == f.inspector.layer
    window.actions_by_name["prev_layer"].trigger()
    assert f.inspector.layer == "conv2"
    for name in ("inspector", "answer", "saliency_tab", "next_method", "run_saliency"):
        assert window.actions_by_name[name].shortcut().toString()


def test_answer_shows_softmax_and_a_contribution_opens_its_unit(qtbot, window):
    drawn(qtbot, window)
    f = feature(window)
    window.show_tab(f.answer)
    qtbot.waitUntil(lambda: f.answer.parts is not None, timeout=5000)
    result = window.last_result
    parts = f.answer.parts
    assert parts.target == result.top[0][0]
    assert abs(parts.total - float(result.logits[parts.target])) < 1e-3
    assert f.answer.logit_table.rowCount() == 10
    assert prob_text(float(result.probs.max())) in f.answer.softmax_label.text()
    top = parts.top[0]
    rect = f.answer.parts_table.visualRect(f.answer.parts_table.model().index(0, 0))
    qtbot.mouseClick(f.answer.parts_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert (f.inspector.layer, f.inspector.channel) == ("fc1_act", top.index)
    window.request_frame()
    qtbot.waitUntil(lambda: f.inspector.probe.layer == "fc1_act", timeout=5000)
    f.inspector.render()
    assert f.inspector.value == float(f.inspector.probe.head_input[top.index])
    assert abs(f.inspector.value - top.activation) < 1e-3


def test_frozen_frame_gets_the_new_layer_from_a_worker(qtbot, window):
    drawn(qtbot, window)
    f = feature(window)
    window.set_frozen(True)
    f.select("pool2", 4)
    qtbot.waitUntil(lambda: f.inspector.probe.layer == "pool2", timeout=5000)
    f.inspector.render()
    expected = recorded(window.state.model, f.inspector.probe.network_input, "pool2")[4]
    y, x = f.inspector.position
    assert f.inspector.value == float(expected[y, x])


def test_saliency_runs_off_the_gui_thread_measures_cost_and_cancels(qtbot, window):
    drawn(qtbot, window)
    f = feature(window)
    panel = f.saliency
    panel.method_box.setCurrentIndex(panel.method_box.findData("integrated_gradients"))
    panel.target_box.setCurrentIndex(panel.target_box.findData(3))
    window.actions_by_name["run_saliency"].trigger()
    assert window.state.frozen  # runs on the frozen frame
    qtbot.waitUntil(lambda: panel.last is not None, timeout=10000)
    a = panel.last
    assert (a.method, a.target) == ("integrated_gradients", 3)
    x = torch.from_numpy(window.last_result.probe.network_input)[None]
    from cnn_viewer.core.explain.attribution import baseline_for

    again = attribute(private_copy(window.state.model.module), x, "integrated_gradients", 3,
                      baseline=baseline_for(window.state.model)).raw  # fmt: skip
    np.testing.assert_allclose(a.raw, again, atol=1e-5)
    assert panel.costs["integrated_gradients"][0] > 0
    assert panel.cost_table.item(6, 1).text() not in ("", "–")
    assert "class 3" in panel.caption.text()
    # Measure every method, cancelled at once: the window stays usable.
    panel.run_all()
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.job.busy and panel.bar.isHidden(), timeout=10000)
    assert panel.caption.text() == "cancelled"
    assert "occlusion" not in panel.costs


def test_a_failing_job_reports_its_message(qtbot, window, monkeypatch):
    """A saliency method or a frozen-frame probe that raises: the Worker's Failure
    message reaches the caption, the status bar and the window's error."""
    from cnn_viewer.ui.inspect import feature as feature_module
    from cnn_viewer.ui.inspect import saliency_panel

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    drawn(qtbot, window)
    f = feature(window)
    panel = f.saliency
    monkeypatch.setattr(saliency_panel, "attribute", broken)
    assert panel.run()
    qtbot.waitUntil(lambda: not panel.job.busy and panel.bar.isHidden(), timeout=10000)
    assert panel.caption.text() == "failed: RuntimeError: boom"
    assert window.last_error == "RuntimeError: boom"
    assert not panel.cancel_button.isEnabled()
    monkeypatch.setattr(feature_module, "probe_once", broken)
    window.set_frozen(True)
    f.select("pool2", 1)
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "inspector: RuntimeError: boom",
        timeout=5000,
    )


def test_the_traced_network_runs_while_the_inspector_is_hidden(qtbot, window):
    """The inspector's probe (any layer) needs the eager model only while its tab is
    shown; on another tab the engine goes back to the traced network and the Answer
    tab still gets its numbers."""
    drawn(qtbot, window)
    f = feature(window)
    engine = window.engine

    def traced() -> bool:
        return engine.runs_traced(window.worker.settings)

    assert engine.traced is not None and traced()
    f.select("conv2", 3)
    assert window.worker.settings.inspect_layer == "conv2" and not traced()
    qtbot.waitUntil(lambda: f.inspector.probe is not None and f.inspector.probe.layer == "conv2")
    window.actions_by_name["answer"].trigger()
    assert window.worker.settings.inspect_layer is None and traced()
    window.draw_example()
    qtbot.waitUntil(
        lambda: window.last_result.probe is not None and window.last_result.probe.layer is None
    )
    assert window.last_result.probe.head_input is not None  # from the traced pass
    window.actions_by_name["inspector"].trigger()
    assert window.worker.settings.inspect_layer == "conv2"  # back where it was
    qtbot.waitUntil(lambda: window.last_result.probe.layer == "conv2")
    window._update_status()  # the timing line says which network ran (twice a second)
    assert window.timing_label.text().endswith("· eager")
    window.actions_by_name["answer"].trigger()
    window._update_status()
    assert window.timing_label.text().endswith("· traced")
    assert "TorchScript" in window.timing_label.toolTip()
