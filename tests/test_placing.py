"""Balls placed by hand (issue 19): a click on the surface drops a ball there, a drag of a
path's start moves it, Delete removes a run, and "Save as" writes what was placed.

Driven through the App on the headless backend with synthetic mouse events, as a student's
mouse sends them; the worker is the real message stream computed in the test's process.
"""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from app_doubles import HeadlessApp, StreamWorkers
from builders import analytic_scenario, network_scenario, network_toml, run

from sandbox.app.commands import Command
from sandbox.app.placing import place
from sandbox.pipeline.prepare import prepare, steps
from sandbox.scenario.edit import scenario_toml
from sandbox.scenario.load import ScenarioError, load_scenario, parse_scenario

SIZE = (960, 540)


def _ready(app) -> bool:
    return app.renderer.drawn is not None and app.model.available_step() >= 10


def _click(driver, pixel) -> None:
    pos = tuple(int(v) for v in pixel)
    driver.post(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)
    driver.post(pygame.MOUSEBUTTONUP, pos=pos, button=1)


def _on_screen_point(app, xy) -> np.ndarray:
    """The pixel a landscape point on the surface is drawn at (the centre of a whole pixel)."""
    return np.floor(app.renderer.drawn.on_surface(np.array([xy]))[0]) + 0.5


def _pixel_length(app, xy) -> float:
    """How far in the landscape a click one pixel off (across and down) lands from `xy`: the
    tolerance of a click on the pixel a point is drawn in (events carry whole pixels)."""
    drawn = app.renderer.drawn
    here = drawn.on_surface(np.array([xy]))[0]
    return sum(
        float(np.linalg.norm(np.array(drawn.pick(tuple(here + offset))) - xy) / 3)
        for offset in ((3.0, 0.0), (0.0, 3.0))
    )


def test_a_click_on_the_surface_drops_a_ball_there_and_save_as_keeps_it(ctx, tmp_path):
    with HeadlessApp(ctx, "saddle", SIZE, workers=StreamWorkers(per_drain=8),
                     user_dir=tmp_path) as driver:  # fmt: skip
        app = driver.app
        app.command(Command.PANELS)  # the view alone: the panels take no clicks here
        driver.frames_until(lambda: _ready(app))
        runs = len(app.scenario.runs)
        target = (0.8, -0.9)
        pixel = _on_screen_point(app, target)
        _click(driver, pixel)
        assert len(app.scenario.runs) == runs + 1, app.message
        new = app.scenario.runs[-1]
        like = app.scenario.runs[0]
        # the same settings as the run it copies, a new name, its own start
        assert new.name == "gd ball 1" and new.optimizer == like.optimizer
        assert new.lr == like.lr and new.noise == like.noise
        # the click's pixel is within a pixel of the target: so is the start (a pixel's
        # landscape length there: ~0.02 at this size)
        assert np.linalg.norm(np.array(new.start) - target) <= _pixel_length(app, target)
        # the new run is computed and drawn: its first record is at its start
        driver.frames_until(lambda: app.model.histories[-1].first is not None)
        first = app.model.histories[-1].first
        assert (first.x, first.y) == pytest.approx(new.start)
        assert len(app.last_state.trails) == runs + 1  # a legend entry and a path
        # "Save as": the file holds the placed run, and replays to the same records
        saved = app.save("placed")
        reread = load_scenario(saved)
        assert reread.runs[-1].start == new.start
        assert _records(reread, -1) == _records(app.scenario, -1)


