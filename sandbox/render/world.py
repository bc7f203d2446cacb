"""From a `SceneState` in data units to the renderer's coordinates, robust to NaN and inf.

Three coordinate systems:

* data: (x, y) in `bounds`, loss values;
* surface: (u, v) in [0, 1]^2 across the bounds and a normalised height h, 0 at the lowest finite
  loss of the grid and 1 at the highest (after the optional log transform);
* world: z up, the footprint centred on the origin with its longer side 2 units long, and
  h = 1 at z = `ZSCALE`. The camera works in world coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sandbox.render.scene import Bounds, SceneState, Trail

ZSCALE = 0.7
# A footprint more elongated than this is squeezed: a 20:1 canyon would otherwise be a thin strip.
MAX_FOOTPRINT_ASPECT = 2.0
# Log heights show this many decades below the loss range, so an exact zero minimum stays finite.
LOG_DECADES = 3.0
# World height added to points draped on the surface so they are drawn on top of it.
LIFT = 0.004
# Normalised heights outside the grid's range (diverged or off-plane iterates) are clamped here.
H_CLAMP = (-0.25, 1.25)


@dataclass(frozen=True)
class HeightScale:
    """Loss to normalised height h (and back), linear or logarithmic."""

    log: bool
    lo: float  # transformed value at h = 0
    hi: float  # transformed value at h = 1
    shift: float = 0.0  # log mode: log10(loss - shift)
    floor: float = 1.0  # log mode: smallest loss - shift

    @classmethod
    def fit(cls, finite_lo: float, finite_hi: float, log: bool) -> HeightScale:
        """The scale mapping [finite_lo, finite_hi] onto [0, 1]."""
        if not log:
            return cls(False, finite_lo, max(finite_hi, finite_lo + 1e-12))
        shift = min(finite_lo, 0.0)
        floor = max((finite_hi - shift) * 10.0**-LOG_DECADES, 1e-30)
        lo = np.log10(max(finite_lo - shift, floor))
        hi = np.log10(max(finite_hi - shift, floor))
        return cls(True, float(lo), float(max(hi, lo + 1e-12)), shift, floor)

    def transform(self, loss: np.ndarray) -> np.ndarray:
        if not self.log:
            return loss
        return np.log10(np.maximum(loss - self.shift, self.floor))

    def normalise(self, loss: np.ndarray) -> np.ndarray:
        """h for each loss; non-finite losses are mapped to the top (+inf, NaN) or bottom (-inf)."""
        loss = np.asarray(loss, dtype=np.float64)
        clean = np.where(np.isnan(loss), np.inf, loss)
        with np.errstate(over="ignore", invalid="ignore"):
            clean = np.clip(clean, -1e300, 1e300)
            h = (self.transform(clean) - self.lo) / (self.hi - self.lo)
        return np.clip(h, *H_CLAMP)

    def loss_at(self, h: np.ndarray) -> np.ndarray:
        """The loss drawn at normalised height h (inverse of `normalise` inside the range)."""
        t = self.lo + np.asarray(h, dtype=np.float64) * (self.hi - self.lo)
        return 10.0**t + self.shift if self.log else t


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite entries; (0, 1) when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def footprint_half_extent(bounds: Bounds) -> tuple[float, float]:
    """World half-sizes (x, y) of the footprint: longer side 1, aspect clamped."""
    (x0, x1), (y0, y1) = bounds
    aspect = float(np.clip((x1 - x0) / (y1 - y0), 1 / MAX_FOOTPRINT_ASPECT, MAX_FOOTPRINT_ASPECT))
    return (1.0, 1.0 / aspect) if aspect >= 1 else (aspect, 1.0)


@dataclass(frozen=True)
class WorldTransform:
    """Maps data (x, y, loss) to surface (u, v, h) and world (X, Y, Z) coordinates."""

    bounds: Bounds
    half_extent: tuple[float, float]
    scale: HeightScale
    zscale: float = ZSCALE

    @classmethod
    def from_state(cls, state: SceneState) -> WorldTransform:
        lo, hi = finite_range(np.asarray(state.heights, dtype=np.float64))
        scale = HeightScale.fit(lo, hi, state.log_height)
        return cls(state.bounds, footprint_half_extent(state.bounds), scale)

    def raw_uv(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) data points to (u, v), not clamped: outside the footprint beyond [0, 1]."""
        (x0, x1), (y0, y1) = self.bounds
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        with np.errstate(invalid="ignore", over="ignore"):
            return (xy - [x0, y0]) / [x1 - x0, y1 - y0]

    def surface_uv(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) data points to (u, v), clamped into the footprint (inf clamps, NaN stays NaN)."""
        return np.clip(self.raw_uv(xy), 0.0, 1.0)

    def world(self, uv: np.ndarray, h: np.ndarray) -> np.ndarray:
        """(N, 3) world points from (N, 2) surface coordinates and (N,) heights."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        xy = (uv * 2.0 - 1.0) * np.asarray(self.half_extent)
        return np.column_stack([xy, np.asarray(h, dtype=np.float64).reshape(-1) * self.zscale])

    def point(self, xy: np.ndarray, loss: np.ndarray) -> np.ndarray:
        """(N, 3) world points of data points at the given losses (clamped like the renderer)."""
        return self.world(self.surface_uv(xy), self.scale.normalise(loss))

    def normalised_heights(self, heights: np.ndarray) -> np.ndarray:
        """The (H, W) grid as float32 h in [0, 1]; NaN and +inf become 1, -inf becomes 0."""
        h = self.scale.normalise(np.asarray(heights, dtype=np.float64))
        return np.clip(h, 0.0, 1.0).astype(np.float32)


