"""The one exception every long job raises when its caller asks it to stop."""

from __future__ import annotations

from collections.abc import Callable


class Cancelled(Exception):
    """Raised inside a long job (training, a download, an attribution, a scan, feature
    visualisation) when the caller's stop flag says so. Its message says where it stopped."""


def stop_if(should_stop: Callable[[], bool] | None, message: str) -> None:
    """Raise Cancelled(message) when ``should_stop()`` says so (None: never)."""
    if should_stop is not None and should_stop():
        raise Cancelled(message)
