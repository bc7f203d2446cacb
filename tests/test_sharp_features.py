"""Features narrower than a mesh cell are drawn (issue 16, item 5), and iterates far outside
the view are clipped at its edge with a marker (item 1).

The oracle for the first is the surface's own loss: where a ball rests at the bottom of a pit,
the height the renderer draws there (the mesh the GPU displaces, in the renderer's height
transform) must be the pit's bottom, not the plateau around it. For the second it is the
footprint: no trail geometry leaves it, and the marker sits where the segment crosses its edge.
"""

from __future__ import annotations

from dataclasses import replace

import moderngl
import numpy as np
import pytest
import torch

from sandbox.landscape import sampling
from sandbox.landscape.problem import AnalyticProblem
from sandbox.render import Renderer, trail_geometry
from sandbox.render.camera import OrbitCamera, look_at, orthographic
from sandbox.render.opening_view import default_camera
from sandbox.render.scene import SceneState, Trail
from sandbox.render.surface_pass import MESH_CELLS, SurfaceLook, SurfacePass
from sandbox.render.world import (
    MeshHeights,
    WorldTransform,
    mesh_height,
    mesh_heights,
    prepare_trail,
    sample_bilinear,
)

# The drawn height at a resting ball may differ from its true loss by this much, in normalised
# height (fractions of the drawn loss range; 0.02 is ON_SURFACE_TOLERANCE, the gap at which a
# ball is drawn off the surface with a drop line).
DRAWN_HEIGHT_TOLERANCE = 0.02
# The GPU's mesh against the CPU copy the overlays sit on: depth-buffer precision.
GPU_MESH_TOLERANCE = 2e-3
BALL_TOLERANCE = 20  # 0-255 per channel: a ball's pixel shows its run colour (as test_render)
BOUNDS = ((-2.2, 2.2), (-1.6, 1.6))  # sharp_vs_flat's view
PIT = np.array([[-1.0, 0.0]])  # the sharp minimum, loss 0


def pit_problem(sharp_width: float) -> AnalyticProblem:
    return AnalyticProblem("sharp_flat", {"sharp_width": sharp_width, "flat_width": 1.0})


def pit_scene(sharp_width: float) -> SceneState:
    """sharp_flat with a pit `sharp_width` wide, sampled as the app samples it."""
    sample = sampling.analytic_surface(pit_problem(sharp_width), BOUNDS)
    return SceneState("pit", sample.bounds, sample.heights, show_minimap=False)


def uniform_mesh(grid: np.ndarray, cells: int = MESH_CELLS) -> MeshHeights:
    """The mesh as drawn before: evenly spaced lines on the 256-sample grid."""
    even = MeshHeights.uniform(cells)
    u, v = np.meshgrid(even.u, even.v)
    heights = sample_bilinear(grid, np.column_stack([u.ravel(), v.ravel()])).reshape(u.shape)
    return MeshHeights(even.u, even.v, heights)


@pytest.mark.parametrize("sharp_width", [0.15, 0.03])
def test_a_ball_at_the_bottom_of_a_narrow_pit_is_drawn_in_the_pit(sharp_width):
    """sharp_vs_flat's pit (0.15) and one narrower than a mesh cell (0.03; a cell is 0.069 wide):
    the drawn height at the minimum is its loss within DRAWN_HEIGHT_TOLERANCE. Evenly spaced
    lines on the old 256-sample grid drew the narrow pit's bottom at 0.42 of the range (a
    plateau is at 1), sharp_vs_flat's at 0.024."""
    state = pit_scene(sharp_width)
    world = WorldTransform.from_state(state)
    grid = world.normalised_heights(state.heights).astype(np.float64)
    uv = world.surface_uv(PIT)
    truth = world.scale.normalise(0.0)
    drawn = mesh_height(mesh_heights(grid, MESH_CELLS), uv)[0]
    assert abs(drawn - truth) <= DRAWN_HEIGHT_TOLERANCE
    if sharp_width < 0.05:
        problem, resolution = pit_problem(sharp_width), sampling.ANALYTIC_RESOLUTION
        coarse = sampling._analytic_grid(problem, BOUNDS, resolution).numpy()
        before = WorldTransform.from_state(SceneState("pit", BOUNDS, coarse))
        coarse_h = before.normalised_heights(coarse).astype(np.float64)
        assert mesh_height(uniform_mesh(coarse_h), before.surface_uv(PIT))[0] > 0.3


