"""The control panel, live plots, lecture mode and hot reload, in the real window (offscreen)
and in-process on the headless backend.

Input is simulated with pygame events posted to the window (or to the headless backend), as a
user's mouse would send them; each window test runs in its own process (one OpenGL context per
process through pygame).
"""

from __future__ import annotations

import subprocess
import textwrap

import numpy as np
import pytest
from app_doubles import HeadlessApp, StreamWorkers
from offscreen import python, sandbox
from PIL import Image

from sandbox.app.plots import envelope
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

DRIVER = """
import os, time
from pathlib import Path
import numpy as np
import pygame
from sandbox.app.window import App
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

def frames_until(condition, limit=90.0):
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        app.frame()
    assert condition(), "timed out"

def post(kind, **fields):
    pygame.event.post(pygame.event.Event(kind, **fields))
    app.frame()

def press(key):
    post(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)

def drag(rect, start, end):
    # a mouse drag across a widget, from fraction `start` to `end` of its width
    x0, y0, x1, y1 = rect
    y = int((y0 + y1) / 2)
    at = lambda f: int(x0 + f * (x1 - x0))
    post(pygame.MOUSEMOTION, pos=(at(start), y), rel=(0, 0), buttons=(0, 0, 0))
    post(pygame.MOUSEBUTTONDOWN, pos=(at(start), y), button=1)
    for k in range(1, 6):
        post(pygame.MOUSEMOTION, pos=(at(start + k * (end - start) / 5), y), rel=(1, 0),
             buttons=(1, 0, 0))
    post(pygame.MOUSEBUTTONUP, pos=(at(end), y), button=1)
"""


def drive(code: str) -> subprocess.CompletedProcess:
    return python(DRIVER + textwrap.dedent(code))


def ok(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), (
        p.stdout[-2000:] + p.stderr[-3000:]
    )


@pytest.mark.slow
def test_a_learning_rate_slider_reaches_the_running_optimiser(tmp_path):
    """Drag GD's lr slider while step k is shown: from step k on the optimiser steps with the
    new lr (the worker's records say so), before k nothing changed, the view stays at k, and
    "Save as" writes a scenario that reproduces the session."""
    shot, saved = tmp_path / "panel.png", tmp_path / "edited.toml"
    ok(
        drive(
            f"""
            path, user_dir = find_scenario("saddle"), Path({str(tmp_path)!r})
            app = App(load_scenario(path), (1280, 720), source=path, user_dir=user_dir)
            frames_until(lambda: app.playback.step > 30 and "lr0" in app.panel_state.item_rects)
            press(pygame.K_SPACE)
            assert app.playback.paused
            k = app.playback.step
            drag(app.panel_state.item_rects["lr0 frame"], 0.5, 0.7)  # the slider, not its label
            assert app.pending is not None and app.message.startswith("lr = ")
            frames_until(lambda: app.pending is None)
            assert app.playback.step == k
            history = app.model.histories[0]
            steps, lrs = history.column("step"), history.column("lr")
            new_lr = lrs[steps == k][0]
            # from the middle (the file's 0.05) a fifth of the slider on: a fifth of its two
            # decades, x2.5 (it was x6.3 across four)
            assert 0.05 * 2 < new_lr < 0.05 * 3, new_lr
            assert np.all(lrs[steps < k] == 0.05) and np.all(lrs[steps >= k] == new_lr)
            assert np.all(app.model.histories[1].column("lr") == 0.05)  # other runs untouched
            [event] = [e for e in app.scenario.timeline if e.set is not None]
            assert event.at == k and event.set.run == "GD" and event.set.lr == new_lr
            assert app.save("edited") == Path({str(saved)!r})
            assert load_scenario(Path({str(saved)!r})) == app.scenario
            app.screenshot(Path({str(shot)!r}))
            print(app.panel_state.item_rects["panel"], app.panel_state.item_rects["plots"])
            app.close()
            print("ok")
            """
        )
    )
    # the saved file replays the session: GD's lr changes at the step the slider moved
    scenario = load_scenario(saved)
    assert scenario.runs[0].lr == 0.05 and any(e.set for e in scenario.timeline)
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # key pixels: the panel's dark background on the left, GD's red in the loss plot
    assert image[100:700, 18:370].mean() < 80  # the docked panel, left column
    red = np.abs(image - [255, 77, 56]).sum(axis=2) < 40
    plots = red[470:700, 400:1030]
    assert plots.sum() > 20, "GD's loss curve (red) is not in the plots"


