"""F1 lists every key the window has, including keys that features add."""

from PyQt6.QtCore import Qt

from cnn_viewer.ui.window.help_overlay import key_table


def test_help_lists_every_action_key_and_closes_on_a_key(window, qtbot):
    window.add_action("probe", "Probe action", ["Ctrl+Alt+J"], lambda: None, "Extra")
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
    window.grab().save("/tmp/help_shot.png")
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert not overlay.isVisible()
    # Menus added by features go before Help, which stays last.
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[-1] == "Help" and titles.index("Extra") < titles.index("Help")
