"""The command line: `cnn-viewer` (the window) and one module per subcommand."""
