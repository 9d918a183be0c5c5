"""Start the Qt application: platform checks, theme, the main window with its features."""

from __future__ import annotations

import ctypes.util
import os
import sys

from cnn_viewer.core.options import ViewerOptions
from cnn_viewer.resources import RESOURCES
from cnn_viewer.ui.screenshot import arm_screenshot


def platform_problem() -> str | None:
    """Why a real window cannot open here, or None. Checked before QApplication exists."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform.startswith(
        ("offscreen", "minimal", "wayland")
    ):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return (
            "no display found (DISPLAY is not set). Run it on a desktop, or set "
            "QT_QPA_PLATFORM=offscreen with --screenshot FILE to render without one."
        )
    if ctypes.util.find_library("xcb-cursor") is None:
        return (
            "Qt 6 needs the system library libxcb-cursor0 for a window on X11. Install it "
            "(Debian/Ubuntu: sudo apt install libxcb-cursor0; Fedora: sudo dnf install "
            "xcb-util-cursor) and start cnn-viewer again."
        )
    return _probe_qt()


def _probe_qt() -> str | None:
    """Start Qt once in a child process: a platform plugin that cannot load aborts the
    process (no exception to catch), so find out before this process depends on it."""
    import subprocess

    code = "from PyQt6.QtWidgets import QApplication; QApplication([])"
    try:
        probe = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not test the display ({exc})"
    if probe.returncode == 0:
        return None
    lines = [ln for ln in probe.stderr.splitlines() if ln.strip()]
    detail = lines[0] if lines else f"exit status {probe.returncode}"
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    return (
        f"Qt could not open a window on display {display!r}: {detail}. Check that the "
        "display is running; on Debian/Ubuntu Qt 6 also needs: sudo apt install "
        "libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0. "
        "Without a display: QT_QPA_PLATFORM=offscreen with --screenshot FILE."
    )


def make_app(argv: list[str] | None = None):
    """The QApplication, with pyqtgraph set to row-major images and the dark theme."""
    import pyqtgraph as pg
    from PyQt6.QtGui import QColor, QPalette
    from PyQt6.QtWidgets import QApplication

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    from cnn_viewer.ui.window.qimage_leak import patch_pyqtgraph

    patch_pyqtgraph()  # PyQt6 leaks ~100 bytes per image update otherwise
    from cnn_viewer.ui.qt_messages import install_message_filter

    install_message_filter()  # no "propagateSizeHints()" chatter from the offscreen plugin
    app = QApplication.instance() or QApplication(argv or ["cnn-viewer"])
    app.setApplicationName("cnn-viewer")
    app.setOrganizationName("cnn-viewer")
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in [
        (QPalette.ColorRole.Window, "#26282e"),
        (QPalette.ColorRole.WindowText, "#e1e4ea"),
        (QPalette.ColorRole.Base, "#1d1f24"),
        (QPalette.ColorRole.AlternateBase, "#2c2f36"),
        (QPalette.ColorRole.Text, "#e1e4ea"),
        (QPalette.ColorRole.Button, "#33363e"),
        (QPalette.ColorRole.ButtonText, "#e1e4ea"),
        (QPalette.ColorRole.Highlight, "#ffa62b"),
        (QPalette.ColorRole.HighlightedText, "#1d1f24"),
        (QPalette.ColorRole.ToolTipBase, "#33363e"),
        (QPalette.ColorRole.ToolTipText, "#e1e4ea"),
    ]:
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    qss = RESOURCES / "style.qss"
    if qss.is_file():
        app.setStyleSheet(qss.read_text())
    return app


def run_viewer(options: ViewerOptions, draw: int | None = None) -> int:
    """Open the window and run until it closes. Returns the process exit status."""
    problem = platform_problem()
    if problem:
        print(f"cnn-viewer: cannot open a window: {problem}", file=sys.stderr)
        return 1
    from cnn_viewer.models import CheckpointError
    from cnn_viewer.models.zoo.loaded import WeightsUnavailable
    from cnn_viewer.ui.session.startup import StartUp, record_problem

    problem = record_problem(options)
    if problem:
        print(f"cnn-viewer: error: {problem}", file=sys.stderr)
        return 1
    start = StartUp(options)  # saved settings, unless --screenshot
    try:
        model = start.load_model()
    except (CheckpointError, WeightsUnavailable, ValueError) as exc:
        print(f"cnn-viewer: error: {exc}", file=sys.stderr)
        return 1
    if options.layers is not None:
        from cnn_viewer.models.zoo.layer_choice import check_layer_names

        try:
            check_layer_names(model.module, list(options.layers))
        except ValueError as exc:
            print(f"cnn-viewer: error: {exc}", file=sys.stderr)
            return 1
    if options.source != "pad":
        from cnn_viewer.core.sources.open_source import parse_source_spec

        try:
            parse_source_spec(options.source)
        except ValueError as exc:
            print(f"cnn-viewer: error: {exc}", file=sys.stderr)
            return 1

    app = make_app()
    from cnn_viewer.ui.window.quit_signals import install_quit_signals, remove_quit_signals

    install_quit_signals(app)  # Ctrl+C / SIGTERM close the window cleanly
    try:
        return _run_window(app, model, start, options, draw)
    finally:
        remove_quit_signals()  # in-process callers (tests, scripts) get their handlers back


def _run_window(app, model, start, options: ViewerOptions, draw) -> int:
    from cnn_viewer.ui.features import build_window

    window = build_window(
        model,
        top_k=options.top_k,
        saliency=options.saliency,
        threads=options.threads,
        model_options=start.model_options,
    )
    window.show()
    start.apply(window)
    if options.layers is not None:  # the command line's rows beat the saved ones
        window.state.layers = tuple(options.layers)
    source = start.source()
    source_error = None
    if source != "pad" and not window.set_source(source):
        source_error = window.last_error  # e.g. a video OpenCV cannot open
    window.show_first_input(draw)
    if options.screenshot:
        arm_screenshot(app, window, options, source_error)
    if options.record:
        from cnn_viewer.ui.session.startup import arm_record

        if not arm_record(app, window, options):
            window.close()
            return 1
    code = app.exec()
    window.shutdown()  # also when app.exit() ended it without a close (--screenshot, --frames)
    return code or _record_status(window, options)


def _record_status(window, options: ViewerOptions) -> int:
    outcome = window.features.session.recording.last_outcome
    if not options.record or outcome is None:
        return 0
    print(outcome.message if outcome.ok else f"cnn-viewer: error: {outcome.message}")
    return 0 if outcome.ok else 1