def sample_bilinear(grid: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W) grid at (N, 2) points (u along columns, v along rows)."""
    rows, cols = grid.shape
    x = np.clip(uv[:, 0], 0, 1) * (cols - 1)
    y = np.clip(uv[:, 1], 0, 1) * (rows - 1)
    j0 = np.minimum(x.astype(int), cols - 2)
    i0 = np.minimum(y.astype(int), rows - 2)
    fx, fy = x - j0, y - i0
    top = grid[i0, j0] * (1 - fx) + grid[i0, j0 + 1] * fx
    bottom = grid[i0 + 1, j0] * (1 - fx) + grid[i0 + 1, j0 + 1] * fx
    return top * (1 - fy) + bottom * fy


# Share of the mesh's lines spread evenly; the rest gather where the height field bends most.
UNIFORM_SHARE = 0.5


@dataclass(frozen=True)
class MeshHeights:
    """The drawn mesh: a tensor grid with lines at `u` and `v` (ascending, 0 to 1) and the
    height of each vertex (row = v), sampled from the height grid as the vertex shader does."""

    u: np.ndarray  # (cells + 1,)
    v: np.ndarray  # (cells + 1,)
    heights: np.ndarray  # (cells + 1, cells + 1)

    @classmethod
    def uniform(cls, cells: int) -> MeshHeights:
        """Evenly spaced lines, every vertex at height 0."""
        return cls.even(np.zeros((cells + 1, cells + 1)))

    @classmethod
    def even(cls, heights: np.ndarray) -> MeshHeights:
        """Evenly spaced lines with these vertex heights."""
        rows, cols = heights.shape
        return cls(np.linspace(0.0, 1.0, cols), np.linspace(0.0, 1.0, rows), heights)


def mesh_ticks(grid: np.ndarray, cells: int, axis: int) -> np.ndarray:
    """`cells + 1` mesh lines across the grid's `axis` (1: along u, 0: along v), denser where the
    height field bends: a pit narrower than an evenly spaced cell still gets vertices inside it.

    Piecewise-linear interpolation errs by about |h''| H² / 8 over a cell of size H, so lines are
    spaced as 1 / sqrt(|h''|) (equidistribution), |h''| the largest across the other axis. A grid
    with no more intervals than `cells` gets a line on every sample (the mesh then holds the grid
    exactly) and the spare lines go to its most bent intervals.
    """
    lines = np.moveaxis(np.asarray(grid, dtype=np.float64), axis, 0)  # (n, other)
    n = len(lines)
    bend = np.zeros(n)
    if n > 2:
        with np.errstate(invalid="ignore"):
            second = np.abs(lines[:-2] - 2 * lines[1:-1] + lines[2:])
        bend[1:-1] = np.nan_to_num(second).max(axis=1)
        bend[0], bend[-1] = bend[1], bend[-2]
    density = np.sqrt(np.maximum(bend[:-1], bend[1:]))  # per interval
    total = density.sum()
    share = density / total if total > 0 else np.full(n - 1, 1 / (n - 1))
    samples = np.linspace(0.0, 1.0, n)
    if n - 1 <= cells:
        return _ticks_on_samples(samples, share, cells)
    weight = UNIFORM_SHARE / (n - 1) + (1 - UNIFORM_SHARE) * share
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    ticks = np.interp(np.linspace(0.0, cumulative[-1], cells + 1), cumulative, samples)
    ticks[0], ticks[-1] = 0.0, 1.0
    return ticks


def _ticks_on_samples(samples: np.ndarray, share: np.ndarray, cells: int) -> np.ndarray:
    """Every sample, and the `cells - intervals` spare lines split into the intervals by
    `share` (largest remainders first)."""
    spare = cells - (len(samples) - 1)
    quota = spare * share
    extra = np.floor(quota).astype(int)
    left = spare - extra.sum()
    extra[np.argsort(extra - quota, kind="stable")[:left]] += 1
    ends = zip(samples[:-1], samples[1:], extra, strict=True)
    return np.concatenate([*(np.linspace(a, b, k + 2)[:-1] for a, b, k in ends), [1.0]])


def mesh_heights(grid: np.ndarray, cells: int) -> MeshHeights:
    """The mesh for an (H, W) grid of normalised heights: its lines and vertex heights."""
    u, v = mesh_ticks(grid, cells, axis=1), mesh_ticks(grid, cells, axis=0)
    uu, vv = np.meshgrid(u, v)  # row = v
    points = np.column_stack([uu.ravel(), vv.ravel()])
    return MeshHeights(u, v, sample_bilinear(grid, points).reshape(uu.shape))


def mesh_height(mesh: MeshHeights | np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Height of the drawn mesh (planar triangles) at (N, 2) points; a plain array of vertex
    heights is a mesh with evenly spaced lines.

    Overlays sit on what is seen: in a valley the mesh's chords lie above the finer texture, and
    a path at the texture's height would vanish under them. Each cell is split along its
    (0,0)-(1,1) diagonal, as in the mesh's index buffer (`surface_pass.grid_mesh`); a cell is an
    axis-aligned rectangle, so its local coordinates are an affine map of (u, v).
    """
    if not isinstance(mesh, MeshHeights):
        mesh = MeshHeights.even(np.asarray(mesh, dtype=np.float64))
    uv = np.clip(uv, 0.0, 1.0)
    col = np.clip(np.searchsorted(mesh.u, uv[:, 0], side="right") - 1, 0, len(mesh.u) - 2)
    row = np.clip(np.searchsorted(mesh.v, uv[:, 1], side="right") - 1, 0, len(mesh.v) - 2)
    fx = (uv[:, 0] - mesh.u[col]) / (mesh.u[col + 1] - mesh.u[col])
    fy = (uv[:, 1] - mesh.v[row]) / (mesh.v[row + 1] - mesh.v[row])
    h = mesh.heights
    h00, h11 = h[row, col], h[row + 1, col + 1]
    h10, h01 = h[row, col + 1], h[row + 1, col]
    lower = h00 + fx * (h10 - h00) + fy * (h11 - h10)
    upper = h00 + fy * (h01 - h00) + fx * (h11 - h01)
    return np.where(fx >= fy, lower, upper)


