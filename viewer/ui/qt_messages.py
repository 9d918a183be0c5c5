"""Qt's own messages, minus known chatter that says nothing to a user.

The offscreen platform plugin prints "This plugin does not support propagateSizeHints()"
each time a window's size hints change (1-3 times a run); that exact line is dropped and
every other Qt message goes where it went before (the previous handler, else stderr in
Qt's default "category: message" form). GUI thread or any thread (Qt calls the handler
from the thread that logs).
"""

from __future__ import annotations

import sys

# Whole messages dropped (exact text, nothing else is filtered).
QUIET = frozenset({"This plugin does not support propagateSizeHints()"})

_installed = False


def install_message_filter() -> None:
    """Install the filter once per process (later calls do nothing)."""
    global _installed
    if _installed:
        return
    from PyQt6.QtCore import qInstallMessageHandler

    previous = None

    def handler(kind, context, message) -> None:
        if message in QUIET:
            return
        if previous is not None:
            previous(kind, context, message)
            return
        category = context.category if context is not None else None
        prefix = f"{category}: " if category and category != "default" else ""
        print(f"{prefix}{message}", file=sys.stderr, flush=True)

    previous = qInstallMessageHandler(handler)
    _installed = True
