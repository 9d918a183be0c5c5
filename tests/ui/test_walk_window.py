"""The guided walk in a real window on the digit CNN: W opens it, N and B step through
every stage with its row highlighted and torch's own value shown, Esc closes it, and
it follows a new drawing while open."""

from __future__ import annotations

import numpy as np
import torch
from PyQt6.QtCore import Qt

from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.ui.walk.numbers import num
from cnn_viewer.ui.window.help_overlay import key_table

CHECKED = {"conv", "relu", "pool", "flatten", "linear", "softmax"}  # kinds with a check line


def drawn(qtbot, window, times: int = 8) -> int:
    """Draw example digits and wait until the last one's result is shown; its frame id."""
    for _ in range(times):
        window.draw_example()
    frame = window.pad_frame_id
    qtbot.waitUntil(
        lambda: (
            window.last_result is not None
            and window.last_result.frame_id == frame
            and bool(window.last_result.top)
        )
    )
    return frame


def shown_stage(qtbot, walk, i: int) -> None:
    qtbot.waitUntil(
        lambda: (
            walk.panel.step is not None
            and walk.index == i
            and walk.panel.step.stage.name == walk.stages[i].name
        )
    )


def conv1_output(window) -> np.ndarray:
    """conv1's output for the shown result's input, by a plain hook of our own."""
    twin = private_copy(window.state.model.module)
    store = {}
    handle = twin.conv1.register_forward_hook(lambda _m, _i, out: store.update(out=out))
    try:
        with torch.no_grad():
            twin(torch.from_numpy(window.last_result.probe.network_input)[None])
    finally:
        handle.remove()
    return store["out"][0].numpy()


def test_the_walk_steps_through_every_stage_and_closes(qtbot, window):
    drawn(qtbot, window)
    walk = window.features.walk
    assert ("Walk", "Guided walk through the network", "W") in key_table(window)  # F1 lists it
    qtbot.keyClick(window, Qt.Key.Key_W)
    shown_stage(qtbot, walk, 0)
    assert walk.active and window.side_tabs.currentWidget() is walk.panel
    names = [s.name for s in walk.stages]
    assert names[0] == "conv1" and names[-1] == "softmax" and len(names) == 15
    for i, name in enumerate(names):
        shown_stage(qtbot, walk, i)
        step = walk.panel.step
        text = walk.panel.numbers.text()
        row = walk.row_of(name)
        assert row == (name if name in window.layers_panel.rows else None)
        marked = [n for n, r in window.layers_panel.rows.items() if r.styleSheet()]
        assert marked == ([row] if row else [])
        assert f"Stage {i + 1} of 15: {name}" in walk.panel.title.text()
        if step.stage.kind in CHECKED:
            assert f"{num(step.torch_value)} ✓ the same" in text
        if i < len(names) - 1:
            qtbot.keyClick(window, Qt.Key.Key_N)
    top = int(np.argmax(window.last_result.probs))
    assert step.position == (top,)
    assert f"{window.last_result.probs[top]:.4f}" in text  # the probability shown
    qtbot.keyClick(window, Qt.Key.Key_N)  # past the end: stays on the softmax
    shown_stage(qtbot, walk, len(names) - 1)
    qtbot.keyClick(window, Qt.Key.Key_B)
    shown_stage(qtbot, walk, len(names) - 2)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not walk.active and window.side_tabs.currentIndex() == 0
    assert not any(r.styleSheet() for r in window.layers_panel.rows.values())
    assert not window.actions_by_name["walk_next"].isEnabled()  # N is free again


def test_the_walk_follows_a_new_input(qtbot, window):
    first = drawn(qtbot, window, 8)  # a 7
    walk = window.features.walk
    window.actions_by_name["walk"].trigger()
    shown_stage(qtbot, walk, 0)
    qtbot.waitUntil(lambda: walk.frame_id == first)
    before = walk.panel.step.torch_value
    np.testing.assert_allclose(before, conv1_output(window).max(), rtol=1e-4, atol=1e-4)
    second = drawn(qtbot, window, 3)  # another digit
    qtbot.waitUntil(lambda: walk.frame_id == second)
    step = walk.panel.step
    want = conv1_output(window)
    assert step.torch_value != before
    np.testing.assert_allclose(step.torch_value, want.max(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(step.conv.pre_activation, want.max(), rtol=1e-4, atol=1e-4)
    assert f"{num(step.torch_value)} ✓ the same" in walk.panel.numbers.text()
    window.clear_pad()  # nothing drawn: no numbers of an old drawing stay
    qtbot.waitUntil(lambda: walk.panel.step is None)
    assert "Nothing to walk through yet: draw a digit first" in walk.panel.what.text()
    assert walk.panel.numbers.text() == ""


def test_a_rebuilt_engine_keeps_the_stage(qtbot, window):
    drawn(qtbot, window)
    walk = window.features.walk
    window.actions_by_name["walk"].trigger()
    shown_stage(qtbot, walk, 0)
    for _ in range(3):
        window.actions_by_name["walk_next"].trigger()
    shown_stage(qtbot, walk, 3)
    engine = window.engine
    window.actions_by_name["saliency"].trigger()  # Grad-CAM off: a new engine, same model
    qtbot.waitUntil(lambda: window.engine is not engine)
    frame = drawn(qtbot, window, 1)
    qtbot.waitUntil(lambda: walk.frame_id == frame)
    shown_stage(qtbot, walk, 3)
    assert walk.panel.step.stage.name == "conv2"
