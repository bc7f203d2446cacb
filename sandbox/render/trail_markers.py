"""The marks at a trail's head, as arrays for the GPU (pure numpy, no GL): its ball (and the
ball's foot on the surface), the drop line between them, and arrowheads where it left the view."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sandbox.render.layouts import BALL_INSTANCE
from sandbox.render.line_segments import WORLD_SEGMENT, world_segments

if TYPE_CHECKING:
    from sandbox.render.trail_geometry import DrapedPath

STYLE_SPHERE, STYLE_RING, STYLE_FOOT = 0.0, 1.0, 2.0
# Arrowheads where a trail leaves the view are each ARROW_PX long.
ARROW_PX = 12.0


def drop_line(path: DrapedPath, dash_px: float) -> np.ndarray:
    """A dashed segment from a floating ball down (or up) to the surface under it."""
    trail = path.trail
    if not trail.has_head or trail.head_on_surface:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    return world_segments(path.head, path.foot, trail.trail.color, width=0.55, dash=dash_px)


def exit_arrows(
    path: DrapedPath, view_proj: np.ndarray, size: tuple[int, int], length_px: float
) -> np.ndarray:
    """WORLD_SEGMENT rows: an arrowhead (two strokes) at each of the path's newest exits from
    the view, pointing where the path went, about `length_px` long on screen."""
    tips, heading = path.exit_tips, path.exit_headings
    if len(tips) == 0:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    scale = max(
        np.linalg.norm(view_proj[0, :3]) * size[0] / 2,
        np.linalg.norm(view_proj[1, :3]) * size[1] / 2,
    )  # pixels per world unit at clip w = 1
    w = np.maximum(tips @ view_proj[3, :3] + view_proj[3, 3], 1e-3)
    length = length_px * w / max(scale, 1e-9)  # (K,) world units
    back = np.column_stack([-heading, np.zeros(len(tips))]) * length[:, None]
    side = np.column_stack([-heading[:, 1], heading[:, 0], np.zeros(len(tips))])
    side *= 0.6 * length[:, None]
    wings = np.concatenate([tips + back + side, tips + back - side])
    return world_segments(wings, np.concatenate([tips, tips]), path.trail.trail.color, width=0.7)


def ball_fronts(
    rows: np.ndarray, view_proj: np.ndarray, size: tuple[int, int], scale: float = 1.0
) -> np.ndarray:
    """BALL_INSTANCE rows with each centre moved towards the camera by the ball's radius
    (`scale` times its pixel radius, in world units there): the same spot on screen, at the
    depth of the ball's front, so a depth test hides only what the surface really covers."""
    if len(rows) == 0:
        return rows
    _, _, vh = np.linalg.svd(view_proj[[0, 1, 3]])
    eye = vh[-1, :3] / vh[-1, 3]  # clip x = y = w = 0 only there
    centres = rows["in_center"].astype(np.float64)
    toward = eye - centres
    distance = np.linalg.norm(toward, axis=1, keepdims=True)
    pixels = max(
        np.linalg.norm(view_proj[0, :3]) * size[0] / 2,
        np.linalg.norm(view_proj[1, :3]) * size[1] / 2,
    )  # pixels per world unit at clip w = 1
    w = centres @ view_proj[3, :3] + view_proj[3, 3]
    reach = np.minimum(scale * rows["in_radius"] * w / pixels, 0.5 * distance[:, 0])
    out = rows.copy()
    out["in_center"] = centres + toward / np.maximum(distance, 1e-12) * reach[:, None]
    return out


def balls(paths: list[DrapedPath], radius_px: float) -> np.ndarray:
    """BALL_INSTANCE rows: each run's current point and, for a floating one, its foot; a run
    outside the view is a hollow ring where it left the view."""
    rows = []
    for path in paths:
        trail = path.trail
        if not trail.has_head:
            continue
        if not trail.head_on_surface:
            rows.append((path.foot, trail.trail.color, 0.42 * radius_px, STYLE_FOOT))
        style = STYLE_RING if trail.trail.diverged or trail.outside else STYLE_SPHERE
        rows.append((path.head, trail.trail.color, radius_px, style))
    out = BALL_INSTANCE.empty(len(rows))
    for index, row in enumerate(rows):
        out[index] = row
    return out
