"""The docked layout and the framing of the 3-D view where no panel is (issue 16, item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from sandbox.app.layout import INSTRUMENTS_WIDTH, TIMELINE_HEIGHT, docked
from sandbox.render.framing import GAP, SURFACE_ASPECT, clear_box, same_region, to_region
from sandbox.render.renderer import Renderer
from sandbox.render.scene import RUN_COLORS, SceneState, Trail
from sandbox.render.world import WorldTransform


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_clear_box_avoids_every_obstacle_and_holds_the_biggest_picture():
    area = (0.0, 0.0, 1000.0, 600.0)
    title, legend = (16, 16, 500, 150), (600, 16, 984, 300)
    box = clear_box(area, [title, legend], gap=10)
    assert not overlaps(box, title) and not overlaps(box, legend)
    # the best of the candidates by hand: below the title, left of the legend (574 x 440:
    # a picture 383 high) beats the full-width strip below the legend (1000 x 290: 290 high)
    assert box == (0.0, 160.0, 590.0, 600.0)
    assert min((box[2] - box[0]) / SURFACE_ASPECT, box[3] - box[1]) > 290
    assert clear_box(area, []) == area
    assert clear_box(area, [(-50, -50, 2000, 2000)]) == area  # nothing free: the whole area


def test_regions_are_normalised_device_coordinates_and_compared_with_a_tolerance():
    assert to_region((0, 0, 1280, 720), (1280, 720)) == (-1.0, 1.0, -1.0, 1.0)
    assert to_region((640, 0, 1280, 360), (1280, 720)) == (0.0, 1.0, 0.0, 1.0)
    a = (-0.5, 0.9, -0.6, 0.4)
    assert same_region(a, tuple(v + 0.01 for v in a)) and not same_region(a, (-0.5, 0.9, -0.6, 0.5))
    assert same_region(None, None) and not same_region(a, None)


@pytest.mark.parametrize("column", [False, True])
@pytest.mark.parametrize("controls", [True, False])
@pytest.mark.parametrize("timeline", [True, False])
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (800, 600)])
def test_docked_panels_and_the_view_tile_the_window(size, controls, timeline, column):
    """Bottom strip or (lecture mode with plots) right column: no two parts overlap."""
    ui = size[1] / 720
    share = INSTRUMENTS_WIDTH if column else TIMELINE_HEIGHT
    layout = docked(size, ui, controls, timeline, share, timeline_right=column)
    width, height = size
    for box in (layout.controls, layout.timeline, layout.view):
        assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
    assert not overlaps(layout.view, layout.controls) and not overlaps(layout.view, layout.timeline)
    assert not overlaps(layout.controls, layout.timeline)
    # a collapsed panel is a bar, and the view takes the room it leaves
    open_ = docked(size, ui, True, True, share, timeline_right=column)
    view_area = (layout.view[2] - layout.view[0]) * (layout.view[3] - layout.view[1])
    open_area = (open_.view[2] - open_.view[0]) * (open_.view[3] - open_.view[1])
    assert view_area >= open_area and (view_area > open_area) == (not (controls and timeline))
    if not timeline:
        assert layout.timeline[3] - layout.timeline[1] < 40 * ui
        grown = layout.view[2] - open_.view[2] if column else layout.view[3] - open_.view[3]
        assert grown > 0.2 * (width if column else height)
    elif column:  # the column reaches down to the subtitles' strip across the bottom, as
        # does the view (lecture mode: in the view's width alone a caption took five lines)
        strip = layout.captions
        assert strip[3] == height and strip[2] == width and strip[1] > 0.75 * height
        assert layout.timeline[3] < strip[1] and layout.view[3] == strip[1]
        assert layout.timeline[3] - layout.timeline[1] > 0.7 * height
        assert layout.view[2] <= width * (1 - share)
    if column:
        for box in (layout.controls, layout.timeline, layout.view):
            assert not overlaps(box, layout.captions)
    else:
        assert layout.captions is None


def many_runs_scene(runs: int, **changes) -> SceneState:
    t = np.linspace(-2.0, 2.0, 65)
    x, y = np.meshgrid(t, t)
    heights = (0.5 * (x**2 + 10 * y**2)).astype(np.float32)
    trails = tuple(
        Trail(
            f"GD, a long run name number {k}",
            xy=np.array([[1.8, 0.4 * (k - 1.5)], [1.2 - 0.3 * k, 0.2]]),
            loss=np.array([3.0, 1.0]),
            color=RUN_COLORS[k],
            label=f"loss {0.123 * k:.3g}  lr 0.9",
        )
        for k in range(runs)
    )
    state = SceneState(
        "A long title that wraps: preconditioning turns a canyon into a bowl",
        ((-2.0, 2.0), (-2.0, 2.0)),
        heights,
        trails,
        caption="A caption of two lines or so, long enough to wrap in a narrow title panel.",
    )
    return state if not changes else SceneState(**{**state.__dict__, **changes})


def best_free_picture(area, obstacles, gap: float, cell: int = 4) -> float:
    """The oracle for framing.clear_box: the largest picture (see `picture`) that a rectangle of
    whole `cell`-pixel cells overlapping no obstacle (grown by `gap`) holds, by trying every
    pair of top and bottom rows and the longest free run of columns between them. A cell that
    an obstacle touches counts as taken, so this never exceeds the exact answer."""
    x0, y0, x1, y1 = area
    cols, rows = int((x1 - x0) // cell), int((y1 - y0) // cell)
    left, top = x0 + cell * np.arange(cols), y0 + cell * np.arange(rows)
    free = np.ones((rows, cols), dtype=bool)
    for bx0, by0, bx1, by1 in obstacles:
        hit_x = (left < bx1 + gap) & (left + cell > bx0 - gap)
        hit_y = (top < by1 + gap) & (top + cell > by0 - gap)
        free &= ~np.outer(hit_y, hit_x)
    best = 0.0
    for r0 in range(rows):
        column_free = np.ones(cols, dtype=bool)
        for r1 in range(r0, rows):
            column_free &= free[r1]
            if not column_free.any():
                break
            runs = np.diff(np.flatnonzero(np.diff(np.r_[0, column_free.astype(int), 0])))[::2]
            best = max(best, min(runs.max() * cell / SURFACE_ASPECT, (r1 - r0 + 1) * cell))
    return best


def picture(box) -> float:
    """The height of the largest surface picture a box holds (as framing.clear_box scores)."""
    return min((box[2] - box[0]) / SURFACE_ASPECT, box[3] - box[1])


@pytest.mark.parametrize("size", [(1280, 720), (960, 720)])
@pytest.mark.parametrize("area", [None, "docked"])
def test_a_framed_frame_has_no_hud_panel_over_the_surface_or_a_ball(gl_context, size, area):
    """A four-run legend reached a third of the way down and covered the far half of the
    surface (preconditioning, sharp_vs_flat): now the view is framed clear of it."""
    renderer = Renderer(gl_context, size)
    try:
        state = many_runs_scene(4)
        box = docked(size, size[1] / 720).view if area else None
        renderer.draw(state, None, box)
        camera, region, clear = renderer.camera, renderer.region, renderer.clear
        x0, x1, y0, y1 = region  # inside the clear box, less room for the axis labels
        pixels = ((x0 + 1) / 2 * size[0], (1 - y1) / 2 * size[1], (x1 + 1) / 2 * size[0])
        framed = (*pixels, (1 - y0) / 2 * size[1])
        assert clear[0] < framed[0] < framed[2] < clear[2] and clear[1] < framed[1] < clear[3]
        assert all(not overlaps(clear, b) for b in renderer.hud_boxes)
        if box is not None:
            assert box[0] <= clear[0] and clear[2] <= box[2] and clear[3] <= box[3]
        world = WorldTransform.from_state(state)
        ends = np.array([[*t.xy[-1], t.loss[-1]] for t in state.trails])
        grid = world.normalised_heights(state.heights)
        corners = world.world(
            np.array([[0, 0], [1, 0], [0, 1], [1, 1]]), grid[[0, 0, -1, -1], [0, -1, 0, -1]]
        )
        points = np.vstack([world.point(ends[:, :2], ends[:, 2]), corners])
        ndc = camera._ndc(points, size[0] / size[1])
        slack = 0.02
        assert np.all(ndc[:, 0] >= x0 - slack) and np.all(ndc[:, 0] <= x1 + slack)
        assert np.all(ndc[:, 1] >= y0 - slack) and np.all(ndc[:, 1] <= y1 + slack)
        # not a postage stamp, even beside a four-line title and a four-run legend: the framed
        # part holds the largest picture that any free rectangle holds (a brute-force search
        # on a pixel grid). Measured: 0.75 and 0.61 of the frame's height in the whole frame,
        # 0.29 and 0.10 beside the docked panels, where the app would not show this legend
        area_box = box or (0.0, 0.0, *size)
        best = best_free_picture(area_box, renderer.hud_boxes, GAP * size[1] / 720)
        assert best > 0.05 * size[1] and picture(clear) >= best
    finally:
        renderer.release()


def test_the_readme_lists_every_key_the_window_knows():
    """One key table (app/keys.py) for the window, the help overlay and the README."""
    from pathlib import Path

    from sandbox.app.keys import KEYS, markdown_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert markdown_table() in readme
    commands = {key.command for key in KEYS}
    assert {"grid", "help", "record", "screenshot", "panels", "quit"} <= commands


def test_without_the_legend_the_title_takes_the_top_and_the_view_the_rest(gl_context):
    """While the app's control panel is open it lists each run's numbers under its name, and
    the frame has no legend: edge_of_stability's view was a 60-pixel patch under a legend of
    two runs, their λmax lines and the drop-line note."""
    size = (1280, 720)
    renderer = Renderer(gl_context, size)
    try:
        state = many_runs_scene(4)
        area = docked(size, 1.0).view
        renderer.draw(state, None, area)
        with_legend = renderer.clear
        renderer.draw(SceneState(**{**state.__dict__, "show_legend": False}), None, area)
        assert len(renderer.hud_boxes) == 2  # the title and the mini-map
        # measured: 311 against 286 pixels (the four-run legend is stacked under the title;
        # on one line per run, wider than the view, it left 1/1.3 of that)
        assert picture(renderer.clear) > 1.05 * picture(with_legend)
    finally:
        renderer.release()
