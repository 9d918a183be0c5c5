"""F1 lists every key the window has, including keys that features add."""

from PyQt6.QtCore import Qt

from cnn_viewer.ui.window.help_overlay import key_table


def test_help_lists_every_action_key_and_closes_on_a_key(window, qtbot, tmp_path):
    window.add_action("probe", "Probe action", ["Ctrl+Alt+J"], lambda: None, "Extra")
    plain = window.grab().toImage()
    rows = key_table(window)
    texts = {text: keys for _, text, keys in rows}
    assert texts["Probe action"] == "Ctrl+Alt+J"
    assert "Space" in texts["Freeze"] and "F1" in texts["Keys (help)"]
    # Every action with a shortcut appears once.
    with_keys = [a for a in window.actions() if a.shortcuts()]
    assert len(rows) == len(with_keys)
    window.actions_by_name["help"].trigger()
    overlay = window.help_overlay
    assert overlay.isVisible() and "Probe action" in overlay.label.text()
    # The overlay is drawn over the window: a screenshot (in tmp_path) shows it.
    shot = tmp_path / "help_shot.png"
    assert window.grab().save(str(shot))
    import cv2
    import numpy as np

    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (plain.height(), plain.width())
    plain_path = tmp_path / "plain.png"
    assert plain.save(str(plain_path))
    diff = np.abs(image.astype(int) - cv2.imread(str(plain_path)).astype(int)).max(axis=2)
    changed = diff > 30
    g = overlay.geometry()
    inside = changed[g.y() : g.y() + g.height(), g.x() : g.x() + g.width()]
    assert inside.mean() > 0.02 and changed.sum() == inside.sum()  # drawn there, only there
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert not overlay.isVisible()
    # Menus added by features go before Help, which stays last.
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[-1] == "Help" and titles.index("Extra") < titles.index("Help")


def test_help_fits_without_scrolling_and_says_how_to_close(window, qtbot):
    from cnn_viewer.ui.window.help_overlay import CLOSE_LINE

    window.resize(1280, 800)
    qtbot.wait(30)
    window.actions_by_name["help"].trigger()
    overlay = window.help_overlay
    qtbot.wait(30)
    assert overlay.isVisible() and overlay.header.isVisible()
    assert CLOSE_LINE in overlay.header.text() and "any key" in CLOSE_LINE.lower()
    assert not overlay.scroll.verticalScrollBar().isVisible()
    assert overlay.label.height() <= overlay.scroll.viewport().height()
    assert window.rect().contains(overlay.geometry())
    text = overlay.label.text()
    for what in ("Left button on the pad", "Right button on the pad", "Click a mosaic tile"):
        assert what in text
    assert "Mouse" in text
    qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton)
    assert not overlay.isVisible()
