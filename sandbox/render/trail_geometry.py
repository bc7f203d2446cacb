"""Trails, balls and drop lines as GPU instance arrays (pure numpy, no GL).

Paths are thinned in screen space before upload: a 10k-step run that crawls is mostly
sub-pixel segments, and each one would cost a quad of fragments on software GL.
"""

from __future__ import annotations

import numpy as np

from sandbox.render.camera import project_points
from sandbox.render.layouts import BALL_INSTANCE, SEGMENT_INSTANCE
from sandbox.render.world import PreparedTrail, WorldTransform, sample_bilinear

STYLE_SPHERE, STYLE_RING, STYLE_FOOT = 0.0, 1.0, 2.0
# The bright tail covers the last max(TAIL_MIN_STEPS, TAIL_FRACTION * steps) steps.
TAIL_MIN_STEPS = 25
TAIL_FRACTION = 0.08


def arc_length_decimate(px: np.ndarray, step_px: float) -> np.ndarray:
    """Indices of points kept so that consecutive kept points are ~`step_px` apart along the path.

    The first and last points are always kept; points that do not move (a stalled run) collapse.
    """
    count = len(px)
    if count <= 2:
        return np.arange(count)
    seg = np.linalg.norm(np.diff(px, axis=0), axis=1)
    seg = np.where(np.isfinite(seg), seg, step_px)  # behind the camera: keep, let the GPU clip
    bucket = np.floor(np.concatenate([[0.0], np.cumsum(seg)]) / step_px)
    keep = np.flatnonzero(np.diff(bucket) > 0) + 1
    return np.unique(np.concatenate([[0], keep, [count - 1]]))


def tail_fade(step_index: np.ndarray) -> np.ndarray:
    """1 at the current step, falling towards 0 over the tail."""
    if len(step_index) == 0:
        return np.zeros(0)
    last = step_index[-1]
    tail = max(TAIL_MIN_STEPS, TAIL_FRACTION * (last + 1))
    return np.exp(-(last - step_index) / tail)


def surface_points(uv: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """(N, 4) points (u, v, h, drape): draped on the mesh when `h` is None."""
    points = np.zeros((len(uv), 4), dtype=np.float32)
    points[:, :2] = uv
    if h is None:
        points[:, 3] = 1.0
    else:
        points[:, 2] = h
    return points


def trail_segments(
    trail: PreparedTrail,
    world: WorldTransform,
    grid_h: np.ndarray,
    view_proj: np.ndarray,
    size: tuple[int, int],
    step_px: float,
) -> np.ndarray:
    """SEGMENT_INSTANCE rows for one trail's path, thinned to ~`step_px` on screen."""
    if len(trail.uv) < 2:
        return SEGMENT_INSTANCE.empty(0)
    approx = world.world(trail.uv, sample_bilinear(grid_h, trail.uv))
    kept = arc_length_decimate(project_points(view_proj, approx, size), step_px)
    points = surface_points(trail.uv[kept])
    fade = tail_fade(trail.step_index)[kept]
    segments = SEGMENT_INSTANCE.empty(len(kept) - 1)
    segments["in_p0"], segments["in_p1"] = points[:-1], points[1:]
    segments["in_color"] = trail.trail.color
    segments["in_fade"] = np.column_stack([fade[:-1], fade[1:]])
    segments["in_width"] = 1.0
    return segments


def head_point(trail: PreparedTrail) -> np.ndarray:
    """The ball's (u, v, h, drape): on the mesh, or floating at the true loss."""
    uv = trail.uv[-1:]
    return surface_points(uv) if trail.head_on_surface else surface_points(uv, [trail.head_h])


def drop_line(trail: PreparedTrail, dash_px: float) -> np.ndarray:
    """A dashed segment from a floating ball down (or up) to the surface under it."""
    if not trail.has_head or trail.head_on_surface:
        return SEGMENT_INSTANCE.empty(0)
    segment = SEGMENT_INSTANCE.empty(1)
    segment["in_p0"] = head_point(trail)
    segment["in_p1"] = surface_points(trail.uv[-1:])
    segment["in_color"] = trail.trail.color
    segment["in_fade"] = 1.0
    segment["in_width"] = 0.55
    segment["in_dash"] = dash_px
    return segment


def balls(trails: list[PreparedTrail], radius_px: float, with_feet: bool = True) -> np.ndarray:
    """BALL_INSTANCE rows: each run's current point (and the foot of its drop line)."""
    rows = []
    for trail in trails:
        if not trail.has_head:
            continue
        if with_feet and not trail.head_on_surface:
            foot = surface_points(trail.uv[-1:])[0]
            rows.append((foot, trail.trail.color, 0.42 * radius_px, STYLE_FOOT))
        style = STYLE_RING if trail.trail.diverged else STYLE_SPHERE
        rows.append((head_point(trail)[0], trail.trail.color, radius_px, style))
    out = BALL_INSTANCE.empty(len(rows))
    for field, column in zip(BALL_INSTANCE.names, zip(*rows)):
        out[field] = np.array(column)
    return out
