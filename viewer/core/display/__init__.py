"""Numbers into pictures: channel mosaics and colormaps, made in the engine's thread."""
