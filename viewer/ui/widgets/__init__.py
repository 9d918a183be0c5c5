"""The window's building blocks: image views, the drawing pad, the source, layer, prediction
and input panels, the layer picker, the colour bar.
"""
