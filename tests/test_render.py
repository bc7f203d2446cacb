"""Renderer: pictures checked by prediction, and the trail geometry behind them.

Every picture test predicts what a pixel must be (where the camera projects a ball, which colour
the minimum has) rather than comparing with golden images; trail thinning and joints are checked
against the frame drawn without them.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from pictures import EXACT, LINE_EDGES, RESAMPLED, assert_pictures_match
from render_scenes import (
    BALL_TOLERANCE,
    COLORMAP_TOLERANCE,
    SIZE,
    bowl_state,
    nearest_colour_distance,
    pixel,
)

from sandbox.app.headless import scene_states
from sandbox.render import OrbitCamera, Renderer, Trail, trail_geometry
from sandbox.render.colormap import colormap_rgb8
from sandbox.render.examples import canyon_scene, heavy_scene, network_slice_scene, saddle_scene
from sandbox.render.opening_view import default_camera
from sandbox.render.trail_geometry import arc_length_decimate, buried_segments
from sandbox.render.world import HeightScale, WorldTransform
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario


def test_balls_are_drawn_where_the_camera_projects_them(ctx, renderer):
    floating = Trail("up", (1.0, 0.3, 0.2), [[-0.5, 0.4], [-0.4, 0.4]], [1.2, 1.0])
    resting = Trail("on", (0.3, 0.6, 1.0), [[0.25, -0.25], [0.5, -0.5]], [0.5, 0.5])
    state = bowl_state(trails=(floating, resting), title="")
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    image = renderer.read_rgb()
    world = WorldTransform.from_state(state)
    # floating: the true loss (1.0) is far above the surface (0.32): the ball sits at it
    # resting: (0.5, -0.5) is a grid sample and a mesh vertex, the ball sits on the surface
    for trail in (floating, resting):
        where = camera.project(world.point(trail.xy[-1:], trail.loss[-1:]), SIZE)[0]
        expected = np.round(np.array(trail.color) * 255)
        assert nearest_colour_distance(image, where, expected) <= BALL_TOLERANCE, trail.name
        # and the ball really is there: a few pixels off is the surface, not the ball
        assert nearest_colour_distance(image, where + (12, 0), expected) > 40, trail.name


def test_colour_at_the_minimum_is_the_colormaps_low_end(ctx, renderer):
    state = bowl_state(title="")
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    world = WorldTransform.from_state(state)
    where = camera.project(world.point(np.array([[0.0, 0.0]]), np.array([0.0])), SIZE)[0]
    low, high = colormap_rgb8()[0].astype(int), colormap_rgb8()[-1].astype(int)
    got = pixel(renderer.read_rgb(), where)
    assert np.abs(got - low).max() <= COLORMAP_TOLERANCE
    # and low really is the low end: far from the high end
    assert np.abs(got - high).max() > 100


@pytest.mark.parametrize("make", [saddle_scene, canyon_scene, network_slice_scene])
def test_example_frames_are_not_blank(ctx, renderer, make):
    renderer.draw(make())
    image = renderer.read_rgb()
    assert image.shape == (SIZE[1], SIZE[0], 3) and image.dtype == np.uint8
    # measured: standard deviation 34-41 levels, 9,700-16,300 distinct colours
    assert image.std() > 20
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1000


def test_the_same_state_renders_byte_identical(ctx, renderer):
    state = replace(saddle_scene(), help=(("h", "this help"),), wireframe=True)
    renderer.draw(state)
    first = renderer.read_rgb()
    renderer.draw(network_slice_scene())  # different surface and text in between
    renderer.draw(state)
    assert_pictures_match(renderer.read_rgb(), first, EXACT, "same-state")


def test_axis_labels_are_never_printed_over_a_panel(ctx, renderer, monkeypatch):
    from sandbox.render import hud
    from sandbox.render.axes import Label
    from sandbox.render.theme import LECTURE

    state = saddle_scene()
    overlay = renderer.overlay
    panels = hud.top_panels(overlay, state, [], 1.0, (0, 0, 1280, 720))
    x0, y0, x1, y1 = panels[0]
    labels = [
        Label("inside", (x0 + x1) / 2, (y0 + y1) / 2, is_name=True),
        Label("edge", x1 + 3, y0 + 5, align="left"),  # its air box reaches into the panel
        Label("clear", 640, 500),
    ]
    printed = []
    with monkeypatch.context() as patch:
        patch.setattr(overlay, "text", lambda text, *a, **k: printed.append(text))
        hud.axis_labels(overlay, labels, 1.0, state.theme, keep_out=panels)
    assert printed == ["clear"]

    # a frame: the renderer hands every panel in as a keep-out box
    seen = []
    draw_labels = hud.axis_labels
    monkeypatch.setattr(hud, "axis_labels", lambda *a: seen.append(a[4]) or draw_labels(*a))
    renderer.draw(state)
    lecture = replace(state, theme=LECTURE, caption="a subtitle", alert="a red banner")
    renderer.draw(lecture)
    # title, legend, mini-map; then in lecture type at 480 x 270 also the subtitle, beside the
    # mini-map, and the red banner standing on the subtitle (it used to be drawn over it)
    assert [len(boxes) for boxes in seen] == [3, 5]
    assert renderer.hud_layout[2] is True  # the caption stays a subtitle
    subtitle, banner = seen[1][3:]
    assert banner[3] <= subtitle[1]
    for boxes in seen:
        pairs = itertools.combinations(boxes, 2)
        assert not any(
            a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in pairs
        )


def test_options_change_the_picture(ctx, renderer):
    state = saddle_scene()
    images = []
    for changes in (
        {},
        {"wireframe": True},
        {"help": (("h", "this help"),)},
        {"show_minimap": False},
        {"log_height": True},
    ):
        renderer.draw(replace(state, **changes))
        images.append(renderer.read_rgb())
    for other in images[1:]:
        assert not np.array_equal(images[0], other)


@pytest.mark.parametrize("options", [{"render_scale": 0.5}, {"samples": 4, "fxaa": False}])
def test_renderer_options_draw_the_same_scene(ctx, renderer, options):
    """Half the resolution, or MSAA instead of FXAA, draws the same picture up to its edges
    (measured at 480 x 270: 1.1 % and 0.06 % of the pixels change by more than 60 levels)."""
    other = Renderer(ctx, SIZE, **options)
    other.draw(saddle_scene())
    image = other.read_rgb()
    other.release()
    renderer.draw(saddle_scene())
    name = "options-" + "-".join(f"{k}{v}" for k, v in options.items())
    assert_pictures_match(image, renderer.read_rgb(), RESAMPLED, name)


def test_non_finite_heights_and_trails_render_and_keep_the_camera_finite(ctx, renderer):
    state = bowl_state()
    heights = state.heights.copy()
    heights[10:20, 10:30] = np.nan
    heights[40:45, :] = np.inf
    heights[60, 60] = -np.inf
    xy = np.array([[0.5, 0.5], [0.9, 0.9], [np.inf, 3.0], [np.nan, np.nan], [1e300, -1e300]])
    loss = np.array([0.5, 1.6, np.inf, np.nan, np.inf])
    diverged = Trail("boom", (1.0, 0.3, 0.2), xy, loss, diverged=True)
    empty = Trail("none yet", (1.0, 1.0, 1.0), np.zeros((0, 2)), np.zeros(0))
    all_nan = Trail("nan", (1.0, 0.35, 0.95), np.full((3, 2), np.nan), np.full(3, np.nan))
    for grid in (heights, np.full_like(heights, np.nan), np.full_like(heights, 2.0)):
        state = replace(
            bowl_state(), heights=grid, trails=(diverged, empty, all_nan), log_height=True
        )
        camera = default_camera(state, SIZE)
        assert np.all(np.isfinite(camera.eye())) and np.all(np.isfinite(camera.target))
        renderer.draw(state, camera)
        assert renderer.read_rgb().std() > 10  # a drawn frame, not a blank one (measured 24-43)


def test_camera_projects_its_target_to_the_centre_and_ignores_nan_input():
    camera = OrbitCamera(target=(0.1, -0.2, 0.3))
    centre = camera.project(np.array([camera.target]), (640, 360))[0]
    assert np.allclose(centre, (320, 180), atol=1e-6)
    moved = camera.orbit(float("nan"), 10).pan(float("inf"), 0).zoom(float("nan"))
    assert np.all(np.isfinite(moved.view_projection(16 / 9)))
    assert moved.pitch == camera.pitch + 10


def test_log_height_scale_round_trips_and_clamps_non_finite_losses():
    scale = HeightScale.fit(0.0, 500.0, log=True)
    losses = np.array([0.5, 5.0, 50.0, 500.0])
    assert np.allclose(scale.loss_at(scale.normalise(losses)), losses)
    assert scale.normalise(np.array([0.0]))[0] == 0.0  # an exact zero minimum stays finite
    weird = np.array([np.nan, np.inf, -np.inf])
    assert list(scale.normalise(weird)) == [1.25, 1.25, 0.0]  # log floor: nothing below 0
    linear = HeightScale.fit(0.0, 500.0, log=False)
    assert list(linear.normalise(weird)) == [1.25, 1.25, -0.25]


def test_a_grown_trail_drapes_as_a_fresh_one_would():
    """The path cache drapes only a running trail's new points: the result must equal draping
    the whole trail afresh (non-finite points included)."""
    state = network_slice_scene()
    world = WorldTransform.from_state(state)
    grid_h = world.normalised_heights(state.heights)
    vertex_h = grid_h[::4, ::4].astype(np.float64)  # any mesh: the same for both
    trail = state.trails[0]
    xy = trail.xy.copy()
    xy[5] = np.nan
    full = replace(trail, xy=xy)
    cache = trail_geometry.PathCache()
    for end in (3, 40, len(xy) - 1, len(xy)):
        grown = replace(full, xy=xy[:end], loss=full.loss[:end])
        (path,) = cache.paths((grown,), world, grid_h, vertex_h, "mesh")
    fresh = trail_geometry.drape(trail_geometry.prepare_trail(full, world, grid_h), world, vertex_h)
    for field in ("points", "fade", "tail_from", "head", "foot", "bounds"):
        assert np.array_equal(getattr(path, field), getattr(fresh, field)), field
    for field in ("uv", "step_index", "head_h", "head_on_surface", "head_surface_h"):
        assert np.array_equal(getattr(path.trail, field), getattr(fresh.trail, field)), field
    assert np.allclose(path.arc, fresh.arc)


def test_thinning_keeps_the_ends_and_bounds_the_segment_count():
    rng = np.random.default_rng(0)
    jitter = np.cumsum(rng.normal(0, 3.0, size=(10_000, 2)), axis=0)  # 3 px steps
    kept = arc_length_decimate(jitter, 2.0, tail_from=8_000, budget=(100, 200))
    assert kept[0] == 0 and kept[-1] == 9_999 and np.all(np.diff(kept) > 0)
    assert len(kept) <= 100 + 200 + 3  # the budget (old, tail), each "about", and the ends
    still = np.zeros((500, 2))  # a stalled run collapses to its two ends
    assert list(arc_length_decimate(still, 2.0)) == [0, 499]


def test_buried_segments_are_only_short_ones_under_newer_points():
    rng = np.random.default_rng(1)
    blob = rng.uniform(0.0, 1.0, size=(600, 2))  # jitter inside one 1 x 1 cell
    buried = buried_segments(blob, cell=1.0, cover=3)
    assert buried[:-3].mean() > 0.5  # old jitter goes...
    assert not buried[-3:].any()  # ...the newest segments never do
    line = np.column_stack([np.linspace(0, 50, 200), np.zeros(200)])  # never revisits a cell
    assert not buried_segments(line, cell=1.0, cover=3).any()
    back_and_forth = np.array([[0.5, 0.5], [9.5, 0.5]] * 20)  # long zig-zag segments stay
    assert not buried_segments(back_and_forth, cell=1.0, cover=3).any()
    with_nan = blob.copy()
    with_nan[::7] = np.nan
    assert len(buried_segments(with_nan, cell=1.0, cover=3)) == len(blob) - 1


def test_dropping_buried_segments_keeps_the_picture(ctx, monkeypatch):
    """The oracle is the same frame with every segment drawn: jittering runs lose most of their
    segments and at most 0.1 % of the pixels change visibly (0.04 % measured)."""
    state = heavy_scene(4_000, 4, 128)
    frames, counts = [], []
    for cover in (10**9, trail_geometry.COVER_POINTS):
        monkeypatch.setattr(trail_geometry, "COVER_POINTS", cover)
        renderer = Renderer(ctx, (640, 360))
        renderer.draw(state)
        frames.append(renderer.read_rgb())
        counts.append(renderer.stats.segments["main"])
        renderer.release()
    assert counts[1] < 0.5 * counts[0]  # measured 685 of 2010 segments drawn (34 %)
    assert_pictures_match(frames[1], frames[0], LINE_EDGES, "buried-segments")


def test_a_joint_is_drawn_once_by_the_segment_that_starts_there(ctx, monkeypatch):
    """A segment leaves out its end cap only where the next drawn segment starts at exactly the
    same point; the oracle is the frame with every cap drawn, which must look the same.

    - The jittering benchmark scene at 640x360: at most 0.1 % of the pixels change by more than
      40 levels (0.056 % measured, on line edges).
    - The saddle scenario's replay frame at 1280x720, where lines run just above the surface:
      at most 0.015 % (0.007 % measured). A first version that ramped depth across each quad
      lost rim pixels there, a saw-tooth along the rim, and measured 0.024 %.
    """
    state = heavy_scene(4_000, 4, 128)
    renderer = Renderer(ctx, (640, 360))
    camera = default_camera(state, renderer.size)
    mvp = camera.view_projection(640 / 360)
    world = WorldTransform.from_state(state)
    path = trail_geometry.PathCache().paths(
        state.trails,
        world,
        world.normalised_heights(state.heights),
        renderer.surface.vertex_heights,
        renderer.surface.heights_key,
    )[0]
    step = trail_geometry.thinning_step(mvp, renderer.size, path.box)
    segments = trail_geometry.path_segments(path, step, (400, 500), 0.01)
    open_ends = segments["cap"] == 0
    assert open_ends.mean() > 0.5 and segments["cap"][-1] == 1  # measured 96 % open
    assert np.array_equal(segments["p1"][:-1][open_ends[:-1]], segments["p0"][1:][open_ends[:-1]])
    renderer.release()

    replayed = list(scene_states(load_scenario(find_scenario("saddle")), 10))[1]
    cases = [(state, (640, 360), 1e-3), (replayed, (1280, 720), 1.5e-4)]
    drawn = trail_geometry.world_segments
    for scene, size, most in cases:
        frames = []
        for every_cap in (True, False):
            if every_cap:
                monkeypatch.setattr(
                    trail_geometry,
                    "world_segments",
                    lambda *a, **k: drawn(*a, **{**k, "cap": 1.0}),
                )
            renderer = Renderer(ctx, size)
            renderer.draw(scene)
            frames.append(renderer.read_rgb())
            renderer.release()
            monkeypatch.undo()
        edges = replace(LINE_EDGES, share=most)
        assert_pictures_match(frames[1], frames[0], edges, f"joints-{size[0]}x{size[1]}")
