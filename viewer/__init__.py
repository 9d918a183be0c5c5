"""cnn-viewer: see what a convolutional network sees, live."""

__version__ = "0.1.0"
