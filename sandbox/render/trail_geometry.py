"""Trails, drop lines and balls as arrays for the GPU (pure numpy, no GL).

Everything is placed in world space here and line segments are projected to pixels on the
CPU: on software GL (llvmpipe) vertex work runs on one thread, so the line shader only expands
ready-made screen segments into quads. Paths are thinned on screen before upload, since every
segment costs a fixed amount of vertex and triangle-setup work however small it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.render.camera import clip_points
from sandbox.render.layouts import BALL_INSTANCE, SEGMENT_VERTEX
from sandbox.render.world import LIFT, PreparedTrail, WorldTransform, mesh_height

STYLE_SPHERE, STYLE_RING, STYLE_FOOT = 0.0, 1.0, 2.0
# The bright tail covers the last max(TAIL_MIN_STEPS, TAIL_FRACTION * steps) steps.
TAIL_MIN_STEPS = 25
TAIL_FRACTION = 0.08
# Points brighter than this keep full detail on screen; older ones share a smaller budget.
TAIL_DETAIL_FADE = 0.25
# Lift of a straight segment above the surface, per unit of its world length (see path_segments).
SAG_LIFT = 0.12

# Line segments in world space, before projection (float64 positions, per-segment looks).
WORLD_SEGMENT = np.dtype(
    [
        ("p0", "f8", 3),
        ("p1", "f8", 3),
        ("color", "f4", 3),
        ("fade", "f4", 2),
        ("width", "f4"),
        ("dash", "f4"),
    ]
)


def world_segments(p0, p1, color, fade=1.0, width=1.0, dash=0.0) -> np.ndarray:
    """WORLD_SEGMENT rows from (N, 3) end points; the looks broadcast."""
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 3)
    out = np.zeros(len(p0), dtype=WORLD_SEGMENT)
    out["p0"], out["p1"], out["color"] = p0, np.asarray(p1).reshape(-1, 3), color
    out["fade"], out["width"], out["dash"] = fade, width, dash
    return out


def screen_segments(
    segments: np.ndarray, view_proj: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """SEGMENT_VERTEX rows: WORLD_SEGMENT end points as (x, y) pixels (GL: y up) and NDC depth.

    Segments with an end behind the camera are dropped.
    """
    c0, c1 = clip_points(view_proj, segments["p0"]), clip_points(view_proj, segments["p1"])
    visible = (c0[:, 3] > 1e-9) & (c1[:, 3] > 1e-9)
    c0, c1, segments = c0[visible], c1[visible], segments[visible]
    half = np.array([size[0] / 2, size[1] / 2, 1.0])  # NDC x, y to pixels; z stays NDC
    offset = np.array([size[0] / 2, size[1] / 2, 0.0])
    out = SEGMENT_VERTEX.empty(len(segments))
    out["in_s0"] = c0[:, :3] / c0[:, 3:4] * half + offset
    out["in_s1"] = c1[:, :3] / c1[:, 3:4] * half + offset
    out["in_color"], out["in_fade"] = segments["color"], segments["fade"]
    out["in_width"], out["in_dash"] = segments["width"], segments["dash"]
    return out


def arc_length_decimate(
    px: np.ndarray, step_px: float, tail_from: int = 0, budget: tuple[int, int] = (1 << 30,) * 2
) -> np.ndarray:
    """Indices of points kept so that consecutive kept points are ~`step_px` apart along the path.

    The old part (before `tail_from`) and the recent tail each keep at most about `budget` =
    (old, tail) points, spaced further apart where needed: a run jittering for thousands of
    steps in one spot would otherwise pile thousands of quads onto a few pixels.
    The first and last points are always kept.
    """
    count = len(px)
    if count <= 2:
        return np.arange(count)
    seg = np.linalg.norm(np.diff(px, axis=0), axis=1)
    seg = np.where(np.isfinite(seg), seg, step_px)  # behind the camera: keep, dropped later
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    tail_from = int(np.clip(tail_from, 0, count - 1))
    old_arc, tail_arc = arc[tail_from], arc[-1] - arc[tail_from]
    old_step = max(step_px, old_arc / max(budget[0], 1))
    tail_step = max(step_px, tail_arc / max(budget[1], 1))
    bucket = np.where(
        np.arange(count) < tail_from,
        np.floor(arc / old_step),
        np.floor((arc - old_arc) / tail_step) + np.floor(old_arc / old_step) + 1,
    )
    keep = np.flatnonzero(np.diff(bucket) > 0) + 1
    if len(keep) == 0 or keep[-1] != count - 1:
        keep = np.append(keep, count - 1)
    return np.concatenate([[0], keep])


def tail_fade(step_index: np.ndarray) -> np.ndarray:
    """1 at the current step, falling towards 0 over the tail."""
    if len(step_index) == 0:
        return np.zeros(0)
    last = step_index[-1]
    tail = max(TAIL_MIN_STEPS, TAIL_FRACTION * (last + 1))
    return np.exp(-(last - step_index) / tail)


@dataclass(frozen=True)
class DrapedPath:
    """A trail's points in world space on the drawn mesh, with their fade; shared by all views."""

    trail: PreparedTrail
    points: np.ndarray  # (M, 3) world points, lifted to sit on the mesh
    fade: np.ndarray  # (M,) 1 at the current point, towards 0 in the past
    tail_from: int  # first point of the bright tail
    head: np.ndarray  # (3,) world position of the ball (on the mesh or at the true loss)
    foot: np.ndarray  # (3,) world position of the surface under the ball


