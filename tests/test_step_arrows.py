"""The anatomy arrows on screen (issue 19): predicted pixels from the renderer, and what the view
model hands it with the toggle on and off."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import analytic_scenario, run

from sandbox.app import anatomy as step_anatomy
from sandbox.app.model import ViewModel
from sandbox.app.worker import scenario_stream
from sandbox.render import Renderer, SceneState, Trail
from sandbox.render.opening_view import default_camera
from sandbox.render.scene import ARROW_COLORS
from sandbox.render.world import WorldTransform
from sandbox.trace.records import Anatomy

SIZE = (480, 270)
# An arrow's core shows its colour to within this (0-255 a channel; FXAA and the line shader's
# anti-aliased edges soften thin lines). Measured at the midpoints below: 0 with the arrows,
# 197 and 219 without (the surface), the ball's centre 1 from its colour.
ARROW_TOLERANCE = 40


@pytest.fixture(scope="module")
def renderer(gl_context):
    renderer = Renderer(gl_context, SIZE)
    yield renderer
    renderer.release()


def bowl(trails) -> SceneState:
    t = np.linspace(-1.0, 1.0, 129)
    x, y = np.meshgrid(t, t)
    heights = (x**2 + y**2).astype(np.float32)
    state = SceneState("", ((-1.0, 1.0), (-1.0, 1.0)), heights, trails=trails)
    return replace(state, show_minimap=False, show_legend=False)


def nearest_distance(image: np.ndarray, xy, color, reach: int = 2) -> int:
    """Smallest max-channel difference from `color` (0-1 RGB) within `reach` pixels of `xy`."""
    col, row = int(round(xy[0])), int(round(xy[1]))
    window = image[row - reach : row + reach + 1, col - reach : col + reach + 1].astype(int)
    return int(np.abs(window - np.round(np.asarray(color) * 255)).max(axis=-1).min())


def test_arrows_appear_at_the_ball_with_the_toggle_and_leave_the_ball_seen(ctx, renderer):
    # a ball at (0.3, -0.3) on x² + y²; −η∇f towards −x, the step towards +y: two directions
    xy, loss = [[0.6, -0.6], [0.3, -0.3]], [0.72, 0.18]
    descent, step = (-0.6, 0.0), (0.0, 0.6)
    color = (1.0, 0.3, 0.22)
    plain = Trail("a", color, xy, loss)
    arrowed = replace(plain, arrows=(descent, None, step))
    world = WorldTransform.from_state(bowl((plain,)))
    camera = default_camera(bowl((plain,)), SIZE)

    def pixel_at(point):  # the surface point's pixel (x, y)
        p = np.asarray(point, dtype=float)[None]
        return camera.project(world.point(p, (p**2).sum(axis=1)), SIZE)[0]

    images = {}
    for name, trail in (("off", plain), ("on", arrowed)):
        renderer.draw(bowl((trail,)), camera)
        images[name] = renderer.read_rgb()
    for vector, arrow_color in ((descent, ARROW_COLORS[0]), (step, ARROW_COLORS[2])):
        middle = pixel_at(np.add([0.3, -0.3], np.multiply(vector, 0.6)))
        assert nearest_distance(images["on"], middle, arrow_color) <= ARROW_TOLERANCE
        # without the toggle the surface is there: no arrow colour near it
        assert nearest_distance(images["off"], middle, arrow_color) > 60
    # the ball is drawn over the arrows' start: its centre keeps the run colour
    ball = pixel_at([0.3, -0.3])
    assert nearest_distance(images["on"], ball, color, reach=1) <= 20


def test_the_view_model_draws_arrows_and_numbers_only_when_asked():
    scenario = analytic_scenario(steps=6, runs=[run("Adam", "adam", lr=0.1, start=[1.0, 0.5])])
    model = ViewModel(scenario)
    for message in scenario_stream(scenario):
        model.apply(message)
    off = model.scene(3)
    assert off.trails[0].arrows == () and off.key_lines == ()
    on = model.scene(3, anatomy=True)
    update = model.anatomies[0].at(3)
    factor = step_anatomy.magnification([update], on.bounds)
    assert on.trails[0].arrows == step_anatomy.arrows(update, factor) and factor >= 1
    assert [color for _, color in on.key_lines] == list(ARROW_COLORS)  # Adam has a momentum
    stepping = model.scene(3, anatomy=True, stepping=True)
    numbers = [text for text, _ in stepping.key_lines[len(on.key_lines) :]]
    assert numbers[0].startswith("Adam, update 3 → 4:  t 4  η 0.1")
    assert any("1−β₁ᵗ" in line for line in numbers) and any("scale" in line for line in numbers)
    assert model.scene(6, anatomy=True).trails[0].arrows == ()  # no update after the last step


def test_magnification_is_a_power_of_two_reaching_the_minimum_length():
    bounds = ((-2.0, 2.0), (-1.0, 1.0))  # footprint 2 x 1 world units: 1 data unit = 0.5 world
    tiny = Anatomy((0.01, 0.0), None, (0.0, 0.005))
    factor = step_anatomy.magnification([tiny], bounds)
    assert factor == 64  # 0.01 data = 0.005 world; ×64 = 0.32 ≥ 0.3 > ×32 = 0.16
    long = Anatomy((1.0, 0.0), None, (0.0, 1.0))
    assert step_anatomy.magnification([long, tiny], bounds) == 1


def test_the_a_key_turns_the_arrows_on_and_off_in_the_app(ctx):
    import pygame
    from app_doubles import HeadlessApp, StreamWorkers

    with HeadlessApp(ctx, size=(640, 360), workers=StreamWorkers(per_drain=8)) as driver:
        app = driver.app
        driver.frames_until(lambda: app.last_state is not None and app.playback.step > 2)
        assert all(trail.arrows == () for trail in app.last_state.trails)
        driver.press(pygame.K_a)
        driver.frames_until(lambda: any(trail.arrows for trail in app.last_state.trails))
        assert app.last_state.key_lines[-1][0].startswith("→ step")
        driver.press(pygame.K_PERIOD)  # single-step: the legend lists that update's numbers
        driver.frames_until(lambda: "update" in " ".join(t for t, _ in app.last_state.key_lines))
        driver.press(pygame.K_a)
        driver.frames_until(lambda: not any(trail.arrows for trail in app.last_state.trails))
        assert app.last_state.key_lines == ()


def test_sandbox_run_anatomy_starts_the_app_with_the_arrows_on(monkeypatch):
    import sandbox.app.window as window
    from sandbox.app.commands import Command
    from sandbox.cli.parser import build_parser

    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")  # leave this process's own setting
    seen: dict = {}
    monkeypatch.setattr(window, "run_app", lambda scenario, **options: seen.update(options) or 0)
    for argv, commands in (
        (["run", "saddle", "--anatomy"], (Command.ANATOMY,)),
        (["run", "saddle"], ()),
    ):
        args = build_parser().parse_args(argv)
        assert args.handler(args) == 0 and seen["commands"] == commands
