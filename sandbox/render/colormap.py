"""Colormaps shipped in `assets/colormaps/` (256 RGB rows, low values first)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sandbox.resources import data_dir

DEFAULT_COLORMAP = "viridis"


@lru_cache(maxsize=8)
def load_colormap(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Shape (256, 3) float32 RGB in [0, 1]; row 0 is the colour of the lowest loss."""
    table = np.loadtxt(data_dir("assets") / "colormaps" / f"{name}.csv", delimiter=",")
    if table.shape != (256, 3):
        raise ValueError(f"colormap {name} must have 256 rows of R,G,B, got {table.shape}")
    table = table.astype(np.float32)
    table.flags.writeable = False
    return table


def colormap_rgb8(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Shape (256, 3) uint8: the colours as they land in an 8-bit framebuffer."""
    return np.round(load_colormap(name) * 255).astype(np.uint8)
