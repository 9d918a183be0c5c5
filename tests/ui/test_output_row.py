"""The output layer reads as the answer: its cells carry the class names and its row is in
sight without scrolling at 1280x800, docks open or not (issue 19 item 7)."""

from __future__ import annotations

from tests.pad_answer import rect_in, wait_pad_answer


def shown_frame(qtbot, window, digit=3):
    window.pad.draw_example(digit)
    wait_pad_answer(qtbot, window)
    qtbot.wait(50)  # the queued refits and relayouts


def in_sight(window, widget) -> bool:
    """Shown, inside the window's central area, and not clipped by a scroll viewport."""
    if not widget.isVisible():
        return False
    central = rect_in(window, window.centralWidget())
    return central.contains(rect_in(window, widget))


def test_output_row_is_labelled_and_in_sight_at_1280x800(qtbot, window):
    window.resize(1280, 800)
    shown_frame(qtbot, window)
    panel = window.layers_panel
    assert panel.pinned == "fc2"
    row = panel.rows["fc2"]
    assert row.labels == window.state.model.labels == [str(i) for i in range(10)]
    assert row.cell_names.isVisible() and row.cell_names.fits()
    assert in_sight(window, row.view) and in_sight(window, row.cell_names)
    # the names sit under their cells: cell i of the mosaic is class i
    cell = row.view.width() / 10
    for i in range(10):
        assert row.cell_name((i + 0.5) * cell) == str(i)
    assert "fc2" in panel.visible  # it gets its mosaic wherever the list is scrolled
    panel.verticalScrollBar().setValue(0)
    qtbot.wait(20)
    assert in_sight(window, row.view)
    # the other rows still scroll in the list, in forward order
    assert [n for n in panel.rows if n != "fc2"] == window.engine.layers[:-1]


def test_output_row_stays_in_sight_with_a_dock_open(qtbot, window):
    window.resize(1280, 800)
    shown_frame(qtbot, window)
    for name in window.docks:
        window.show_dock(name)
        qtbot.wait(50)
        row = window.layers_panel.rows["fc2"]
        assert in_sight(window, row.view), name


def test_hidden_layers_keep_no_pinned_row(qtbot, window):
    """A last layer that is not the output (a conv) stays in the list, unlabelled."""
    window.state.layers = ("conv1", "conv2")
    qtbot.waitUntil(lambda: list(window.layers_panel.rows) == ["conv1", "conv2"], timeout=5000)
    shown_frame(qtbot, window, 1)
    assert window.layers_panel.pinned is None
    assert not window.layers_panel.footer.isVisible()
    assert all(not row.labels for row in window.layers_panel.rows.values())
    window.state.layers = ("conv1", "fc2")
    qtbot.waitUntil(lambda: list(window.layers_panel.rows) == ["conv1", "fc2"], timeout=5000)
    shown_frame(qtbot, window, 2)
    assert window.layers_panel.pinned == "fc2"
