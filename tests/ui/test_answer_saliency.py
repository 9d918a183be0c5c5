"""Answer and Saliency tabs: nothing cut, the logit adds up, readable numbers, a map of an
earlier input marked old, a frozen pad that says so (issue 19 item 8)."""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRect

from cnn_viewer.ui.widgets.pad import FROZEN_NOTE
from tests.pad_answer import rect_in, wait_pad_answer


def drawn(qtbot, window, digit: int):
    window.pad.draw_example(digit)
    wait_pad_answer(qtbot, window)


def texts(table, column):
    return [table.item(r, column).text() for r in range(table.rowCount())]


def test_answer_terms_add_up_to_the_logit_and_nothing_is_cut(qtbot, window):
    window.resize(1280, 800)
    drawn(qtbot, window, 3)
    answer = window.features.inspect.answer
    window.show_tab(answer)
    qtbot.waitUntil(lambda: answer.parts is not None, timeout=5000)
    table = answer.parts_table
    units = texts(table, 0)
    products = texts(table, 3)
    n = len(answer.parts.top)
    assert units[n] == f"the other {answer.parts.count - n}"
    assert units[n + 1 :] == ["bias", "= logit"]
    listed = sum(float(p) for p in products[: n + 2])  # terms, the rest, the bias
    assert abs(listed - float(products[-1])) < 0.01
    assert abs(float(products[-1]) - float(window.last_result.logits[answer.parts.target])) < 0.01
    # every unit names its number in full (the layer is in the heading above)
    metrics = table.fontMetrics()
    for r, text in enumerate(units):
        assert metrics.horizontalAdvance(text) <= table.columnWidth(0) - 4, text
        assert table.item(r, 0).text() == text
    assert units[0].startswith("#") and "fc1_act" in answer.parts_label.text()
    assert "fc1_act" not in window.engine.layers  # so the heading says where to find it
    assert "not among the maps shown (L adds it)" in answer.parts_label.text()
    # a confident answer reads without e-notation
    for text in texts(answer.logit_table, 2) + texts(answer.logit_table, 3):
        assert "e-" not in text and "e+" not in text, text


def test_saliency_tab_fits_at_1280_and_marks_an_old_map(qtbot, window):
    window.resize(1280, 800)
    drawn(qtbot, window, 3)
    panel = window.features.inspect.saliency
    window.show_tab(panel)
    qtbot.wait(50)
    viewport = panel.scroll.viewport()
    inner = QRect(QPoint(0, 0), viewport.size())
    for w in (panel.method_box, panel.layer_box, panel.cancel_button, panel.cost_table):
        r = rect_in(viewport, w)
        assert r.right() <= inner.right(), (w, r, inner)
    assert panel.legend.isVisible()
    # Run freezes the pad, and the pad says so
    assert panel.run()
    assert window.state.frozen and not window.pad.isEnabled()
    image = window.pad.grab().toImage()
    orange = sum(
        1
        for x in range(0, 280, 2)
        for y in range(0, 26, 2)
        if image.pixelColor(x, y).red() > 200 and image.pixelColor(x, y).blue() < 100
    )
    assert orange > 10, "the frozen pad shows no note"
    assert "Space" in FROZEN_NOTE
    qtbot.waitUntil(lambda: panel.last is not None, timeout=10000)
    assert not panel.stale
    # a new drawing: the map is of the old one and says so
    window.set_frozen(False)
    drawn(qtbot, window, 7)
    assert panel.stale
    assert panel.caption.text().startswith("<b>old:</b>")
    panel.run()
    qtbot.waitUntil(lambda: not panel.stale, timeout=10000)


def test_clear_empties_the_answer(qtbot, window):
    drawn(qtbot, window, 3)
    answer = window.features.inspect.answer
    window.show_tab(answer)
    qtbot.waitUntil(lambda: answer.logit_table.rowCount() == 10, timeout=5000)
    window.clear_pad()
    qtbot.waitUntil(lambda: window.last_result.empty, timeout=5000)
    assert answer.logit_table.rowCount() == 0 and answer.parts is None
    assert "no answer yet" in answer.softmax_label.text()
