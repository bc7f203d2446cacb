"""The camera a scene opens with: the whole surface and its axis labels, from the front left."""

from __future__ import annotations

import numpy as np

from sandbox.render.camera import FRAME_REGION, OrbitCamera
from sandbox.render.scene import SceneState
from sandbox.render.world import WorldTransform, sample_bilinear

DEFAULT_PITCHES = (40.0, 48.0, 56.0, 64.0, 72.0)


def default_camera(
    state: SceneState,
    size: tuple[int, int],
    region: tuple[float, float, float, float] | None = None,
) -> OrbitCamera:
    """The opening view of a scene: the whole surface and its axis labels, from the front left,
    as low as possible (40 degrees up at least) while the surface's minimum stays in sight:
    a narrow valley seen from too low hides the end of every run behind its near wall.

    `region` (x0, x1, y0, y1 in normalised device coordinates) is the part of the frame that the
    surface fills; the default leaves the top to the title and legend."""
    world = WorldTransform.from_state(state)
    grid_h = world.normalised_heights(state.heights)
    rows, cols = grid_h.shape
    i = np.linspace(0, rows - 1, min(rows, 33)).round().astype(int)
    j = np.linspace(0, cols - 1, min(cols, 33)).round().astype(int)
    v, u = np.meshgrid(i / (rows - 1), j / (cols - 1), indexing="ij")
    surface = world.world(np.column_stack([u.ravel(), v.ravel()]), grid_h[np.ix_(i, j)].ravel())
    # the base frame widened by the room the tick labels and axis names need
    ax, ay = world.half_extent
    margin = 0.26
    base = np.array(
        [[sx * (ax + margin), sy * (ay + margin), 0.0] for sx in (-1, 1) for sy in (-1, 1)]
    )
    points, aspect = np.vstack([surface, base]), size[0] / size[1]
    row, col = np.unravel_index(np.argmin(grid_h), grid_h.shape)
    lowest = world.world(np.array([[col / (cols - 1), row / (rows - 1)]]), [grid_h[row, col]])[0]
    for pitch in DEFAULT_PITCHES:
        camera = OrbitCamera.framing(
            points, aspect, region or FRAME_REGION, pitch=pitch, target_z=0.3 * world.zscale
        )
        if _visible(camera.eye(), lowest, world, grid_h):
            break
    return camera


def _visible(eye: np.ndarray, point: np.ndarray, world: WorldTransform, grid_h) -> bool:
    """Whether the straight line from `eye` to `point` stays above the surface."""
    t = np.linspace(0.0, 0.97, 96)[:, None]
    ray = eye + t * (point - eye)
    uv = (ray[:, :2] / np.asarray(world.half_extent) + 1) / 2
    inside = np.all((uv >= 0) & (uv <= 1), axis=1)
    ground = sample_bilinear(grid_h, uv[inside]) * world.zscale
    return bool(np.all(ground <= ray[inside, 2] + 0.01))
