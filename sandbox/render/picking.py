"""From a pixel back to the landscape: the point of the drawn surface under the cursor.

The inverse of drawing, with the same camera and the same heights: the cursor's pixel becomes a
ray through the view (the view-projection matrix inverted), and the ray meets the height field
where its height first falls below the surface's. A click drops a ball there; a test projects a
point of the surface, "clicks" its pixel and gets the point back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.render.camera import OrbitCamera
from sandbox.render.world import WorldTransform

MARCH_SAMPLES = 512  # along the ray inside the surface's box; then bisection on the crossing
BISECTIONS = 40


@dataclass(frozen=True, eq=False)
class DrawnView:
    """What a frame drew the surface with (`Renderer.drawn`): enough to map pixels and
    landscape points onto each other exactly as the drawing did."""

    world: WorldTransform
    grid_h: np.ndarray  # the normalised heights drawn, (H, W) in [0, 1]
    camera: OrbitCamera
    size: tuple[int, int]  # the frame's, in pixels

    def pick(self, pixel: tuple[float, float]) -> tuple[float, float] | None:
        """The landscape point (x, y) under `pixel`, or None off the surface."""
        return pick(self.world, self.grid_h, self._view_proj(), self.size, pixel)

    def on_surface(self, xy: np.ndarray) -> np.ndarray:
        """Pixels of (N, 2) landscape points lying on the drawn surface."""
        uv = self.world.surface_uv(xy)
        z = surface_height(self.world, self.grid_h, uv) / self.world.zscale
        return self.camera.project(self.world.world(uv, z), self.size)

    def at_loss(self, xy: np.ndarray, loss: np.ndarray) -> np.ndarray:
        """Pixels of (N, 2) landscape points drawn at their own losses (as balls are)."""
        return self.camera.project(self.world.point(xy, loss), self.size)

    def _view_proj(self) -> np.ndarray:
        return self.camera.view_projection(self.size[0] / self.size[1])


def pixel_ray(
    view_proj: np.ndarray, size: tuple[int, int], pixel: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The world-space ray (origin on the near plane, unit direction) through `pixel` (x right,
    y down, as `OrbitCamera.project` gives them)."""
    width, height = size
    x = 2.0 * pixel[0] / width - 1.0
    y = 1.0 - 2.0 * pixel[1] / height
    inverse = np.linalg.inv(view_proj)
    near, far = (inverse @ np.array([x, y, depth, 1.0]) for depth in (-1.0, 1.0))
    near, far = near[:3] / near[3], far[:3] / far[3]
    direction = far - near
    return near, direction / np.linalg.norm(direction)


def surface_height(world: WorldTransform, grid_h: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """World z of the drawn surface at (N, 2) surface coordinates: the normalised heights
    interpolated bilinearly, as the height texture is sampled."""
    rows, cols = grid_h.shape
    u = np.clip(uv[:, 0], 0.0, 1.0) * (cols - 1)
    v = np.clip(uv[:, 1], 0.0, 1.0) * (rows - 1)
    j0 = np.clip(np.floor(u).astype(int), 0, cols - 2)
    i0 = np.clip(np.floor(v).astype(int), 0, rows - 2)
    fu, fv = u - j0, v - i0
    h = (
        grid_h[i0, j0] * (1 - fu) * (1 - fv)
        + grid_h[i0, j0 + 1] * fu * (1 - fv)
        + grid_h[i0 + 1, j0] * (1 - fu) * fv
        + grid_h[i0 + 1, j0 + 1] * fu * fv
    )
    return h.astype(np.float64) * world.zscale


def pick(
    world: WorldTransform,
    grid_h: np.ndarray,
    view_proj: np.ndarray,
    size: tuple[int, int],
    pixel: tuple[float, float],
) -> tuple[float, float] | None:
    """The landscape point (x, y) of the surface seen at `pixel`, or None where the ray misses
    it (the backdrop, or beyond the footprint)."""
    origin, direction = pixel_ray(view_proj, size, pixel)
    span = _box_span(world, origin, direction)
    if span is None:
        return None
    t = np.linspace(*span, MARCH_SAMPLES)
    above = _above(world, grid_h, origin, direction, t)
    # the first crossing of the surface: from above, or from below (the surface has no walls
    # and both faces are drawn, so a ray entering under a high front edge sees the underside)
    crossed = np.flatnonzero(above != above[0])
    if not len(crossed):
        return None
    lo, hi = t[crossed[0] - 1], t[crossed[0]]
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        if _above(world, grid_h, origin, direction, np.array([mid]))[0] == above[0]:
            lo = mid
        else:
            hi = mid
    return _data_point(world, origin + hi * direction)


def _above(world, grid_h, origin, direction, t: np.ndarray) -> np.ndarray:
    points = origin + t[:, None] * direction
    uv = _uv(world, points)
    return points[:, 2] > surface_height(world, grid_h, uv)


def _uv(world: WorldTransform, points: np.ndarray) -> np.ndarray:
    return (points[:, :2] / np.asarray(world.half_extent) + 1.0) / 2.0


def _data_point(world: WorldTransform, point: np.ndarray) -> tuple[float, float]:
    (x0, x1), (y0, y1) = world.bounds
    u, v = np.clip(_uv(world, point[None, :])[0], 0.0, 1.0)
    return float(x0 + u * (x1 - x0)), float(y0 + v * (y1 - y0))


def _box_span(world, origin, direction) -> tuple[float, float] | None:
    """Where the ray is inside the surface's box (footprint × [0, zscale]), or None."""
    hx, hy = world.half_extent
    lo = np.array([-hx, -hy, 0.0])
    hi = np.array([hx, hy, world.zscale])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - origin) / direction, (hi - origin) / direction
    t_near = np.nanmax(np.minimum(t1, t2))
    t_far = np.nanmin(np.maximum(t1, t2))
    if not (t_far > max(t_near, 0.0)):
        return None
    return max(t_near, 0.0), t_far