def test_the_mesh_the_gpu_draws_is_the_one_the_balls_sit_on(ctx):
    """The surface pass's mesh, drawn from straight above with an orthographic camera, has the
    heights of `SurfacePass.vertex_heights` (which place balls and trails): depth read back
    around the pit against `mesh_height`, within GPU_MESH_TOLERANCE."""
    state = pit_scene(0.03)
    world = WorldTransform.from_state(state)
    grid = world.normalised_heights(state.heights)
    size = (440, 320)
    surface, home = SurfacePass(ctx), ctx.fbo or ctx.detect_framebuffer(0)
    color, depth = ctx.texture(size, 4), ctx.depth_texture(size)
    fbo = ctx.framebuffer([color], depth)
    try:
        surface.set_heights(grid)
        fbo.use()
        fbo.clear(depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST)
        near, far = 0.1, 10.0
        ax, ay = world.half_extent
        view = look_at(np.array([0.0, 0.0, 5.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]))
        surface.draw(world, orthographic(ax, ay, near, far) @ view, SurfaceLook((0.0, 0.0, 1.0)))
        d = np.frombuffer(depth.read(alignment=1), dtype=np.float32).reshape(size[1], size[0])
    finally:
        ctx.disable(moderngl.DEPTH_TEST)
        home.use()  # never leave a released framebuffer bound
        for item in (fbo, color, depth):
            item.release()
        surface.release()
    col, row = np.meshgrid(np.arange(size[0]), np.arange(size[1]))  # row 0 is v = 0 (bottom)
    uv = np.column_stack([(col.ravel() + 0.5) / size[0], (row.ravel() + 0.5) / size[1]])
    near_pit = np.linalg.norm((uv - world.surface_uv(PIT)) * [4.4, 3.2], axis=1) < 0.15
    distance = ((2 * d.ravel() - 1) * (far - near) + far + near) / 2  # orthographic depth
    drawn = (5.0 - distance) / world.zscale
    expected = mesh_height(surface.vertex_heights, uv)
    assert np.abs(drawn - expected)[near_pit].max() < GPU_MESH_TOLERANCE
    # the pixel nearest the pit's centre shows the loss there, not a lid over the pit
    nearest = np.argmin(np.linalg.norm(uv - world.surface_uv(PIT), axis=1))
    point = torch.tensor(np.array(BOUNDS)[:, 0] + uv[nearest] * [4.4, 3.2])
    truth = world.scale.normalise(float(pit_problem(0.03).loss(point)))
    assert abs(drawn[nearest] - truth) <= DRAWN_HEIGHT_TOLERANCE


def test_a_coarse_network_grid_keeps_every_sample_on_the_mesh():
    """A network slice comes from the worker at a fixed resolution (51 samples by default):
    with fewer intervals than mesh cells every sample gets a mesh line, so the mesh holds the
    grid exactly (evenly spaced lines cut its peaks: 64 lines through 51 samples), and the spare
    lines go where it bends most."""
    t = np.linspace(-2.0, 2.0, 51)
    x, y = np.meshgrid(t, t)
    grid = 0.5 + 0.5 * np.sin(3 * x) * np.cos(2 * y) * np.exp(-(x**2 + y**2) / 4)
    mesh = mesh_heights(grid, MESH_CELLS)
    samples = np.linspace(0.0, 1.0, 51)
    assert len(mesh.u) == MESH_CELLS + 1 and np.all(np.diff(mesh.u) > 0)
    assert np.isin(samples, mesh.u).all() and np.isin(samples, mesh.v).all()
    su, sv = np.meshgrid(samples, samples)
    at_samples = mesh_height(mesh, np.column_stack([su.ravel(), sv.ravel()]))
    assert np.abs(at_samples - grid.ravel()).max() < 1e-12
    even = mesh_height(uniform_mesh(grid), np.column_stack([su.ravel(), sv.ravel()]))
    assert np.abs(even - grid.ravel()).max() > 1e-3


# --- iterates far outside the view (issue 16, item 1) ------------------------------------------


def bowl_with_far_iterate(steps: int) -> tuple[WorldTransform, np.ndarray, Trail]:
    """x² + y² over [-1, 1]² and a trail whose third iterate is 50 units away (to the right)."""
    t = np.linspace(-1.0, 1.0, 65)
    x, y = np.meshgrid(t, t)
    state = SceneState("bowl", ((-1.0, 1.0), (-1.0, 1.0)), x**2 + y**2)
    world = WorldTransform.from_state(state)
    xy = np.array([[0.0, 0.0], [0.5, 0.0], [50.0, 0.0], [0.5, 0.2], [0.2, 0.2]])[:steps]
    return world, world.normalised_heights(state.heights), Trail("GD", (1, 0, 0), xy, xy[:, 0] ** 2)


def inside_footprint(points: np.ndarray, world: WorldTransform) -> bool:
    return bool(np.all(np.abs(points[:, :2]) <= np.asarray(world.half_extent) + 1e-9))


