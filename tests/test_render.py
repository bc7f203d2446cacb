"""Renderer: shaders compile and report errors by file and line; pictures checked by prediction.

Every picture test predicts what a pixel must be (where the camera projects a ball, which colour
the minimum has) rather than comparing with golden images.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pictures import EXACT, LINE_EDGES, RESAMPLED, assert_pictures_match
from PIL import Image

from sandbox.app.headless import scene_states
from sandbox.render import OrbitCamera, Renderer, SceneState, ShaderError, Trail, trail_geometry
from sandbox.render.colormap import colormap_rgb8
from sandbox.render.examples import canyon_scene, heavy_scene, network_slice_scene, saddle_scene
from sandbox.render.frames import render_frames, video_size, write_video
from sandbox.render.layouts import (
    BALL_INSTANCE,
    GLYPH_VERTEX,
    RECT_INSTANCE,
    SEGMENT_VERTEX,
    SURFACE_VERTEX,
    LayoutMismatch,
    check_layout,
)
from sandbox.render.opening_view import default_camera
from sandbox.render.shaders import load_program, program_names, shader_dir
from sandbox.render.trail_geometry import arc_length_decimate, buried_segments
from sandbox.render.world import HeightScale, WorldTransform
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

SIZE = (480, 270)
RENDER_DIR = Path(__file__).resolve().parent.parent / "sandbox" / "render"
# Named tolerances (0-255 per channel)
COLORMAP_TOLERANCE = 6  # flat ground shows its exact colormap colour, up to 8-bit rounding
BALL_TOLERANCE = 20  # a ball's centre shows its run colour; FXAA softens a 4-pixel ball a little


@pytest.fixture(scope="module")
def renderer(gl_context):
    renderer = Renderer(gl_context, SIZE)
    yield renderer
    renderer.release()


def bowl_state(**changes) -> SceneState:
    """x² + y² on a 129 x 129 grid over [-1, 1]²: every other grid sample is a vertex of the
    64-cell mesh."""
    t = np.linspace(-1.0, 1.0, 129)
    x, y = np.meshgrid(t, t)
    state = SceneState("bowl", ((-1.0, 1.0), (-1.0, 1.0)), (x**2 + y**2).astype(np.float32))
    return replace(state, show_minimap=False, **changes)


def pixel(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return image[int(xy[1]), int(xy[0])].astype(int)


def nearest_colour_distance(image: np.ndarray, xy: np.ndarray, color, reach: int = 1) -> int:
    """Smallest max-channel difference from `color` within `reach` pixels of `xy`."""
    col, row = int(xy[0]), int(xy[1])
    window = image[row - reach : row + reach + 1, col - reach : col + reach + 1].astype(int)
    return int(np.abs(window - np.asarray(color)).max(axis=-1).min())


# --- shaders and layouts ---------------------------------------------------------------------


def test_every_program_compiles_and_follows_the_file_rules(ctx):
    names = program_names()
    assert {"surface", "lines", "balls", "text", "rects", "fxaa", "blit"} <= set(names)
    for name in names:
        lines = (shader_dir() / f"{name}.glsl").read_text().splitlines()
        assert lines[0] == "#version 330 core", name
        assert lines[1].startswith("// "), f"{name}.glsl: line 2 must say what the program is for"
        load_program(ctx, name).release()
    for include in set(p.stem for p in shader_dir().glob("*.glsl")) - set(names):
        assert (shader_dir() / f"{include}.glsl").read_text().startswith("// ")


BROKEN_INCLUDE = """// a helper with a typo on line 3
float helper(float x) {
    return x * undefined_name;
}
"""
BROKEN_PROGRAM = """#version 330 core
// broken on purpose
#include "helper.glsl"
#ifdef VERTEX_SHADER
void main() { gl_Position = vec4(helper(1.0)); }
#endif
#ifdef FRAGMENT_SHADER
out vec4 color;
void main() { color = vec4(1.0) + not_declared; }
#endif
"""


def test_compile_errors_name_the_file_and_line_through_includes(ctx, tmp_path):
    (tmp_path / "helper.glsl").write_text(BROKEN_INCLUDE)
    (tmp_path / "broken.glsl").write_text(BROKEN_PROGRAM)
    with pytest.raises(ShaderError) as caught:
        load_program(ctx, "broken", directory=tmp_path)
    assert ("helper.glsl", 3) in caught.value.locations
    assert str(caught.value).startswith("helper.glsl:3: vertex_shader:")
    (tmp_path / "helper.glsl").write_text(BROKEN_INCLUDE.replace("undefined_name", "2.0"))
    with pytest.raises(ShaderError, match=r"broken\.glsl:9: fragment_shader:.*not_declared"):
        load_program(ctx, "broken", directory=tmp_path)


def test_missing_include_is_reported_where_it_is_included(ctx, tmp_path):
    (tmp_path / "broken.glsl").write_text(BROKEN_PROGRAM)
    with pytest.raises(ShaderError, match=r"broken\.glsl:3: include not found: helper\.glsl"):
        load_program(ctx, "broken", directory=tmp_path)


def test_a_stage_from_an_include_is_compiled(ctx):
    """blit.glsl has its vertex stage in fullscreen.glsl: a blit must copy the texture."""
    import moderngl

    home = ctx.fbo or ctx.detect_framebuffer(0)
    program = load_program(ctx, "blit")
    vao = ctx.vertex_array(program, [])
    source = ctx.texture((4, 4), 4, np.full((4, 4, 4), 200, np.uint8).tobytes())
    image = ctx.texture((8, 8), 4)
    fbo = ctx.framebuffer([image])
    fbo.use()
    fbo.clear()
    ctx.viewport = (2, 2, 4, 4)
    source.use(0)
    program["u_image"].value = 0
    vao.render(moderngl.TRIANGLES, vertices=3)
    pixels = np.frombuffer(fbo.read(components=3), np.uint8).reshape(8, 8, 3)
    assert np.all(pixels[2:6, 2:6] == 200) and pixels.sum() == 200 * 3 * 16
    home.use()  # never leave a released framebuffer bound
    for item in (vao, program, fbo, image, source):
        item.release()


def test_vertex_layouts_match_their_programs(ctx):
    pairs = {
        "surface": SURFACE_VERTEX,
        "lines": SEGMENT_VERTEX,
        "balls": BALL_INSTANCE,
        "text": GLYPH_VERTEX,
        "rects": RECT_INSTANCE,
    }
    for name, layout in pairs.items():
        program = load_program(ctx, name)
        check_layout(program, layout)
        program.release()
    program = load_program(ctx, "balls")
    with pytest.raises(LayoutMismatch):
        check_layout(program, SEGMENT_VERTEX)
    program.release()


# --- predicted pictures ----------------------------------------------------------------------


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
    assert image.std() > 20
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1000


def test_the_same_state_renders_byte_identical(ctx, renderer):
    state = replace(saddle_scene(), help=(("h", "this help"),), wireframe=True)
    renderer.draw(state)
    first = renderer.read_rgb()
    renderer.draw(network_slice_scene())  # different surface and text in between
    renderer.draw(state)
    assert_pictures_match(renderer.read_rgb(), first, EXACT, "same-state")


def test_kept_trails_and_minimap_draw_what_a_fresh_renderer_draws(ctx, renderer):
    """Trail segments and the mini-map's top view are kept between frames: after other cameras,
    other scenes and trails rebuilt as new objects (as the app does every frame), a frame must
    equal the one a brand-new renderer draws."""
    state = network_slice_scene()
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera.orbit(30.0, 0.0))
    renderer.draw(saddle_scene())
    renderer.draw(state, camera.zoom(2.0))
    copies = tuple(replace(trail, xy=trail.xy.copy()) for trail in state.trails)
    renderer.draw(replace(state, trails=copies), camera)
    kept = renderer.read_rgb()
    fresh = Renderer(ctx, SIZE)
    fresh.draw(state, camera)
    assert_pictures_match(kept, fresh.read_rgb(), EXACT, "kept-vs-fresh")
    fresh.release()


def test_the_top_view_is_the_same_whatever_the_main_view_leaves_under_it(
    ctx, renderer, monkeypatch
):
    """The mini-map is drawn over the main view without clearing it first: its opaque image
    must cover everything the main camera put there (the surface zoomed in, or nothing)."""
    state = canyon_scene()
    crops = []
    for zoom in (4.0, 0.2):  # the surface fills the frame / is a speck in its middle
        renderer.draw(state, default_camera(state, SIZE).zoom(zoom))
        x, y, w, h = renderer.minimap_box
        crops.append(renderer.read_rgb()[y : y + h, x : x + w])
    assert crops[0].std() > 10
    assert_pictures_match(crops[1], crops[0], EXACT, "top-view-over-any-main-view")


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


def test_orbiting_reuses_the_uploaded_trail_segments(ctx, renderer):
    state = saddle_scene()
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    uploads = renderer.stats.uploads["main"]
    rebuilt = tuple(replace(trail) for trail in state.trails)  # new objects, same content
    renderer.draw(replace(state, trails=rebuilt), camera.orbit(2, 0))
    assert renderer.stats.uploads["main"] == uploads  # nothing rebuilt or uploaded
    first = state.trails[0]
    shorter = replace(first, xy=first.xy[:-1], loss=first.loss[:-1])
    renderer.draw(replace(state, trails=(shorter, *state.trails[1:])), camera)
    assert renderer.stats.uploads["main"] == uploads + 1


def test_the_same_heights_are_not_redone_and_new_ones_are_drawn(ctx, renderer):
    state = saddle_scene()
    renderer.draw(state)
    stats, before = renderer.stats, renderer.read_rgb()
    done = stats.heights_uploaded
    renderer.draw(replace(state, step=state.step - 1))  # same heights array: nothing redone
    assert stats.heights_uploaded == done
    renderer.draw(replace(state, heights=state.heights.copy()))  # a new array: redone
    assert stats.heights_uploaded == done + 1
    tilted = state.heights + np.linspace(0.0, 2.0, state.heights.shape[1], dtype=np.float32)
    renderer.draw(replace(state, heights=tilted))
    assert stats.heights_uploaded == done + 2 and not np.array_equal(renderer.read_rgb(), before)
    renderer.draw(replace(state, log_height=True))  # same array, another scale: redone
    assert stats.heights_uploaded == done + 3


def test_a_still_camera_reuses_the_axes_and_a_moved_one_redoes_them(ctx, renderer):
    state = saddle_scene()
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    stats, before = renderer.stats, renderer.read_rgb()
    built = stats.axes_built
    renderer.draw(replace(state, step=state.step - 1), camera)  # runs moved, camera did not
    assert stats.axes_built == built
    renderer.draw(state, camera.orbit(30, 0))
    assert stats.axes_built == built + 1
    assert not np.array_equal(renderer.read_rgb(), before)
    renderer.draw(state, camera)  # back: the same axes as drawn afresh
    assert stats.axes_built == built + 2
    assert_pictures_match(renderer.read_rgb(), before, EXACT, "axes-redone")


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
        assert renderer.read_rgb().std() > 10


def test_camera_projects_its_target_to_the_centre_and_ignores_nan_input():
    camera = OrbitCamera(target=(0.1, -0.2, 0.3))
    centre = camera.project(np.array([camera.target]), (640, 360))[0]
    assert np.allclose(centre, (320, 180), atol=1e-6)
    moved = camera.orbit(float("nan"), 10).pan(float("inf"), 0).zoom(float("nan"))
    assert np.all(np.isfinite(moved.view_projection(16 / 9)))
    assert moved.pitch == camera.pitch + 10


def test_thinning_keeps_the_ends_and_bounds_the_segment_count():
    rng = np.random.default_rng(0)
    jitter = np.cumsum(rng.normal(0, 3.0, size=(10_000, 2)), axis=0)  # 3 px steps
    kept = arc_length_decimate(jitter, 2.0, tail_from=8_000, budget=(100, 200))
    assert kept[0] == 0 and kept[-1] == 9_999 and np.all(np.diff(kept) > 0)
    assert len(kept) <= 100 + 200 + 3
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
    assert counts[1] < 0.5 * counts[0]
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
    assert open_ends.mean() > 0.5 and segments["cap"][-1] == 1
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


def test_log_height_scale_round_trips_and_clamps_non_finite_losses():
    scale = HeightScale.fit(0.0, 500.0, log=True)
    losses = np.array([0.5, 5.0, 50.0, 500.0])
    assert np.allclose(scale.loss_at(scale.normalise(losses)), losses)
    assert scale.normalise(np.array([0.0]))[0] == 0.0  # an exact zero minimum stays finite
    weird = np.array([np.nan, np.inf, -np.inf])
    assert list(scale.normalise(weird)) == [1.25, 1.25, 0.0]  # log floor: nothing below 0
    linear = HeightScale.fit(0.0, 500.0, log=False)
    assert list(linear.normalise(weird)) == [1.25, 1.25, -0.25]


# --- files -----------------------------------------------------------------------------------


def test_render_frames_writes_identical_pngs_atomically(ctx, tmp_path):
    states = [saddle_scene(step) for step in (5, 40)]
    first = render_frames(states, (160, 96), tmp_path / "a", ctx=ctx)
    second = render_frames(states, (160, 96), tmp_path / "b", ctx=ctx)
    assert [p.name for p in first] == ["frame_00000.png", "frame_00001.png"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert not list((tmp_path / "a").glob(".*part"))


def test_videos_are_written_as_mp4_and_gif(ctx, tmp_path):
    import imageio_ffmpeg

    states = [saddle_scene(step) for step in (5, 10, 15)]
    mp4 = write_video(states, tmp_path / "run.mp4", (100, 60), fps=10, ctx=ctx)
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert tuple(meta["size"]) == video_size((100, 60)) == (112, 64)
    assert sum(1 for _ in reader) == 3
    gif = write_video(states, tmp_path / "run.gif", (100, 60), fps=10, ctx=ctx)
    assert gif.read_bytes()[:6] == b"GIF89a"


# --- boundaries ------------------------------------------------------------------------------


WINDOW_SCRIPT = """
import sys
from sandbox.render.context import open_window
from sandbox.render.examples import saddle_scene
from sandbox.render.frames import save_png
from sandbox.render.renderer import Renderer