def test_a_drag_moves_a_start_and_the_replay_equals_the_saved_files(ctx, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(scenario_toml(analytic_scenario(
        "himmelblau", steps=60, runs=[run("GD", lr=0.01, start=[0.0, 0.0])],
    )))  # fmt: skip
    with HeadlessApp(ctx, size=SIZE, path=path, workers=StreamWorkers(per_drain=8),
                     user_dir=tmp_path) as driver:  # fmt: skip
        app = driver.app
        app.command(Command.PANELS)
        driver.frames_until(lambda: _ready(app))
        start = _on_screen_point(app, (0.0, 0.0))
        end = _on_screen_point(app, (-1.5, 2.0))
        driver.post(pygame.MOUSEBUTTONDOWN, pos=tuple(int(v) for v in start), button=1)
        assert app.pointer.grabbed == 0  # the press landed on GD's start: no orbit
        camera = app.camera
        for t in np.linspace(0.2, 1.0, 5):
            pos = tuple(int(v) for v in start + t * (end - start))
            driver.post(pygame.MOUSEMOTION, pos=pos, rel=(1, 0), buttons=(1, 0, 0))
            # at once, before the runs are recomputed: GD's ball alone, under the cursor
            (shown,) = app.last_state.trails
            assert len(shown.xy) == 1 and tuple(shown.xy[0]) == app.renderer.drawn.pick(pos)
        driver.post(pygame.MOUSEBUTTONUP, pos=tuple(int(v) for v in end), button=1)
        assert app.camera == camera  # dragging a start does not turn the view
        moved = app.scenario.runs[0].start
        assert np.linalg.norm(np.array(moved) - (-1.5, 2.0)) <= _pixel_length(app, (-1.5, 2.0))
        driver.frames_until(lambda: app.model.histories[0].first is not None
                            and app.model.histories[0].first.x == moved[0])  # fmt: skip
        driver.frames_until(lambda: app.model.available_step() == 60)
        drawn = app.model.histories[0].rows()[:, [0, 3, 1, 2]]  # step, loss, x, y
        saved = app.save(str(tmp_path / "moved.toml"))
    # what the app drew is a replay of the saved file, step for step
    assert drawn.tolist() == [list(r) for r in _records(load_scenario(saved), 0)]


def test_each_new_ball_gets_a_colour_no_run_has():
    scenario = analytic_scenario(runs=[run("A", color="#ff4d38"), run("B")])  # red, white
    colors = []
    for k in range(10):
        scenario = place(scenario, set(), 0, Command.DROP_BALL, (0.1 * k, 0.0)).scenario
        colors.append(scenario.runs[-1].color)
    assert [r.name for r in scenario.runs[2:5]] == ["gd ball 1", "gd ball 2", "gd ball 3"]
    assert len(set(colors)) == 10 and "#ff4d38" not in colors and "#ffffff" not in colors


def test_delete_removes_the_selected_run_and_its_timeline_changes():
    scenario = analytic_scenario(
        runs=[run("A", lr=0.1), run("B", lr=0.05), run("C", lr=0.02)],
        timeline=[{"at": 5, "set": {"run": "B", "lr": 0.2}},
                  {"at": 6, "caption": "B speeds up", "set": {"run": "B", "lr": 0.3}}],
    )  # fmt: skip
    placed = place(scenario, {0, 2}, 1, Command.REMOVE_RUN, None)
    assert [r.name for r in placed.scenario.runs] == ["A", "C"]
    assert placed.hidden == {0, 1}  # C was hidden and is now number 1
    # B's changes are gone; the caption stays
    assert [(e.at, e.caption, e.set) for e in placed.scenario.timeline] == [
        (6, "B speeds up", None)
    ]
    with pytest.raises(ValueError, match="at least one run"):
        place(analytic_scenario(runs=[run("A")]), set(), 0, Command.REMOVE_RUN, 0)


def test_a_ball_on_a_network_slice_starts_at_the_planes_point():
    """θ(a, b) = θ₀ + a·d₁ + b·d₂ on a random plane; its first record projects to (a, b)."""
    scenario = network_scenario(steps=3)
    placed = place(scenario, set(), 0, Command.DROP_BALL, (0.3, -0.2))
    run = placed.scenario.runs[-1]
    prepared = prepare(placed.scenario)
    first = next(iter(steps(prepared, run)))
    assert (first.x, first.y) == pytest.approx((0.3, -0.2), abs=1e-5)  # float32 weights
    assert first.offplane == pytest.approx(0.0, abs=1e-5)
    expected = prepared.problem.plane.point(0.3, -0.2)
    assert prepared.problem.initial_theta(run).tolist() == expected.tolist()


def test_no_ball_on_a_slice_made_from_the_runs():
    scenario = network_scenario(slice={"directions": "pca"})
    with pytest.raises(ValueError, match="made from the runs"):
        place(scenario, set(), 0, Command.DROP_BALL, (0.1, 0.1))
    text = network_toml(slice={"directions": "pca"}, runs=[run(start=[0.1, 0.2])])
    with pytest.raises(ScenarioError, match=r"pca.toml:\d+: runs\[0\]\.start: a point of the sli"):
        parse_scenario(text, "pca.toml")


def _records(scenario, index: int) -> list:
    prepared = prepare(scenario)
    return [(s.step, s.loss, s.x, s.y) for s in steps(prepared, scenario.runs[index])]


class _SlowRestarts(StreamWorkers):
    """The first worker computes at once; restarted ones compute nothing until released, as a
    spawned worker does for its first second or two."""

    def __call__(self, scenario):
        worker = super().__call__(scenario)
        worker.per_drain = 0 if len(self.made) > 1 else self.per_drain
        return worker


def test_the_panels_draw_while_a_placed_ball_is_computed(ctx):
    """The app crashed when a ball was dropped with the control panel open: the panel listed
    the new scenario's runs with the colours of the runs still on screen, one fewer."""
    workers = _SlowRestarts(per_drain=8)
    with HeadlessApp(ctx, "saddle", (1280, 720), workers=workers) as driver:
        app = driver.app
        assert app.show_panel
        driver.frames_until(lambda: _ready(app))
        _click(driver, _on_screen_point(app, (0.8, -0.9)))
        assert app.pending is not None and len(app.scenario.runs) == 4
        assert len(app.model.scenario.runs) == 3  # the old runs stay on screen meanwhile
        for _ in range(3):
            app.frame()
        app.command(Command.REMOVE_RUN, 1)  # removed at once from the view, before the switch
        assert app.hidden == {1} and app.pending.hidden == set()
        workers.made[-1].per_drain = 64
        driver.frames_until(lambda: app.pending is None)
        names = [run.name for run in app.model.scenario.runs]
        assert names == ["GD", "GD + noise 0.05", "gd ball 1"] and app.hidden == set()
