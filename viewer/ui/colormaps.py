"""Lookup tables: mosaic values 0..254 through a colormap, 255 (the gap) as background."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from viewer.core.mosaic import GAP, LEVELS

BACKGROUND = (38, 40, 46)


def mosaic_lut(name: str = "inferno") -> np.ndarray:
    """256 x 3 uint8: indices 0..LEVELS along the colormap, GAP painted as background."""
    lut = np.empty((256, 3), np.uint8)
    lut[: LEVELS + 1] = pg.colormap.get(name).getLookupTable(0.0, 1.0, LEVELS + 1, alpha=False)
    lut[GAP] = BACKGROUND
    return lut


def heat_lut(name: str = "turbo") -> np.ndarray:
    """256 x 4 uint8 RGBA for a saliency overlay: transparent at 0, opaque at the top."""
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    lut[:, 3] = np.clip(np.linspace(0, 1.6, 256), 0, 1) * 200
    return lut