def test_a_drag_over_the_panel_does_not_orbit_and_p_hides_it(ctx):
    """In-process on the headless backend: ImGui gets the same synthetic mouse events."""
    import pygame

    with HeadlessApp(ctx, size=(1280, 720), workers=StreamWorkers()) as driver:
        app = driver.app
        driver.frames_until(
            lambda: app.camera is not None and "panel" in app.panel_state.item_rects
        )
        before = app.camera
        x0, y0, x1, y1 = app.panel_state.item_rects["panel"]
        driver.drag((x0 + 40, y0 + 8, x1 - 10, y0 + 8), 0.1, 0.4)  # the title bar
        assert app.camera == before
        driver.press(pygame.K_p)
        assert not app.show_panel
        driver.drag((x0 + 40, y0 + 8, x1 - 10, y0 + 8), 0.1, 0.4)  # where the title bar was
        assert app.camera != before


@pytest.mark.slow
def test_structural_edits_restart_and_bad_ones_are_refused(ctx):
    """In-process on the headless backend, with the real worker process."""
    from sandbox.app.commands import Command
    from sandbox.app.panel import CommandAction, LiveEdit, RestartEdit

    with HeadlessApp(ctx, size=(640, 360)) as driver:
        app = driver.app
        driver.frames_until(lambda: app.playback.step > 5)
        old, title = app.worker.process, app.scenario.title
        app.apply(RestartEdit(("runs", 0, "optimizer"), "adam"))
        assert app.scenario.runs[0].optimizer == "adam"
        # issue 17: the old runs stay on screen while the new worker starts (the window
        # went blank), and the title says what was edited
        assert app.pending is not None and old.is_alive()
        app.frame()
        assert app.waiting is None and app.last_state.title == title
        assert app.backend.title == f"Loss Landscape Sandbox: {title} (edited: optimizer = adam)"
        driver.frames_until(lambda: app.pending is None)
        assert not old.is_alive() and app.worker.process.is_alive()
        driver.frames_until(lambda: app.last_state.title == f"{title} (edited: optimizer = adam)")
        app.apply(LiveEdit("GD", "lr", -1.0))  # refused by the file's own validation
        assert app.message_is_error and "lr" in app.message
        assert app.scenario.runs[0].lr == 0.05
        canyon = find_scenario("canyon_momentum")
        app.apply(CommandAction(Command.OPEN, canyon))  # the scenario picker's action
        assert app.source == canyon and app.scenario == load_scenario(canyon)
        driver.frames_until(lambda: getattr(app.last_state, "title", "") == app.scenario.title)


@pytest.mark.slow
def test_hot_reload_keeps_the_camera_and_survives_a_bad_edit(tmp_path):
    source = find_scenario("saddle").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(source)
    ok(
        drive(
            f"""
            path = Path({str(path)!r})
            app = App(load_scenario(path), (640, 360), source=path)
            frames_until(lambda: app.camera is not None)
            app.camera = app.camera.orbit(10, 0)  # moved by the user: a reload keeps it (a
            # camera still as framed is framed again around the new, longer title)
            camera, text = app.camera, path.read_text()
            time.sleep(0.05)
            path.write_text(text.replace('title = "', 'title = "Edited: ', 1))
            frames_until(lambda: app.scenario.title.startswith("Edited"))
            frames_until(lambda: app.last_state.title.startswith("Edited"))
            assert app.camera == camera and app.reload_error == ""
            path.write_text(text.replace("steps = ", "steps = -", 1))
            frames_until(lambda: app.reload_error != "")
            assert "mine.toml:" in app.reload_error and "steps" in app.reload_error
            assert app.scenario.title.startswith("Edited")  # the last good state stays
            assert "last good" in app.last_state.alert
            app.close()
            print("ok")
            """
        )
    )


