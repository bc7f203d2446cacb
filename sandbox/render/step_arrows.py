"""The anatomy arrows at each ball, as world-space segments (pure numpy, no GL).

Each run's `Trail.arrows` are displacements in the plane's coordinates: −η∇f, −η·m and the step
θ_{k+1} − θ_k (`ARROW_COLORS` order). Each is drawn from the surface under the ball, draped on the
drawn mesh like a trail, with an arrowhead at its tip. They are drawn with the trails' marks, in
full view (a canyon's near wall would hide an arrow down into it), and the balls over them.
"""

from __future__ import annotations

import numpy as np

from sandbox.render.line_segments import WORLD_SEGMENT, world_segments
from sandbox.render.scene import ARROW_COLORS, Trail
from sandbox.render.world import LIFT, MeshHeights, WorldTransform, mesh_height

SHAFT_POINTS = 17  # samples along a shaft: it follows the mesh's creases between them
HEAD_PX = 12.0  # arrowhead length on screen (at most 40 % of the arrow)
# Line widths in ARROW_COLORS order, widest first: the step is drawn last and thinnest, so where
# it coincides with −η∇f (plain GD) it shows as a yellow core inside a cyan rim, not over it.
ARROW_WIDTHS = (1.0, 0.78, 0.46)  # × the trails' width
ARROW_LIFT = 2.0  # × the trails' lift: arrows over the trail they start on


def step_arrows(
    trails: tuple[Trail, ...],
    head_uvs: list[np.ndarray | None],
    world: WorldTransform,
    vertex_h: MeshHeights,
    view_proj: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """WORLD_SEGMENT rows of every trail's arrows; `head_uvs[i]` is where trail i's ball is on
    the surface ((u, v); None: no ball in the view, no arrows)."""
    rows = [np.zeros(0, dtype=WORLD_SEGMENT)]
    for trail, start in zip(trails, head_uvs, strict=True):
        if start is None:
            continue
        looks = zip(trail.arrows, ARROW_COLORS, ARROW_WIDTHS, strict=False)
        for vector, color, width in looks:
            if vector is not None:
                arrow = _arrow(start, vector, color, world, vertex_h, view_proj, size)
                arrow["width"] = width
                rows.append(arrow)
    return np.concatenate(rows)


def ball_spots(paths) -> list[np.ndarray | None]:
    """Where each draped path's ball is on the surface, (u, v); None without a ball in view."""
    return [p.trail.head_uv if p.trail.has_head and not p.trail.outside else None for p in paths]


def _arrow(start, vector, color, world, vertex_h, view_proj, size) -> np.ndarray:
    """One arrow from surface point `start` (u, v) along data vector `vector`, cut where it
    leaves the surface's footprint."""
    (x0, x1), (y0, y1) = world.bounds
    delta = np.asarray(vector, dtype=np.float64) / [x1 - x0, y1 - y0]
    if not np.all(np.isfinite(delta)) or not np.any(delta):
        return np.zeros(0, dtype=WORLD_SEGMENT)
    reach = _inside(start, delta)
    t = np.linspace(0.0, reach, SHAFT_POINTS)
    uv = start + t[:, None] * delta
    points = world.world(uv, mesh_height(vertex_h, uv) + ARROW_LIFT * LIFT / world.zscale)
    shaft = world_segments(points[:-1], points[1:], color, cap=np.r_[np.zeros(len(t) - 2), 1])
    if reach < 1.0:  # cut at the surface's edge: no head, which would mark a tip that isn't
        return shaft
    return np.concatenate([shaft, _head(points, color, view_proj, size)])


def _inside(start: np.ndarray, delta: np.ndarray) -> float:
    """The largest t ≤ 1 with start + t·delta inside the unit square."""
    t = 1.0
    for s, d in zip(start, delta, strict=True):
        if d > 0:
            t = min(t, (1.0 - s) / d)
        elif d < 0:
            t = min(t, -s / d)
    return max(t, 0.0)


def _head(points: np.ndarray, color, view_proj: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Two strokes back from the tip, HEAD_PX long on screen, in the plane of the last part of
    the shaft (so they lie on the surface as the shaft does)."""
    tip = points[-1]
    along = tip - points[0]
    length = float(np.linalg.norm(along))
    if not length > 0:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    pixels = max(
        np.linalg.norm(view_proj[0, :3]) * size[0] / 2,
        np.linalg.norm(view_proj[1, :3]) * size[1] / 2,
    )  # pixels per world unit at clip w = 1
    w = max(float(tip @ view_proj[3, :3] + view_proj[3, 3]), 1e-3)
    head = min(HEAD_PX * w / max(pixels, 1e-9), 0.4 * length)
    heading = tip - points[-2] if len(points) > 1 else along
    heading = heading / max(float(np.linalg.norm(heading)), 1e-300)
    side = np.array([-heading[1], heading[0], 0.0])
    side /= max(float(np.linalg.norm(side)), 1e-300)
    back = tip - heading * head
    wings = np.stack([back + 0.55 * head * side, back - 0.55 * head * side])
    return world_segments(wings, np.stack([tip, tip]), color)
