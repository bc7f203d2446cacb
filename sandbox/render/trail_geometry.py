"""Trails as arrays for the GPU: draped on the mesh, thinned, cut into segments (pure numpy).

Everything is placed in world space here; the line shader projects segments and expands them into
screen-space quads, so a path's segments are uploaded once and redrawn from any camera. Paths are
still thinned before upload: on software GL (llvmpipe) every segment costs a fixed amount of
vertex and triangle-setup work however small it is (all 4 x 10k segments of the benchmark take
~300 ms there, the thinned ~3k ~25 ms). Thinning works on world arc length with a step that
stands for ~2 pixels where the path is nearest the camera, rounded down to a power of sqrt(2):
orbiting at one distance keeps the same step, so the same segments. The marks at a trail's
head (balls, drop lines, exit arrows) are built in `trail_markers` and importable from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sandbox.render.line_segments import WORLD_SEGMENT, segment_vertices, world_segments
from sandbox.render.scene import Trail
from sandbox.render.trail_markers import (
    ARROW_PX,
    STYLE_FOOT,
    STYLE_RING,
    STYLE_SPHERE,
    ball_fronts,
    balls,
    drop_line,
    exit_arrows,
)
from sandbox.render.world import (
    LIFT,
    MeshHeights,
    PreparedTrail,
    WorldTransform,
    mesh_height,
    prepare_trail,
)

STEP_PX = 2.0  # thinning: most pixels between kept points, where a path is nearest the camera
# The bright tail covers the last max(TAIL_MIN_STEPS, TAIL_FRACTION * steps) steps.
TAIL_MIN_STEPS = 25
TAIL_FRACTION = 0.08
# Points brighter than this keep full detail on screen; older ones share a smaller budget.
TAIL_DETAIL_FADE = 0.25
# Lift of a straight segment above the surface, per unit of its world length (see path_segments).
SAG_LIFT = 0.12
# Overdraw cap (see `buried_segments`): a short segment is dropped where this many newer points
# already lie in the cells of both its ends; a cell is COVER_CELL_WIDTHS fresh line widths wide.
# In the benchmark's jittering runs this drops 55-65 % of the segments and visibly changes
# 0.01-0.04 % of the pixels, all inside the blobs (tests/test_render.py compares the frames).
COVER_POINTS = 3
COVER_CELL_WIDTHS = 1.5
# Arrowheads where a trail leaves the view: the newest few (a run bouncing across the edge
# crosses it hundreds of times; ARROW_PX in trail_markers is their length).
MAX_EXIT_MARKERS = 6

__all__ = [
    "ARROW_PX",
    "COVER_CELL_WIDTHS",
    "COVER_POINTS",
    "MAX_EXIT_MARKERS",
    "SAG_LIFT",
    "STEP_PX",
    "STYLE_FOOT",
    "STYLE_RING",
    "STYLE_SPHERE",
    "TAIL_DETAIL_FADE",
    "TAIL_FRACTION",
    "TAIL_MIN_STEPS",
    "WORLD_SEGMENT",
    "DrapedPath",
    "PathCache",
    "arc_length_decimate",
    "arc_lengths",
    "ball_fronts",
    "balls",
    "buried_segments",
    "drape",
    "drop_line",
    "exit_arrows",
    "extends",
    "path_segments",
    "same_trail",
    "segment_vertices",
    "thinning_step",
    "tail_fade",
    "world_segments",
]


def arc_lengths(points: np.ndarray) -> np.ndarray:
    """(N,) distance along the path from its first point (`points` (N, 2) or (N, 3))."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(np.where(np.isfinite(seg), seg, 0.0))])