import numpy as np

surface, ctx = open_window((320, 180), "smoke")
renderer = Renderer(ctx, (320, 180))
renderer.draw(saddle_scene(20))
renderer.present(ctx.screen, (320, 180))  # the window's own size: the frame is copied as it is
assert ctx.error == "GL_NO_ERROR", ctx.error
shown = np.frombuffer(ctx.screen.read(components=3, alignment=1), np.uint8)
ctx.error  # moderngl's read asks the window's framebuffer for GL_COLOR_ATTACHMENT0: flag cleared
assert np.array_equal(shown.reshape(180, 320, 3)[::-1], renderer.read_rgb())
renderer.present(ctx.screen, (400, 180))  # another size: scaled and letterboxed
import pygame
pygame.display.flip()
assert ctx.error == "GL_NO_ERROR", ctx.error
save_png(renderer.read_rgb(), sys.argv[1])
"""


def test_a_real_window_presents_the_frame_and_saves_a_screenshot(ctx, tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy"}
    shot = tmp_path / "shot.png"
    subprocess.run(
        [sys.executable, "-c", WINDOW_SCRIPT, str(shot)], env=env, check=True, timeout=120
    )
    image = np.asarray(Image.open(shot))
    headless = Renderer(ctx, (320, 180))  # the same frame, drawn in the tests' EGL context
    headless.draw(saddle_scene(20))
    expected = headless.read_rgb()
    headless.release()
    assert image.std() > 20
    assert_pictures_match(image, expected, EXACT, "window-vs-headless")


def test_render_package_never_imports_torch_or_the_training_code():
    forbidden = ("torch", "sandbox.optim", "sandbox.landscape")
    for path in RENDER_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_importing_the_renderer_opens_no_window_and_loads_no_torch():
    code = "import sys, sandbox.render; print(sorted({'torch', 'pygame'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_characters_the_font_cannot_draw_become_a_question_mark(ctx):
    """Issue 15: a run name with a zero-width joiner or a NUL failed every frame with pygame's
    "Text has zero width"; text that reaches the renderer by another way than a checked file
    (the app, the Python API) must still draw."""
    from sandbox.render.text import REPLACEMENT, FontAtlas

    atlas = FontAtlas(ctx, "DejaVuSans.ttf", 20, 2)
    for char in ("\u200d", "\u0000"):
        assert atlas.glyph(char) == atlas.glyph(REPLACEMENT)
        assert atlas.measure(f"GD{char}") == atlas.measure(f"GD{REPLACEMENT}")
    assert atlas.glyph("η") != atlas.glyph(REPLACEMENT)  # what the font has, it draws


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.917e-46, "< 1e-12"),  # the probe's legend: float noise at the bottom of a minimum
        (0.0006999, "7e-4"),
        (0.0001431, "1.43e-4"),
        (0.001019, "0.00102"),
        (0.1313, "0.131"),
        (1.0, "1"),
        (40.2097, "40.2"),
        (1500.0, "1500"),
        (5.77e17, "5.77e17"),
        (9.336e33, "9.34e33"),
        (-2.5, "-2.5"),
        (-3e-13, "≈ 0"),
        (0.0, "0"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
    ],
)
def test_numbers_are_printed_for_people(value, text):
    from sandbox.render.numbers import human

    assert human(value) == text


def test_a_window_never_opens_larger_than_the_display():
    """Issue 17: `present` opened 1920x1080 on a 1280x720 screen, cutting off the title,
    subtitles and legend; lecture mode fills the display it is on."""
    from sandbox.render.context import fit_to_display

    assert fit_to_display((1920, 1080), (1280, 720)) == (1280, 720)
    assert fit_to_display((1280, 720), (1920, 1080)) == (1280, 720)
    assert fit_to_display((1600, 600), (1280, 720)) == (1280, 600)
    assert fit_to_display((1920, 1080), (1280, 720), fill=True) == (1280, 720)
    assert fit_to_display((1280, 720), (3840, 2160), fill=True) == (3840, 2160)
    assert fit_to_display((800, 600), None, fill=True) == (800, 600)  # offscreen: as asked
    assert fit_to_display((800, 600), (0, 0)) == (800, 600)


def test_the_stats_count_what_the_caches_save(ctx, renderer):
    """Renderer.stats, the public view of the caches: a still frame redoes nothing, the step
    (digits in the legend) does not re-measure the layout, orbiting does not redraw the top
    view, and each counter moves when its input changes."""
    state = saddle_scene()
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    stats = renderer.stats
    before = replace(stats, uploads=dict(stats.uploads))
    renderer.draw(state, camera)
    assert replace(stats, frames=before.frames) == before and stats.frames == before.frames + 1
    renderer.draw(replace(state, step=state.step - 1), camera.orbit(20, 0))
    assert stats.layouts_measured == before.layouts_measured
    assert stats.top_views_drawn == before.top_views_drawn
    assert stats.axes_built == before.axes_built + 1
    renderer.draw(replace(state, title="Another title, as long as it likes to be"), camera)
    assert stats.layouts_measured == before.layouts_measured + 1
    renderer.draw(replace(state, heights=state.heights * 2), camera)
    assert stats.top_views_drawn == before.top_views_drawn + 1


def test_an_unchanged_legend_is_measured_once(ctx, renderer, monkeypatch):
    """Issue 18: the legend's widths are measured once per set of texts (they were measured two
    or three times a frame, every frame). A frame with the same legend measures none of its
    texts, whatever else changes; a changed text measures the legend again, once per form
    (one line per run, or stacked) that the frame tries."""
    state = saddle_scene()  # each run's detail is its label ("lr 0.04"): the same at any step
    camera = default_camera(state, SIZE)
    renderer.draw(state, camera)
    stats = renderer.stats
    measured = stats.legends_measured
    assert measured >= 1
    texts = []
    measure = renderer.overlay.measure
    monkeypatch.setattr(
        renderer.overlay, "measure", lambda text, *a: texts.append(text) or measure(text, *a)
    )
    renderer.draw(replace(state, step=state.step - 1), camera.orbit(20, 0))
    names = {trail.name for trail in state.trails}
    assert stats.legends_measured == measured and not names & set(texts)
    renamed = replace(state.trails[0], label="lr 0.04, renamed")
    renderer.draw(replace(state, trails=(renamed, *state.trails[1:])), camera)
    forms = stats.legends_measured - measured  # one line per run, and maybe stacked
    assert forms in (1, 2) and names <= set(texts)