@pytest.mark.slow
def test_lecture_mode_screenshot_offscreen(tmp_path):
    """The acceptance command: light theme, no panel, the caption as a large subtitle."""
    shot = tmp_path / "out.png"
    p = sandbox("run", "saddle", "--lecture", "--frames", "90", "--screenshot", str(shot))
    assert p.returncode == 0, p.stderr
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    height, width, _ = image.shape
    assert image[5, width // 2].min() > 230  # light backdrop at the top edge
    # the subtitle: a white box in the bottom middle holding dark text at least H/25 tall
    band = image[int(0.75 * height) :, int(0.1 * width) : int(0.6 * width)]
    dark_rows = np.where((band.sum(axis=2) < 200).sum(axis=1) > 3)[0]
    assert len(dark_rows), "no subtitle text"
    lines = np.split(dark_rows, np.where(np.diff(dark_rows) > 3)[0] + 1)
    tallest = max(line[-1] - line[0] + 1 for line in lines)
    assert tallest >= height / 25 * 0.7, (tallest, height)  # glyph extent ≈ 0.75 × font size


@pytest.mark.slow
def test_present_steps_through_captions_then_the_playlist(tmp_path):
    ok(
        drive(
            """
            paths = [find_scenario("saddle"), find_scenario("learning_rate")]
            app = App(load_scenario(paths[0]), (640, 360), source=paths[0], lecture_mode=True,
                      playlist=paths)
            assert not app.show_panel
            frames_until(lambda: app.last_state is not None)
            seen = []
            for _ in range(6):
                press(pygame.K_PAGEDOWN)
                frames_until(lambda: app.playback.target is None and app.pending is None)
                seen.append((app.source.stem, app.playback.step))
            assert seen[:2] == [("saddle", 60), ("saddle", 150)], seen
            assert seen[2][0] == "learning_rate", seen
            press(pygame.K_PAGEUP)
            frames_until(lambda: app.playback.target is None)
            assert app.source.stem in ("saddle", "learning_rate")
            app.close()
            print("ok")
            """
        )
    )


def test_a_deck_with_a_missing_scenario_exits_2_naming_the_line(tmp_path):
    deck = tmp_path / "deck.toml"
    deck.write_text('title = "Lecture 3"\nscenarios = ["saddle", "no_such_thing"]\n')
    p = sandbox("present", str(deck), "--frames", "1", timeout=120)
    assert p.returncode == 2, p.stderr
    assert f"{deck}:2: scenarios[1]: no scenario file" in p.stderr


def test_a_plotted_series_keeps_its_envelope_at_the_plot_width():
    """Oracle: every point of the series has a kept point at most one pixel column away that is
    at least as high, and one that is at least as low, so the drawn line reaches every value; a
    one-step spike (edge of stability) keeps its full height."""
    rng = np.random.default_rng(0)
    xs = np.arange(0, 30_000, 4, dtype=float)
    ys = np.exp(np.cumsum(rng.normal(0, 0.05, len(xs))))
    ys[4321] = 1e3
    columns = 130
    thin_x, thin_y = envelope(xs, ys, columns)
    assert len(thin_x) <= 2 * columns + len(xs) // columns + 2 and len(thin_x) < len(xs) / 10
    assert thin_x[0] == xs[0] and thin_x[-1] == xs[-1] and np.all(np.diff(thin_x) > 0)
    assert thin_y.max() == 1e3
    near = np.abs(xs[:, None] - thin_x[None, :]) <= (xs[-1] - xs[0]) / columns
    assert np.all((near & (thin_y[None, :] >= ys[:, None])).any(axis=1))
    assert np.all((near & (thin_y[None, :] <= ys[:, None])).any(axis=1))
    few = np.arange(300.0)
    assert envelope(few, few, columns)[0] is few  # 2 or fewer points per column: as it is


@pytest.mark.slow
def test_an_alert_is_drawn_over_the_panels_above_the_timeline(ctx):
    """Issue 15: the failure and reload banners were drawn at the bottom, under the timeline.
    In-process on the headless backend."""
    import pygame

    with HeadlessApp(ctx, size=(1280, 720), workers=StreamWorkers()) as driver:
        app = driver.app
        driver.frames_until(
            lambda: app.camera is not None and "plots" in app.panel_state.item_rects
        )
        app.playback.paused = True
        app.reload_error = "mine.toml:12: steps: must be at least 1: still showing the last good"
        for _ in range(3):
            app.frame()
        assert "last good" in app.last_state.alert
        frames = [app.renderer.read_rgb().astype(int)]
        plots_top = app.panel_state.item_rects["plots"][1]
        driver.press(pygame.K_p)  # panels hidden: the HUD's own banner at the bottom
        app.frame()
        frames.append(app.renderer.read_rgb().astype(int))
    for image, where in zip(frames, ("above the timeline", "at the bottom"), strict=True):
        banner = (image[..., 0] > 150) & (image[..., 1] < 45) & (image[..., 2] < 45)
        rows = np.flatnonzero(banner.sum(axis=1) > 200)  # wide runs of the banner's red
        assert rows.size > 20, f"no banner {where}"
        if image is frames[0]:
            assert rows.max() < plots_top, (rows.max(), plots_top)
        else:
            assert rows.min() > 600


def test_plot_axes_show_every_value_and_never_blow_noise_up():
    """Issue 16: log axes had ticks at 1e-306 and 1e-153, a loss stuck at 0.6931 ± 1e-7 was
    auto-zoomed into a plunge, and curves ran along the top of the frame."""
    from sandbox.app.plots import LOG_DECADES, MAX_LOG_TICKS, axis_range

    assert axis_range([], log=True) is None and axis_range([np.array([np.nan])], False) is None
    falling = np.geomspace(1.0, 1e-46, 200)  # a loss that converges to float noise
    log = axis_range([falling, np.array([0.0, -1.0])], log=True)  # zeros cannot be on a log axis
    assert log.hi == 1.0 and log.lo == 10.0**-LOG_DECADES
    assert 2 <= len(log.ticks) <= MAX_LOG_TICKS
    assert all(log.lo <= v <= log.hi for v, _ in log.ticks) and log.ticks[-1] == (1.0, "1")
    stuck = 0.6931 + 1e-7 * np.sin(np.arange(500))
    flat = axis_range([stuck], log=True)  # at least one decade: two labelled ticks
    assert (flat.lo, flat.hi) == (0.1, 1.0) and [v for v, _ in flat.ticks] == [0.1, 1.0]
    linear = axis_range([stuck], log=False)
    assert (stuck.max() - stuck.min()) / (linear.hi - linear.lo) < 1e-5  # a flat line
    rising = np.array([0.0, 3.0, 7.5])
    padded = axis_range([rising, np.array([np.inf])], log=False)
    assert padded.lo < 0.0 and padded.hi > 7.5  # no curve along the frame
    lam = axis_range([np.array([3.0, 41.0]), np.array([40.0, 40.0])], log=True)
    assert (lam.lo, lam.hi) == (1.0, 100.0) and [t for _, t in lam.ticks] == ["1", "10", "100"]
    zero = axis_range([np.zeros(3)], log=False)  # the distance at step 0: ±4e-13 was drawn
    assert zero.lo < 0 < zero.hi and 1 <= zero.hi - zero.lo < 1.2


def test_step_ticks_are_round_and_leave_the_axis_end_free():
    """Side by side, "200" at the end of one plot and "0" at the start of the next read "2000"
    (and "1.02k" was cut at the window's edge): ticks are round steps from 0, none in the last
    15 % of the axis, and at least two."""
    from sandbox.app.plots import step_label, step_ticks

    assert [step_label(t) for t in step_ticks(200)] == ["0", "100"]
    assert [step_label(t) for t in step_ticks(1024)] == ["0", "500"]
    assert [step_label(t) for t in step_ticks(10_000)] == ["0", "5k"]
    assert [step_label(t) for t in step_ticks(600)] == ["0", "200", "400"]
    for last in (2, 7, 60, 150, 300, 1200, 3000, 123_456):
        ticks = step_ticks(last)
        assert ticks[0] == 0 and 2 <= len(ticks) <= 4 and ticks[-1] <= 0.85 * last


def test_plot_axes_fit_the_runs_that_have_not_diverged():
    """batchnorm_off: a run that blew up to 1e34 stretched the loss axis over 1e22 … 1e34 and
    the run that trains (0.34) was below it. The axes fit the runs alive at the shown step (a
    diverged run leaves the plot at its top); when every run has diverged, they fit all."""
    from sandbox.app.model import COLUMNS, RunHistory
    from sandbox.app.plots import TimelineView, _values, fitted_runs
    from sandbox.trace.records import Step

    def history(losses, diverges_at=None):
        h = RunHistory()
        for k, loss in enumerate(losses):
            h.add(Step(k, loss, 0.0, 0.0, 1.0, 0.1, diverged=k == diverges_at))
        return h

    trains = history([3.0, 1.0, 0.5, 0.34])
    blows_up = history([3.0, 1e6, 1e34], diverges_at=2)
    hidden = history([2.0, 1.0])

    def view(step, *histories, hidden=frozenset()):
        n = len(histories)
        return TimelineView(
            ["a", "b", "c"][:n],
            [(1, 0, 0)] * n,
            list(histories),
            hidden,
            step,
            3,
            3,
            True,
            1,
            False,
        )

    assert fitted_runs(view(3, trains, blows_up, hidden, hidden={2})) == [0]
    loss = COLUMNS.index("loss")
    assert max(v.max() for v in _values(view(3, trains, blows_up), [loss])) == 3.0
    assert fitted_runs(view(1, trains, blows_up)) == [0, 1]  # not diverged yet at step 1
    assert fitted_runs(view(3, blows_up)) == [0]  # every run diverged: fit them all


@pytest.mark.slow
@pytest.mark.parametrize("name", ["saddle", "two_weight_net", "preconditioning"])
def test_no_panel_covers_a_ball_and_p_reframes(name):
    """Issue 16: the control panel hid the left third of the view, the timeline its bottom
    middle, and a four-run legend the far half of the surface (preconditioning). The camera
    frames the surface where no docked panel and no HUD panel (title, legend, mini-map) is;
    collapsing the timeline or hiding the panels (p) frames it again in the room they leave."""
    ok(
        drive(
            f"""
            import numpy as np
            from sandbox.render.world import WorldTransform

            app = App(load_scenario(find_scenario({name!r})), (1280, 720))
            frames_until(lambda: app.camera is not None and "plots" in app.panel_state.item_rects
                         and app.model.available_step() >= 40)
            app.playback.step, app.playback.paused = 40, True
            app.frame()

            def ball_pixels():
                state = app.last_state
                world = WorldTransform.from_state(state)
                ends = np.array([[*t.xy[-1], t.loss[-1]] for t in state.trails])
                points = world.point(ends[:, :2], ends[:, 2])
                ndc = app.camera._ndc(points, 1280 / 720)
                return [((x + 1) * 640, (1 - y) * 360) for x, y in ndc]

            def assert_clear():
                rects = app.panel_state.item_rects
                boxes = list(app.renderer.hud_boxes)
                if app.show_panel:
                    boxes += [rects["panel"], rects["plots"]]
                for x, y in ball_pixels():
                    assert 0 < x < 1280 and 0 < y < 720, (x, y)
                    for x0, y0, x1, y1 in boxes:
                        assert not (x0 - 8 < x < x1 + 8 and y0 - 8 < y < y1 + 8), (x0, y0, x, y)

            assert_clear()
            framed = app.camera
            def click_arrow(key):  # the collapse arrow at the left of a panel's title bar
                x0, y0 = app.panel_state.item_rects[key][:2]
                at = (int(x0 + 13), int(y0 + 11))
                for _ in range(2):  # ImGui sees the mouse over the arrow before the press
                    post(pygame.MOUSEMOTION, pos=at, rel=(0, 0), buttons=(0, 0, 0))
                post(pygame.MOUSEBUTTONDOWN, pos=at, button=1)
                post(pygame.MOUSEBUTTONUP, pos=at, button=1)
                app.frame()

            def toggle(key, open_):  # a click, again if ImGui missed it (not what is tested)
                for _ in range(3):
                    if getattr(app.panel_state, key + "_open") != open_:
                        click_arrow("plots")
                app.frame()
                assert getattr(app.panel_state, key + "_open") == open_

            region = app.framed_region
            toggle("timeline", False)
            bar = app.panel_state.item_rects["plots"]
            assert bar[3] - bar[1] < 40  # collapsed to its title bar
            # the view is framed again, down into the room the timeline left
            assert app.camera is not framed and app.framed_region[2] < region[2] - 0.3
            assert_clear()
            toggle("timeline", True)
            framed = app.camera
            press(pygame.K_p)
            app.frame()
            assert app.camera is not framed and app.camera.distance < framed.distance
            assert_clear()
            app.close()
            print("ok")
            """
        )
    )


@pytest.mark.slow
def test_the_help_overlay_is_drawn_over_the_panels_and_lists_every_key(ctx):
    """Issue 17: the help overlay was drawn under the panels (cut) and lacked g. It is drawn
    last, over the control panel and the timeline, from the one key table. In-process on the
    headless backend."""
    import pygame

    from sandbox.app.keys import help_rows

    with HeadlessApp(ctx, size=(1280, 720), workers=StreamWorkers()) as driver:
        app = driver.app
        driver.frames_until(
            lambda: app.camera is not None and "plots" in app.panel_state.item_rects
        )
        app.playback.paused = True
        app.frame()
        plain = app.renderer.read_rgb().astype(int)
        driver.press(pygame.K_h)
        assert app.last_state.help == help_rows()
        assert ("g", "grid lines on the surface") in help_rows()
        shown = app.renderer.read_rgb().astype(int)
        x0, y0, x1, y1 = (int(v) for v in app.panel_state.item_rects["plots"])
        covered = np.abs(shown - plain)[y0:y1, 500:780].mean()
        assert covered > 10, covered  # the help panel over the timeline, not under it


def test_shift_drag_moves_a_log_slider_ten_times_finer():
    """Issue 17: no fine-drag on the learning-rate slider. With Shift down, the value moves by a
    tenth of the factor (log scale) the mouse moves the slider by, from where it was."""
    from sandbox.app.panel import PanelState, _fine

    state = PanelState()
    assert _fine(state, "lr0", 0.2, 0.05, shift=False) == 0.2  # no Shift: where the mouse is
    assert _fine(state, "lr0", 0.2, 0.05, shift=True) == 0.05  # Shift down: stays put
    assert _fine(state, "lr0", 2.0, 0.05, shift=True) == pytest.approx(0.05 * 10**0.1)
    assert _fine(state, "lr0", 0.02, 0.06, shift=True) == pytest.approx(0.05 * 0.1**0.1)
    assert _fine(state, "lr0", 0.02, 0.05, shift=False) == 0.02 and "lr0" not in state.fine


@pytest.mark.slow
def test_lecture_mode_shows_the_plots_of_a_scenario_whose_claim_is_in_them():
    """Issue 16: in lecture mode the panels were hidden, so max_margin's margin, angle and data
    (its claim) were drawn nowhere. A scenario with [view] plots opens with the timeline and
    the control panel collapsed to its bar; one without keeps the clean view."""
    ok(
        drive(
            """
            app = App(load_scenario(find_scenario("max_margin")), (1280, 720), lecture_mode=True)
            frames_until(lambda: app.camera is not None and "plots" in app.panel_state.item_rects)
            x0, y0, x1, y1 = app.panel_state.item_rects["panel"]
            assert app.show_panel and not app.panel_state.controls_open and y1 - y0 < 40
            plots = app.panel_state.item_rects["plots"]
            assert plots[3] - plots[1] > 200  # open: 38 % of 720
            app.open(find_scenario("saddle"))
            assert not app.show_panel
            app.close()
            print("ok")
            """
        )
    )
