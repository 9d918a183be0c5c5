"""UI tests run real widgets offscreen; Qt warnings fail the test that caused them."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ["QT_QPA_PLATFORM"] == "offscreen":
    # Qt's offscreen screen is 800x800 unless told otherwise; windows restored from saved
    # geometry are fitted to the screen, so give the tests a 1920x1080 one, like a desk.
    _SCREEN = os.path.join(os.path.dirname(__file__), "offscreen_screen.json")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"

import pytest

from cnn_viewer.models import load_model

# Warnings Qt's offscreen platform prints for any window; they say nothing about our code.
BENIGN = ("propagateSizeHints",)


@pytest.fixture(scope="session")
def digits_model():
    return load_model("digits")


@pytest.fixture
def window(qtbot, digits_model):
    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.features import build_window

    make_app()
    win = build_window(digits_model, threads=1)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.shutdown()
    # A forward pass in flight finishes first (a ViT step takes over 1 s on a loaded box);
    # the close-race tests hold the app to its 2 s exit.
    win.worker.join(5.0)
    assert not win.worker.is_alive(), "the inference thread outlived the window"


@pytest.fixture(autouse=True)
def qt_warnings_fail(qtlog):
    yield
    bad = [
        r.message
        for r in qtlog.records
        if r.type.name in ("QtWarningMsg", "QtCriticalMsg", "QtFatalMsg")
        and not any(b in r.message for b in BENIGN)
    ]
    assert not bad, f"Qt warnings: {bad}"
