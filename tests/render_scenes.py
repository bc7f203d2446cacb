"""Scenes and pixel probes shared by the renderer's picture tests."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sandbox.render import SceneState

SIZE = (480, 270)
# Named tolerances (0-255 per channel)
COLORMAP_TOLERANCE = 6  # flat ground shows its exact colormap colour, up to 8-bit rounding
BALL_TOLERANCE = 20  # a ball's centre shows its run colour; FXAA softens a 4-pixel ball a little


def bowl_state(**changes) -> SceneState:
    """x² + y² on a 129 x 129 grid over [-1, 1]²: every other grid sample is a vertex of the
    64-cell mesh."""
    t = np.linspace(-1.0, 1.0, 129)
    x, y = np.meshgrid(t, t)
    state = SceneState("bowl", ((-1.0, 1.0), (-1.0, 1.0)), (x**2 + y**2).astype(np.float32))
    return replace(state, show_minimap=False, **changes)


def pixel(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return image[int(xy[1]), int(xy[0])].astype(int)


def nearest_colour_distance(image: np.ndarray, xy: np.ndarray, color, reach: int = 1) -> int:
    """Smallest max-channel difference from `color` within `reach` pixels of `xy`."""
    col, row = int(xy[0]), int(xy[1])
    window = image[row - reach : row + reach + 1, col - reach : col + reach + 1].astype(int)
    return int(np.abs(window - np.asarray(color)).max(axis=-1).min())
