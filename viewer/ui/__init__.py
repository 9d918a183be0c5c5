"""Everything that imports PyQt6 or pyqtgraph: the window, its panels and the drawing pad."""
