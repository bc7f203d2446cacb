"""Picking: the landscape point under a pixel, with the camera and heights the frame drew.

The round trip: project a point of the surface to its pixel, "click" that pixel, get the point
back. Picking inverts the same matrices the drawing uses, so for the exact (fractional) pixel
the point comes back to float precision; a click lands on a whole pixel, half a pixel off at
most, so the point comes back within the landscape distance one pixel spans there.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sandbox.render import OrbitCamera, Renderer, SceneState
from sandbox.render.examples import saddle_scene
from sandbox.render.opening_view import default_camera
from sandbox.render.picking import pick, pixel_ray

SIZE = (640, 360)


@pytest.fixture(scope="module")
def renderer(gl_context):
    renderer = Renderer(gl_context, SIZE)
    yield renderer
    renderer.release()


def _bowl() -> SceneState:
    t = np.linspace(-2.0, 2.0, 101)
    x, y = np.meshgrid(t, t)
    return SceneState("bowl", ((-2.0, 2.0), (-2.0, 2.0)), (x**2 + y**2).astype(np.float32))


POINTS = np.array([[0.0, 0.0], [1.2, -0.7], [-1.5, 1.1], [0.4, 1.6], [-0.9, -1.3]])


@pytest.mark.parametrize("make", [_bowl, saddle_scene], ids=["bowl", "saddle"])
@pytest.mark.parametrize("yaw", [-120.0, 30.0])
def test_a_clicked_pixel_gives_back_the_point_drawn_there(ctx, renderer, make, yaw):
    # seen from high up nothing hides these points (from low down a bowl's rim hides its floor)
    state = replace(make(), trails=(), show_minimap=False)
    camera = replace(default_camera(state, SIZE), yaw=yaw, pitch=80.0)
    renderer.draw(state, camera)
    drawn = renderer.drawn
    (x0, x1), (y0, y1) = state.bounds
    points = POINTS * [(x1 - x0) / 4, (y1 - y0) / 4] + [(x0 + x1) / 2, (y0 + y1) / 2]
    pixels = drawn.on_surface(points)
    for point, exact in zip(points, pixels, strict=True):
        # the exact pixel: the same point to float precision (measured ≤ 3e-9; margin 300)
        assert drawn.pick(tuple(exact)) == pytest.approx(tuple(point), abs=1e-6)
        # a click: the centre of the whole pixel the point falls in
        click = np.floor(exact) + 0.5
        picked = np.array(drawn.pick(tuple(click)))
        # one pixel's landscape length there: half the way to the point two pixels away
        step = np.linalg.norm(np.array(drawn.pick(tuple(exact + (2.0, 0.0)))) - point) / 2
        assert np.linalg.norm(picked - point) <= step, (point, picked, step)


@pytest.mark.parametrize("make", [_bowl, saddle_scene], ids=["bowl", "saddle"])
def test_what_a_click_picks_is_drawn_at_the_clicked_pixel(ctx, renderer, make):
    """From the opening view, where the front of a surface can hide parts behind it: every
    pixel of the surface picks a point that is drawn at that very pixel (the nearest one)."""
    state = replace(make(), trails=(), show_minimap=False)
    renderer.draw(state, default_camera(state, SIZE))
    image, drawn = renderer.read_rgb(), renderer.drawn
    backdrop = image[2, 2]  # the top left corner: no panel, no surface
    hits = 0
    for y in range(4, SIZE[1], 8):
        for x in range(4, SIZE[0], 8):
            picked = drawn.pick((x + 0.5, y + 0.5))
            if picked is None:
                continue
            hits += 1
            assert (image[y, x] != backdrop).any(), (x, y)  # something is drawn there
            back = drawn.on_surface(np.array([picked]))[0]
            assert back == pytest.approx((x + 0.5, y + 0.5), abs=1e-4), ((x, y), picked)
    # the surface covers about an eighth of the opening frame: measured 461 (bowl) and 470
    # (saddle) of the 3,600 sampled pixels; fewer than 400 means picking misses the surface
    assert hits > 400, hits


def test_the_backdrop_picks_nothing(ctx, renderer):
    state = replace(_bowl(), trails=(), show_minimap=False)
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    assert renderer.drawn.pick((2.0, 2.0)) is None  # the top left corner is sky
    # and a far-zoomed-out view: every corner misses the surface
    far = replace(camera, distance=40.0)
    renderer.draw(state, far)
    assert all(renderer.drawn.pick(c) is None for c in [(1, 1), (639, 1), (1, 359), (639, 359)])


def test_the_ray_of_a_pixel_projects_back_onto_that_pixel():
    camera = OrbitCamera(yaw=10.0, pitch=50.0, distance=3.0)
    view_proj = camera.view_projection(SIZE[0] / SIZE[1])
    origin, direction = pixel_ray(view_proj, SIZE, (123.25, 77.5))
    for t in (0.5, 1.0, 4.0):
        assert camera.project((origin + t * direction)[None], SIZE)[0] == pytest.approx(
            (123.25, 77.5), abs=1e-6
        )


def test_a_ray_that_misses_the_box_picks_nothing():
    state = _bowl()
    from sandbox.render.world import WorldTransform

    world = WorldTransform.from_state(state)
    grid = world.normalised_heights(state.heights)
    camera = OrbitCamera(yaw=0.0, pitch=60.0, distance=3.0, target=(30.0, 0.0, 0.0))
    view_proj = camera.view_projection(SIZE[0] / SIZE[1])
    assert pick(world, grid, view_proj, SIZE, (320, 180)) is None