# Surface coordinates farther out than this are brought in to it before clipping (1e300 would
# overflow); the direction to such a point changes by a negligible angle.
FAR_UV = 1e12
# Balls whose loss is within this (normalised) height of the surface sit on the surface;
# farther ones float at their true loss with a drop line to the surface (network slices).
ON_SURFACE_TOLERANCE = 0.02


@dataclass(frozen=True)
class PreparedTrail:
    """A trail in surface coordinates: non-finite points removed, clipped to the footprint.

    Iterates outside the footprint are not drawn: a segment that leaves it ends at the edge (an
    exit, marked there), one that comes back starts at the edge, and a NaN row between the two
    breaks the path. A run whose current point is outside is drawn as a marker at the edge.
    """

    trail: Trail
    uv: np.ndarray  # (M, 2) drawn points in the footprint; NaN rows break the path
    step_index: np.ndarray  # (M,) (fractional) index of each drawn point in the original trail
    head_h: float  # the current point's normalised true loss (clamped)
    head_on_surface: bool  # draw the ball on the surface (no drop line)
    head_surface_h: float  # the grid's normalised height under the current point
    head_uv: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))  # where the ball is
    outside: bool = False  # the current point is outside the footprint: an edge marker
    exits: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # (K, 4) uv, direction
    last_raw: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))  # last finite uv
    last_step: int = -1  # its index in the original trail

    @property
    def has_head(self) -> bool:
        return self.last_step >= 0


