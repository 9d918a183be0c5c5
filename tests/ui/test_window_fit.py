"""Nothing cut: opening a dock keeps the window's size, a short right-hand column scrolls
instead of stacking the timing line over the class rows (issue 19 item 8)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QPoint, QRect

from tests.pad_answer import rect_in, wait_pad_answer

SIZES = [(1024, 700), (1280, 800)]


def shown_frame(qtbot, window, digit=3):
    window.pad.draw_example(digit)
    wait_pad_answer(qtbot, window)
    qtbot.waitUntil(lambda: window.prediction.rows == window.last_result.top)


@pytest.mark.parametrize("size", SIZES)
def test_opening_a_dock_keeps_the_window_size(qtbot, window, size):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700, hint
    for name in window.docks:
        for dock in window.docks.values():
            dock.hide()
        window.resize(*size)
        qtbot.wait(30)
        window.show_dock(name)
        qtbot.wait(50)
        assert (window.width(), window.height()) == size, name
        assert window.docks[name].isVisible()


def test_timing_line_never_covers_the_class_rows(qtbot, window):
    window.resize(1024, 700)
    shown_frame(qtbot, window)
    window._update_status()
    assert window.timing_label.text().startswith("per frame")
    window.show_dock("train")  # the right-hand column gets short
    qtbot.wait(50)
    page = window.prediction_page.widget()
    rows = rect_in(page, window.prediction)
    assert rows.height() >= window.prediction.minimumHeight()  # every class row drawn
    for label in (window.timing_label, window.input_label):
        assert not rect_in(page, label).intersects(rows), label.text()
    # what does not fit scrolls: the page is taller than its viewport, nothing overlaps
    window.prediction_page.ensureWidgetVisible(window.timing_label)
    qtbot.wait(20)
    viewport = window.prediction_page.viewport()
    assert QRect(QPoint(0, 0), viewport.size()).intersects(rect_in(viewport, window.timing_label))


@pytest.mark.parametrize("size", [(1024, 700), (1280, 800)])
def test_toolbar_buttons_and_tabs_stay_reachable(qtbot, window, size):
    window.resize(*size)
    qtbot.wait(50)
    inside = window.rect()
    for bar in (window.choices_bar, window.main_bar):
        for action in bar.actions():
            if action.isSeparator() or not action.isVisible():
                continue
            button = bar.widgetForAction(action)
            assert button is not None and button.isVisible(), action.text()
            assert inside.contains(rect_in(window, button)), action.text()
    tabs = window.side_tabs.tabBar()
    for i in range(tabs.count()):
        assert tabs.rect().contains(tabs.tabRect(i)), window.side_tabs.tabText(i)
    # wide enough: one row of toolbars again
    window.resize(1920, 1080)
    qtbot.wait(50)
    assert not window.toolBarBreak(window.main_bar)


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_an_open_dock_shows_its_whole_panel(qtbot, window, size):
    """The dock's content fits its share: the Train buttons at the bottom are in sight,
    not behind a scroll (word-wrapped labels used to make the content taller)."""
    window.resize(*size)
    window.show_dock("train")
    qtbot.wait(50)
    scroll = window.docks["train"].widget()
    panel = window.features.train
    viewport = scroll.viewport()
    for button in (panel.use_button, panel.start_button):
        r = rect_in(viewport, button)
        assert QRect(QPoint(0, 0), viewport.size()).contains(r), (button.text(), r)
