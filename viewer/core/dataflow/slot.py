"""A latest-item slot: writing replaces what was there, so nothing ever queues."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item. Safe to use from any thread.

    ``put`` replaces an unread item (counted in ``dropped``); ``take`` waits for an
    item newer than the last one taken and removes it; ``peek`` returns the newest
    item without removing it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._version = 0
        self._wakes = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._version += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> T | None:
        """Remove and return the item, waiting up to ``timeout`` s; None if none came."""
        with self._cond:
            if self._item is None:
                wakes = self._wakes
                self._cond.wait_for(lambda: self._item is not None or self._wakes != wakes, timeout)
            return self._pop()

    def wait_empty(self, timeout: float | None = None) -> bool:
        """Wait until the item has been taken (or the slot is woken); True if empty."""
        with self._cond:
            wakes = self._wakes
            self._cond.wait_for(lambda: self._item is None or self._wakes != wakes, timeout)
            return self._item is None

    def take_nowait(self) -> T | None:
        with self._cond:
            return self._pop()

    def _pop(self) -> T | None:
        """Remove the item (lock held) and tell ``wait_empty`` waiters."""
        item, self._item = self._item, None
        if item is not None:
            self._cond.notify_all()
        return item

    def peek(self) -> T | None:
        """The unread item, left in place; None if there is none."""
        with self._cond:
            return self._item

    def wake(self) -> None:
        """Wake any waiting ``take``, which then returns None at once (used on shutdown)."""
        with self._cond:
            self._wakes += 1
            self._cond.notify_all()

    @property
    def version(self) -> int:
        return self._version
