"""The window's menus, toolbar actions and keys, in one table."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMenu, QToolBar

from cnn_viewer.core.sources.open_source import parse_source_spec

# Shown first in the model list: one of each family a learner meets.
FEATURED = [
    "digits",
    "resnet18",
    "resnet50",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "vgg16",
    "squeezenet1_1",
    "densenet121",
    "regnet_y_400mf",
    "convnext_tiny",
    "alexnet",
    "googlenet",
    "vit_b_16",
]


def model_names() -> list[str]:
    from cnn_viewer.models import list_models

    names = list_models()
    return [n for n in FEATURED if n in names] + [n for n in names if n not in FEATURED]


def source_kind(spec: str) -> str:
    """'pad', 'camera', 'video' or 'images' for a source spec."""
    if spec == "pad":
        return "pad"
    kind = parse_source_spec(spec).kind
    return kind if kind in ("camera", "video") else "images"


def open_file_filter() -> str:
    from cnn_viewer.core.sources.open_source import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    patterns = " ".join(f"*.{e}" for e in (*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS))
    return f"Images and videos ({patterns});;All files (*)"


def build_actions(win, bar: QToolBar) -> dict[str, QAction]:
    """Create every action with its keys; put some on the toolbar and all in the menus."""

    def toggle_saliency():
        box = win.saliency_box
        box.setCurrentIndex((box.currentIndex() + 1) % box.count())

    table = [
        # name, text, keys, slot, menu, on toolbar
        ("open", "Open image, video or folder…", ["Ctrl+O"], win.open_file_dialog, "File", False),
        (
            "open_folder",
            "Open folder of images…",
            ["Ctrl+Shift+F"],
            win.open_folder_dialog,
            "File",
            False,
        ),
        (
            "checkpoint",
            "Open checkpoint…",
            ["Ctrl+Shift+O"],
            win.open_checkpoint_dialog,
            "File",
            False,
        ),
        ("screenshot", "Screenshot", ["Ctrl+S"], win.save_screenshot_dialog, "File", True),
        ("quit", "Quit", ["Ctrl+Q"], win.close, "File", False),
        ("freeze", "Freeze", [Qt.Key.Key_Space], win.set_frozen, "View", True),
        ("layers", "Layers…", [Qt.Key.Key_L], win.choose_layers, "View", True),
        ("saliency", "Toggle saliency", [Qt.Key.Key_G], toggle_saliency, "View", False),
        (
            "clear",
            "Clear pad",
            [Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_C],
            win.clear_pad,
            "Source",
            False,
        ),
        ("example", "Example digit", [Qt.Key.Key_E], win.draw_example, "Source", False),
        ("prev", "Previous image", [Qt.Key.Key_Left], lambda: win.step_source(-1), "Source", False),
        (
            "next",
            "Next image / step video",
            [Qt.Key.Key_Right],
            lambda: win.step_source(1),
            "Source",
            False,
        ),
        ("pause", "Pause / play video", [Qt.Key.Key_P], win.toggle_pause, "Source", False),
        (
            "help",
            "Keys (help)",
            [Qt.Key.Key_F1, Qt.Key.Key_Question],
            win.toggle_help,
            "Help",
            True,
        ),
    ]
    actions = {}
    for name, text, keys, slot, menu, on_bar in table:
        action = add_action(win, name, text, keys, slot, menu, checkable=name == "freeze")
        if on_bar:
            bar.addAction(action)
        actions[name] = action
    return actions


def add_action(win, name, text, keys, slot, menu: str, checkable: bool = False) -> QAction:
    """An action with its keys in the window's ``menu`` (created on first use)."""
    action = QAction(text, win)
    action.setObjectName(f"action_{name}")
    action.setShortcuts([QKeySequence(k) for k in keys])
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if checkable:
        action.setCheckable(True)
        action.toggled.connect(slot)
    else:
        action.triggered.connect(slot)
    menus = win.menus
    if menu not in menus:
        if "Help" in menus:  # Help stays last
            menus[menu] = QMenu(menu, win)
            win.menuBar().insertMenu(menus["Help"].menuAction(), menus[menu])
        else:
            menus[menu] = win.menuBar().addMenu(menu)
    menus[menu].addAction(action)
    win.addAction(action)
    return action
