"""Screenshot mode (`--screenshot FILE`): save the window after N results and quit, or give
up after ``--wait`` seconds without one. Runs in the GUI thread."""

from __future__ import annotations

import sys

from cnn_viewer.core.options import ViewerOptions


def arm_screenshot(app, window, options: ViewerOptions) -> None:
    """After ``options.frames`` results are shown, save the window as PNG and quit.

    The pad and still images only make a frame when they change, so the frame is sent
    again after each result until enough have been shown; cameras and videos stream.
    When no new result is shown for ``options.wait`` seconds (a camera that is not there,
    a video that cannot be read) the window is saved as it is, with what it says about the
    source, and the exit status is 1: the wait restarts with every result, so a slow model
    that keeps producing them is never cut off.
    """
    from PyQt6.QtCore import QTimer

    # Exactly one of the two endings runs: reaching the frames stops the watchdog, and
    # the watchdog giving up takes the listener away.
    watchdog = QTimer(window)
    watchdog.setSingleShot(True)
    watchdog.setInterval(min(max(1, round(options.wait * 1000)), 2**31 - 1))

    def after(result) -> None:
        if window.shown >= options.frames:
            window.events.rendered.disconnect(after)
            watchdog.stop()
            QTimer.singleShot(50, save_and_quit)  # let the last paint land first
        else:
            watchdog.start()  # a result came: wait afresh for the next one
            window.request_frame()

    def save_and_quit() -> None:
        ok = window.save_screenshot(options.screenshot)
        if ok:
            print(f"saved {options.screenshot}")
        else:
            print(f"cnn-viewer: error: could not write {options.screenshot}", file=sys.stderr)
        app.exit(0 if ok else 1)

    def gave_up() -> None:
        window.events.rendered.disconnect(after)
        ok = window.save_screenshot(options.screenshot)
        spec = window.state.source
        detail = wait_detail(window)
        saved = (
            f"saved the window as it is to {options.screenshot}"
            if ok
            else f"could not write {options.screenshot} either"
        )
        print(
            f"cnn-viewer: error: no result from source {spec!r} for {options.wait:g} s"
            + (f" ({detail})" if detail else "")
            + f"; {saved}. Check the source (or pick another with --source), or give it "
            "longer with --wait SECONDS",
            file=sys.stderr,
        )
        app.exit(1)

    watchdog.timeout.connect(gave_up)
    window.events.rendered.connect(after)
    watchdog.start()
    window.request_frame()


def wait_detail(window) -> str:
    """What the window says about the missing results: the source's own message when it is
    not running, else the status bar's passing message or its source line."""
    source = window.source
    if source is not None:
        try:
            status = source.status()
        except Exception:  # noqa: BLE001 - the message is a courtesy; never fail the exit over it
            status = None
        if status is not None and status.state != "running" and status.message:
            return status.message
    return window.statusBar().currentMessage() or window.status_text.text()
