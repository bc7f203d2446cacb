"""Renderer caches: what is kept between frames is redone exactly when its input changes.

Each cached frame must equal the one a fresh renderer draws; Renderer.stats counts the work saved.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pictures import EXACT, assert_pictures_match
from render_scenes import SIZE

from sandbox.render import Renderer
from sandbox.render.examples import canyon_scene, network_slice_scene, saddle_scene
from sandbox.render.opening_view import default_camera


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
    assert crops[0].std() > 10  # the top view is drawn, not blank (measured 70)
    assert_pictures_match(crops[1], crops[0], EXACT, "top-view-over-any-main-view")


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