def clip_to_footprint(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Liang-Barsky clip of the segments between consecutive (N, 2) points to [0, 1]²: the
    visible part of each segment is t0..t1 of it (t0 > t1: none)."""
    p, d = raw[:-1], np.diff(raw, axis=0)
    t0, t1 = np.zeros(len(d)), np.ones(len(d))
    visible = np.ones(len(d), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for axis in (0, 1):
            for towards, room in ((-d[:, axis], p[:, axis]), (d[:, axis], 1.0 - p[:, axis])):
                t = room / towards
                visible &= ~((towards == 0) & (room < 0))
                t0 = np.where(towards < 0, np.maximum(t0, t), t0)
                t1 = np.where(towards > 0, np.minimum(t1, t), t1)
    visible &= (t0 <= t1) & np.isfinite(t0) & np.isfinite(t1)
    return visible, t0, t1


def clipped_path(raw: np.ndarray, steps: np.ndarray, continued: bool):
    """The drawn rows of a path of raw (N, 2) surface points at `steps` (see `PreparedTrail`):
    (uv, step_index, exits). Row 0 of `raw` is the last point already drawn when `continued`."""
    empty = (np.zeros((0, 2)), np.zeros(0), np.zeros((0, 4)))
    if len(raw) == 0:
        return empty
    first_in = not continued and bool(np.all((raw[0] >= 0) & (raw[0] <= 1)))
    head = (raw[:1], steps[:1].astype(np.float64)) if first_in else (np.zeros((0, 2)), np.zeros(0))
    if len(raw) < 2:
        return (*head, empty[2])
    visible, t0, t1 = clip_to_footprint(raw)
    d = np.diff(raw, axis=0)
    at = lambda t: raw[:-1] + t[:, None] * d  # noqa: E731
    step_at = lambda t: steps[:-1] + t * np.diff(steps)  # noqa: E731
    entry, exit_ = visible & (t0 > 0), visible & (t1 < 1)
    # up to three rows per segment: a break and the entry point, then its (clipped) end
    rows = np.stack([np.full_like(d, np.nan), at(t0), at(np.minimum(t1, 1.0))], axis=1)
    row_steps = np.stack([step_at(t0), step_at(t0), step_at(np.minimum(t1, 1.0))], axis=1)
    keep = np.stack([entry, entry, visible], axis=1)
    uv = np.concatenate([head[0], rows[keep]])
    step_index = np.concatenate([head[1], row_steps[keep]])
    if len(uv) and not continued and np.isnan(uv[0, 0]):
        uv, step_index = uv[1:], step_index[1:]
    direction = d[exit_] / np.linalg.norm(d[exit_], axis=1, keepdims=True)
    exits = np.column_stack([at(t1)[exit_], direction])
    return np.clip(uv, 0.0, 1.0), step_index, exits


def prepare_trail(
    trail: Trail, world: WorldTransform, grid_h: np.ndarray, prefix: PreparedTrail | None = None
) -> PreparedTrail:
    """Drop non-finite points, clip the rest to the footprint, place the ball.

    `prefix`, the prepared trail of the first points of `trail` (a run that has since taken
    more steps), is reused: only the new points are converted.
    """
    start = len(prefix.trail.xy) if prefix is not None else 0
    fresh = start + np.flatnonzero(np.all(np.isfinite(trail.xy[start:]), axis=1))
    raw = np.clip(world.raw_uv(trail.xy[fresh]), -FAR_UV, FAR_UV)  # no overflow when clipping
    continued = prefix is not None and prefix.has_head
    if continued:
        raw, fresh = np.vstack([prefix.last_raw, raw]), np.concatenate([[prefix.last_step], fresh])
    uv, step_index, exits = clipped_path(raw, fresh.astype(np.float64), continued)
    if prefix is not None:
        uv = np.concatenate([prefix.uv, uv])
        step_index = np.concatenate([prefix.step_index, step_index])
        exits = np.concatenate([prefix.exits, exits])
    if len(fresh) == 0:
        return PreparedTrail(trail, uv, step_index, 0.0, True, 0.0, exits=exits)
    last_raw, last_step = raw[-1], int(fresh[-1])
    outside = not bool(np.all((last_raw >= 0) & (last_raw <= 1)))
    head_uv = np.clip(last_raw, 0.0, 1.0)
    if outside and len(uv) and not np.isnan(uv[-1, 0]):
        head_uv = uv[-1]  # where the path left the footprint, the last time
    head_h = float(world.scale.normalise(trail.loss[last_step]))
    surface_h = float(sample_bilinear(grid_h, head_uv[None])[0])
    on_surface = outside or abs(head_h - surface_h) <= ON_SURFACE_TOLERANCE
    return PreparedTrail(
        trail,
        uv,
        step_index,
        head_h,
        on_surface,
        surface_h,
        head_uv,
        outside,
        exits,
        last_raw,
        last_step,
    )
