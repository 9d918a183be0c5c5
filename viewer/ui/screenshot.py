"""Screenshot mode (`--screenshot FILE`): save the window after N results and quit; give up
at once when the source fails for good, or after ``--wait`` seconds without a result.
Runs in the GUI thread."""

from __future__ import annotations

import sys

from cnn_viewer.core.options import ViewerOptions

FAILURE_POLL_MS = 100  # how often the source's status is read for a failure that is final


def arm_screenshot(app, window, options: ViewerOptions, source_error: str | None = None) -> None:
    """After ``options.frames`` results are shown, save the window as PNG and quit.

    The pad and still images only make a frame when they change, so the frame is sent
    again after each result until enough have been shown; cameras and videos stream.
    A source that fails for good (``source_error``: it could not be opened; or its status
    says "unavailable" before it sent a frame: no such camera, a video with no readable
    frame, no readable image) ends the run at once. When no new result is shown for
    ``options.wait`` seconds (a slow source) the window is saved as it is, with what it says
    about the source, and the exit status is 1: the wait restarts with every result, so a
    slow model that keeps producing them is never cut off.
    """
    from PyQt6.QtCore import QTimer

    # Exactly one of the endings runs: reaching the frames stops the timers, and giving up
    # stops them and takes the listener away.
    watchdog = QTimer(window)
    watchdog.setSingleShot(True)
    watchdog.setInterval(min(max(1, round(options.wait * 1000)), 2**31 - 1))
    failure_check = QTimer(window)
    failure_check.setInterval(FAILURE_POLL_MS)

    def after(result) -> None:
        if window.shown >= options.frames:
            window.events.rendered.disconnect(after)
            watchdog.stop()
            failure_check.stop()
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

    def give_up(problem: str, advice: str) -> None:
        watchdog.stop()
        failure_check.stop()
        window.events.rendered.disconnect(after)
        ok = window.save_screenshot(options.screenshot)
        saved = (
            f"saved the window as it is to {options.screenshot}"
            if ok
            else f"could not write {options.screenshot} either"
        )
        print(f"cnn-viewer: error: {problem}; {saved}. {advice}", file=sys.stderr)
        app.exit(1)

    def waited_too_long() -> None:
        detail = wait_detail(window)
        give_up(
            f"no result from source {window.state.source!r} for {options.wait:g} s"
            + (f" ({detail})" if detail else ""),
            "Check the source (or pick another with --source), or give it longer with "
            "--wait SECONDS",
        )

    def failed_for_good(message: str) -> None:
        give_up(
            f"source {options.source!r} failed: {message}",
            "Check the source, or pick another with --source",
        )

    def check_source() -> None:
        message = permanent_failure(window)
        if message is not None:
            failed_for_good(message)

    watchdog.timeout.connect(waited_too_long)
    failure_check.timeout.connect(check_source)
    window.events.rendered.connect(after)
    if source_error is not None:
        QTimer.singleShot(0, lambda: failed_for_good(source_error))
        return
    watchdog.start()
    failure_check.start()
    window.request_frame()


def permanent_failure(window) -> str | None:
    """The source's message when it has failed for good: its state is "unavailable" and
    it never delivered a frame (a missing camera, a video or images that cannot be read).
    None while it runs, starts, stalls or ends (those may still bring results)."""
    source = window.source
    if source is None:
        return None
    try:
        status = source.status()
    except Exception:  # noqa: BLE001 - a status that fails is no verdict; --wait still ends it
        return None
    if status.state == "unavailable" and status.frames == 0:
        return status.message or f"{source.name} is unavailable"
    return None


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
