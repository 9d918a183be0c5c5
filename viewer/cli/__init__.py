"""The command line: `cnn-viewer` (the window) and one module per subcommand; main() runs it."""

from cnn_viewer.cli.commands import main

__all__ = ["main"]