def arc_length_decimate(
    px: np.ndarray,
    step_px: float,
    tail_from: int = 0,
    budget: tuple[int, int] = (1 << 30,) * 2,
    arc: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of points kept so that consecutive kept points are ~`step_px` apart along the path
    (pixels or world units: `px` is (N, 2) or (N, 3); `arc` its `arc_lengths` if known).

    The old part (before `tail_from`) and the recent tail each keep at most about `budget` =
    (old, tail) points, spaced further apart where needed: a run jittering for thousands of
    steps in one spot would otherwise pile thousands of quads onto a few pixels.
    The first and last points are always kept.
    """
    count = len(px)
    if count <= 2:
        return np.arange(count)
    arc = arc_lengths(px) if arc is None else arc
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


def buried_segments(xy: np.ndarray, cell: float, cover: int) -> np.ndarray:
    """Mask of the segments between consecutive `xy` points that newer segments bury.

    A run jittering in one spot for thousands of steps piles hundreds of thick quads onto a few
    pixels after thinning, and software GL shades every one of them, in one thread per screen
    tile. Segment i is buried when it is shorter than a cell and `cover` newer points already lie
    in the (`cell`-wide, world-space) grid cells of both its ends: the lines of those newer
    points, drawn on top and wider than a cell, hide it. World cells keep the choice
    independent of the camera (the paths' buffers stay valid while it orbits).
    """
    count = len(xy)
    if count < 3 or not cell > 0:
        return np.zeros(max(count - 1, 0), dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        cells = np.floor(xy / cell)
    finite = (np.abs(cells) < 2.0**30).all(axis=1)
    cells[~finite] = 0.0
    ij = cells.astype(np.int64)
    # one integer per cell; a point that is not finite (or absurdly far) gets a cell of its own
    group = np.where(finite, ij[:, 0] * 2**31 + ij[:, 1], -(2**62) - np.arange(count))
    order = np.argsort(group, kind="stable")  # by cell, then oldest first
    ordered = group[order]
    starts_group = np.empty(count, dtype=bool)
    starts_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    group_index = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], count)
    newer = np.empty(count, dtype=np.int64)  # points after this one in its cell
    newer[order] = ends[group_index] - 1 - np.arange(count)
    step = np.diff(xy, axis=0)
    short = step[:, 0] ** 2 + step[:, 1] ** 2 < cell * cell
    return short & (newer[:-1] >= cover) & (newer[1:] >= cover)


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
    arc: np.ndarray  # (M,) world distance along the path (`arc_lengths`), for every view
    bounds: np.ndarray  # (2, 3) lowest and highest x, y, z of the points (zeros if none)
    exit_tips: np.ndarray  # (K, 3) where the path leaves the view, on the mesh
    exit_headings: np.ndarray  # (K, 2) unit world directions (x, y) it leaves in

    @cached_property
    def box(self) -> np.ndarray:
        """(8, 3) corners of the points' bounding box (all at the origin for an empty path)."""
        lo, hi = self.bounds
        return np.array(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij")).reshape(3, 8).T


def drape(
    trail: PreparedTrail,
    world: WorldTransform,
    vertex_h: MeshHeights,
    prefix: DrapedPath | None = None,
) -> DrapedPath:
    """Put a trail on the drawn mesh (`vertex_h` from `world.mesh_heights`); the points of
    `prefix`, the draped first part of the same trail on the same mesh, are reused."""
    lift = LIFT / world.zscale
    done = len(prefix.points) if prefix is not None else 0
    new = world.world(trail.uv[done:], mesh_height(vertex_h, trail.uv[done:]) + lift)
    # the prefix's last point joins the new ones: their arc lengths and bounds continue its own
    joined = np.concatenate([prefix.points[-1:], new]) if done else new
    arc, bounds = arc_lengths(joined), np.zeros((2, 3))
    drawn = joined[np.isfinite(joined).all(axis=1)]  # NaN rows break a path that left the view
    if len(drawn):
        bounds = np.stack([drawn.min(axis=0), drawn.max(axis=0)])
    if done:
        arc = np.concatenate([prefix.arc, prefix.arc[-1] + arc[1:]])
        bounds = np.stack(
            [np.minimum(bounds[0], prefix.bounds[0]), np.maximum(bounds[1], prefix.bounds[1])]
        )
    points = np.concatenate([prefix.points, new]) if done else new
    fade = tail_fade(trail.step_index)
    tail_from = int(np.searchsorted(fade, TAIL_DETAIL_FADE))  # fade increases along the path
    ends = (np.zeros(3), np.zeros(3))
    if trail.has_head:
        at = trail.head_uv[None]
        foot = world.world(at, mesh_height(vertex_h, at) + lift)[0]
        head = foot if trail.head_on_surface else world.world(at, [trail.head_h])[0]
        ends = (head, foot)
    exits = trail.exits[-MAX_EXIT_MARKERS:]
    tips = world.world(exits[:, :2], mesh_height(vertex_h, exits[:, :2]) + lift)
    heading = exits[:, 2:] * np.asarray(world.half_extent)  # uv to world directions
    heading /= np.maximum(np.linalg.norm(heading, axis=1, keepdims=True), 1e-300)
    return DrapedPath(trail, points, fade, tail_from, *ends, arc, bounds, tips, heading)


def thinning_step(
    view_proj: np.ndarray, size: tuple[int, int], box: np.ndarray, step_px: float = STEP_PX
) -> float:
    """World distance that covers at most ~`step_px` pixels anywhere in the (8, 3) `box`,
    rounded down to a power of sqrt(2); 0 when the box reaches behind the camera."""
    scale = max(
        np.linalg.norm(view_proj[0, :3]) * size[0] / 2,
        np.linalg.norm(view_proj[1, :3]) * size[1] / 2,
    )  # pixels per world unit at clip w = 1
    nearest = float(np.min(box @ view_proj[3, :3] + view_proj[3, 3]))
    if not nearest > 1e-3 or not scale > 0:
        return 0.0
    step = step_px * nearest / scale
    return 2.0 ** (math.floor(2 * math.log2(step)) / 2)


def path_segments(
    path: DrapedPath, step: float, budget: tuple[int, int], line_width: float = 0.0
) -> np.ndarray:
    """WORLD_SEGMENT rows for one path, thinned to points ~`step` world units apart along it
    (see `arc_length_decimate` and `thinning_step`), without the segments that newer ones bury
    under lines `line_width` world units wide (see `buried_segments`)."""
    if len(path.points) < 2:
        return np.zeros(0, dtype=WORLD_SEGMENT)
    kept = arc_length_decimate(path.points, max(step, 1e-9), path.tail_from, budget, path.arc)
    # a break (the path left the view) and the edge points on either side are always kept: a
    # thinned path would otherwise join its exit and re-entry with a chord across the view
    breaks = np.flatnonzero(np.isnan(path.points[:, 0]))
    around = np.concatenate([breaks - 1, breaks, breaks + 1])
    kept = np.union1d(kept, around[(around >= 0) & (around < len(path.points))])
    points, fade = path.points[kept], path.fade[kept]
    shown = ~buried_segments(points[:, :2], COVER_CELL_WIDTHS * line_width, COVER_POINTS)
    finite = np.isfinite(points).all(axis=1)
    shown &= finite[:-1] & finite[1:]
    # A long straight segment over a hill (a thinned path) would sink into it: raise each point
    # by a fraction of the longer segment it ends, which covers the sag of gentle curvature.
    # Per point, not per segment, so that consecutive segments meet at exactly the same point.
    step = np.diff(points[:, :2], axis=0)
    length = np.hypot(step[:, 0], step[:, 1])
    length[~np.isfinite(length)] = 0.0
    sag = np.zeros(len(points))
    sag[:-1] = length
    np.maximum(sag[1:], length, out=sag[1:])
    # where a path leaves or enters the view it ends on the surface's edge, at its marker
    edge_uv = path.trail.uv[kept]
    sag[np.any((edge_uv == 0.0) | (edge_uv == 1.0), axis=1)] = 0.0
    lifted = points.copy()
    lifted[:, 2] += SAG_LIFT * sag
    p0, p1 = lifted[:-1][shown], lifted[1:][shown]
    fade = np.stack([fade[:-1][shown], fade[1:][shown]], axis=1)
    # Where the next segment is drawn and starts at this one's end, it draws the joint's disc
    # (its start cap): this one leaves out its end cap, ~30 % of the fragments of a jittering run.
    continued = np.zeros(len(shown), dtype=bool)
    continued[:-1] = shown[1:] & np.isfinite(lifted[2:]).all(axis=1)
    cap = np.where(continued[shown], 0.0, 1.0)
    return world_segments(p0, p1, path.trail.trail.color, fade, cap=cap)


def _looks(trail: Trail) -> tuple:
    return trail.name, trail.color, trail.diverged, trail.label


def same_trail(a: Trail, b: Trail) -> bool:
    """Whether two trails draw the same (NaN equals NaN)."""
    if a is b:
        return True
    return (
        _looks(a) == _looks(b)
        and np.array_equal(a.xy, b.xy, equal_nan=True)
        and np.array_equal(a.loss, b.loss, equal_nan=True)
    )


def extends(longer: Trail, shorter: Trail) -> bool:
    """Whether `longer` is `shorter` with points appended (the same run, some steps later)."""
    count = len(shorter.xy)
    return (
        _looks(longer) == _looks(shorter)
        and len(longer.xy) > count
        and np.array_equal(longer.xy[:count], shorter.xy, equal_nan=True)
        and np.array_equal(longer.loss[:count], shorter.loss, equal_nan=True)
    )


class PathCache:
    """The draped paths of the last frame, reused while a trail, the world transform and the mesh
    stay the same: the app builds new `Trail` objects every frame, so trails are compared by
    content (a few microseconds for 10k points), and a reused path keeps its identity, which is
    what keys its segments on the GPU. A trail that grew since (a running run) reuses its old
    points and drapes only the new ones."""

    def __init__(self) -> None:
        self._context: object = None
        self._entries: list[DrapedPath] = []

    def paths(
        self,
        trails: tuple[Trail, ...],
        world: WorldTransform,
        grid_h: np.ndarray,
        vertex_h: MeshHeights,
        mesh_key: object,
    ) -> list[DrapedPath]:
        """One `DrapedPath` per trail; `mesh_key` changes whenever `grid_h` or `vertex_h` do."""
        context = (world, mesh_key)
        old = self._entries if context == self._context else []
        out = []
        for trail in trails:
            reused = next((p for p in old if same_trail(p.trail.trail, trail)), None)
            if reused is None:  # a run that took more steps keeps its old points' work
                prefix = next((p for p in old if extends(trail, p.trail.trail)), None)
                prepared = prepare_trail(trail, world, grid_h, prefix and prefix.trail)
                reused = drape(prepared, world, vertex_h, prefix)
            out.append(reused)
        self._context, self._entries = context, out
        return out