def test_a_far_iterate_is_clipped_at_the_edge_and_marked_where_the_trail_left():
    """No segment or marker reaches outside the footprint; the path ends at the edge where it
    leaves (u = 1 at y = 0, world (1, 0)), an arrowhead points out there, and the path starts
    again where it comes back, with no chord along the edge between the two."""
    world, grid, trail = bowl_with_far_iterate(5)
    mesh = mesh_heights(grid.astype(np.float64), MESH_CELLS)
    path = trail_geometry.drape(prepare_trail(trail, world, grid), world, mesh)
    segments = trail_geometry.path_segments(path, 1e-3, (400, 500))
    ends = np.concatenate([segments["p0"], segments["p1"]])
    assert inside_footprint(ends, world)
    assert len(segments) == 4  # in, to the edge; back from the edge, on: no segment between
    exit_row = np.argmin(np.linalg.norm(ends[:, :2] - [1.0, 0.0], axis=1))
    assert np.allclose(ends[exit_row, :2], [1.0, 0.0])
    camera = OrbitCamera()
    arrows = trail_geometry.exit_arrows(path, camera.view_projection(16 / 9), (1280, 720), 12.0)
    assert len(arrows) == 2 and np.allclose(arrows["p1"][:, :2], [1.0, 0.0])  # tip at the exit
    assert inside_footprint(np.concatenate([arrows["p0"], arrows["p1"]]), world)
    assert np.all(arrows["p0"][:, 0] < 1.0)  # the wings trail behind: it points outwards


def test_a_ball_outside_the_view_is_a_ring_at_the_edge():
    """The current iterate 50 units away is drawn where its trail left the view, as a hollow
    ring on the surface (no drop line to a point outside)."""
    world, grid, trail = bowl_with_far_iterate(3)
    mesh = mesh_heights(grid.astype(np.float64), MESH_CELLS)
    prepared = prepare_trail(trail, world, grid)
    assert prepared.outside and prepared.head_on_surface
    path = trail_geometry.drape(prepared, world, mesh)
    (ball,) = trail_geometry.balls([path], 11.0)
    assert np.allclose(ball["in_center"][:2], [1.0, 0.0], atol=1e-6)
    assert ball["in_style"] == trail_geometry.STYLE_RING
    assert len(trail_geometry.drop_line(path, 10.0)) == 0


def test_a_trail_that_grows_past_the_edge_clips_as_a_fresh_one_would():
    """The path cache converts only a running trail's new points; across an exit and a
    re-entry the result equals preparing the whole trail afresh."""
    world, grid, trail = bowl_with_far_iterate(5)
    mesh = mesh_heights(grid.astype(np.float64), MESH_CELLS)
    cache = trail_geometry.PathCache()
    for steps in (1, 2, 3, 4, 5):
        grown = Trail("GD", trail.color, trail.xy[:steps], trail.loss[:steps])
        (path,) = cache.paths((grown,), world, grid, mesh, "mesh")
    fresh = trail_geometry.drape(prepare_trail(trail, world, grid), world, mesh)
    assert np.array_equal(path.points, fresh.points, equal_nan=True)
    assert np.array_equal(path.trail.exits, fresh.trail.exits)


# --- a ball the surface covers ----------------------------------------------------------------


def test_a_ball_behind_the_pits_rim_is_drawn_seen_through_it(ctx):
    """Predicted pixels: from the default camera sharp_vs_flat's pit (0.15 wide, 0.7 world units
    deep) hides its bottom behind its near rim at any pitch below ~80 degrees. A ball resting
    there is drawn as seen through the surface: a band in its colour (within BALL_TOLERANCE)
    around a pale centre (far from its colour), while a ball in the open flat bowl keeps its
    solid centre. Before, both were solid, and the one in the pit seemed to sit on the slope."""
    state = pit_scene(0.15)
    red, white = (1.0, 0.3, 0.22), (1.0, 1.0, 1.0)
    pit = Trail("pit", red, PIT, [0.0])
    bowl = Trail("bowl", white, [[1.0, 0.0]], [0.0])
    state = replace(state, trails=(pit, bowl))
    renderer = Renderer(ctx, (1280, 720))
    try:
        camera = default_camera(state, renderer.size)
        renderer.draw(state, camera)
        image = renderer.read_rgb().astype(int)
        world = WorldTransform.from_state(state)
        grid = world.normalised_heights(state.heights)
        mesh = renderer.surface.vertex_heights
        heads = [
            trail_geometry.drape(prepare_trail(t, world, grid), world, mesh).head
            for t in state.trails
        ]
    finally:
        renderer.release()
    (px, py), (wx, wy) = camera.project(np.array(heads), (1280, 720))
    radius = 11.0  # the main view's ball radius at 720 rows
    band = image[int(py), int(px + 0.8 * radius)]
    centre = image[int(py), int(px)]
    assert np.abs(band - np.array(red) * 255).max() <= BALL_TOLERANCE
    assert np.abs(centre - np.array(red) * 255).max() > 3 * BALL_TOLERANCE
    assert np.abs(image[int(wy), int(wx)] - 255).max() <= BALL_TOLERANCE