def drape(trail: PreparedTrail, world: WorldTransform, vertex_h: np.ndarray) -> DrapedPath:
    """Put a trail on the drawn mesh (`vertex_h` from `mesh_vertex_heights`)."""
    lift = LIFT / world.zscale
    h = mesh_height(vertex_h, trail.uv) + lift
    points = world.world(trail.uv, h)
    fade = tail_fade(trail.step_index)
    tail_from = int(np.searchsorted(fade, TAIL_DETAIL_FADE))  # fade increases along the path
    if not trail.has_head:
        return DrapedPath(trail, points, fade, tail_from, np.zeros(3), np.zeros(3))
    foot = points[-1]
    head = foot if trail.head_on_surface else world.world(trail.uv[-1:], [trail.head_h])[0]
    return DrapedPath(trail, points, fade, tail_from, head, foot)


def path_segments(
    path: DrapedPath,
    view_proj: np.ndarray,
    size: tuple[int, int],
    step_px: float,
    budget: tuple[int, int],
) -> np.ndarray:
    """WORLD_SEGMENT rows for one path, thinned on screen (see `arc_length_decimate`)."""
    if len(path.points) < 2:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    clip = clip_points(view_proj, path.points)
    with np.errstate(divide="ignore", invalid="ignore"):
        px = np.where(clip[:, 3:4] > 1e-9, clip[:, :2] / clip[:, 3:4], np.nan) * np.array(size) / 2
    kept = arc_length_decimate(px, step_px, path.tail_from, budget)
    points, fade = path.points[kept].copy(), path.fade[kept]
    p0, p1 = points[:-1].copy(), points[1:].copy()
    # A long straight segment over a hill (a thinned path) would sink into it: raise each
    # segment by a fraction of its own length, which covers the sag of gentle curvature.
    sag = SAG_LIFT * np.linalg.norm(p1[:, :2] - p0[:, :2], axis=1)
    p0[:, 2] += sag
    p1[:, 2] += sag
    return world_segments(p0, p1, path.trail.trail.color, np.column_stack([fade[:-1], fade[1:]]))


def drop_line(path: DrapedPath, dash_px: float) -> np.ndarray:
    """A dashed segment from a floating ball down (or up) to the surface under it."""
    trail = path.trail
    if not trail.has_head or trail.head_on_surface:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    return world_segments(path.head, path.foot, trail.trail.color, width=0.55, dash=dash_px)


def balls(paths: list[DrapedPath], radius_px: float) -> np.ndarray:
    """BALL_INSTANCE rows: each run's current point and, for a floating one, its foot."""
    rows = []
    for path in paths:
        trail = path.trail
        if not trail.has_head:
            continue
        if not trail.head_on_surface:
            rows.append((path.foot, trail.trail.color, 0.42 * radius_px, STYLE_FOOT))
        style = STYLE_RING if trail.trail.diverged else STYLE_SPHERE
        rows.append((path.head, trail.trail.color, radius_px, style))
    out = BALL_INSTANCE.empty(len(rows))
    for index, row in enumerate(rows):
        out[index] = row
    return out
