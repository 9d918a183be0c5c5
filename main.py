"""Run cnn-viewer from a checkout: `python main.py [args]` is the same as `cnn-viewer [args]`."""

import sys

from cnn_viewer.cli import main

if __name__ == "__main__":
    sys.exit(main())
