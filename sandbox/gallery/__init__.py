"""The gallery: every bundled scenario drawn by the app itself at each caption's step.

`sandbox gallery OUT` opens the real app window offscreen on each scenario, waits until the
worker has computed a caption's step, shows that step paused (with the control panel and the
timeline plots, as a user who scrubbed there sees it) and saves the frame as
``OUT/<scenario>/stepNNNNNN.png``; the last step is shown too. ``OUT/index.png`` is a contact
sheet of every frame in OUT. The gallery is how we check that nothing covers the runs and that
each picture shows what its caption claims.

The output folder's rules are in `sandbox.gallery.folder`, the contact sheet is drawn in
`sandbox.gallery.sheet`; their names are importable from here.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sandbox.errors import BadInput
from sandbox.gallery.folder import (
    FRAME_NAME,
    INDEX,
    MANIFEST,
    WRITTEN_BY,
    GalleryFolder,
    Shot,
    frame_name,
)
from sandbox.gallery.sheet import LABEL_PX, PAD, THUMB_WIDTH, contact_sheet, sheet
from sandbox.resources import bundled_scenarios
from sandbox.scenario.schema import Scenario

__all__ = [
    "FRAME_NAME",
    "INDEX",
    "LABEL_PX",
    "MANIFEST",
    "PAD",
    "THUMB_WIDTH",
    "WRITTEN_BY",
    "GalleryError",
    "GalleryFolder",
    "Shot",
    "contact_sheet",
    "draw_scenario",
    "frame_name",
    "gallery_steps",
    "hidden_balls",
    "make_gallery",
    "select_scenarios",
    "sheet",
]

STALL_TIMEOUT = 120.0  # seconds without a new step before a scenario is given up
POLL_SECONDS = 0.05  # between frames while the worker computes: the cycles go to training
SETTLE_FRAMES = 3  # frames drawn at a step before saving it: ImGui lays out over two frames
BALL_MARGIN = 8  # pixels at 720 of height: about a ball's radius

Log = Callable[[str], None]


class GalleryError(RuntimeError):
    """One scenario could not be drawn (worker failed, stalled); the gallery goes on without it."""


def gallery_steps(scenario: Scenario) -> list[int]:
    """The steps a scenario is shown at: each caption's, and the last one."""
    captions = {min(event.at, scenario.steps) for event in scenario.timeline if event.caption}
    return sorted(captions | {scenario.steps})


def select_scenarios(only: list[str] | None) -> list[Path]:
    """The bundled scenario files to draw, in `sandbox list`'s name order; BadInput names any
    requested name that is not bundled."""
    bundled = {path.stem: path for path in bundled_scenarios()}
    if not only:
        return list(bundled.values())
    unknown = [name for name in only if name.removesuffix(".toml") not in bundled]
    if unknown:
        raise BadInput(
            f"--only: no bundled scenario named {', '.join(map(repr, unknown))} "
            "(`sandbox list` shows them)"
        )
    wanted = {name.removesuffix(".toml") for name in only}
    return [path for name, path in bundled.items() if name in wanted]


# -- driving the app -------------------------------------------------------------------------


def draw_scenario(
    app, name: str, folder: GalleryFolder, stall_timeout: float, log: Log | None = None
) -> list[Shot]:
    """Save `app`'s frame at each of its scenario's gallery steps; `log` gets a line for each
    ball that a frame does not show where it is (see `hidden_balls`).

    The worker finishes first, so that the scrubber's range and a moving slice's surface are
    the same whatever the machine's speed: the frames do not depend on how far it had got.
    """
    _wait_until_finished(app, name, stall_timeout)
    shots = []
    for step in gallery_steps(app.scenario):
        rgb = _frame_at(app, name, step)
        shot = Shot(frame_name(name, step), name, step)
        folder.save_frame(shot, rgb)
        shots.append(shot)
        for problem in hidden_balls(app) if log else []:
            log(f"  {name} step {step}: {problem}")
    return shots


def hidden_balls(app, camera=None) -> list[str]:
    """Why a run's ball is not seen where it is in the frame on screen: off the drawn slice,
    outside the window, or under the control panel, the timeline or a HUD panel (title,
    legend, mini-map, subtitle). `camera` defaults to the one the frame was drawn with."""
    from sandbox.render.world import WorldTransform

    state, renderer = app.last_state, app.renderer
    camera = camera or renderer.camera
    if state is None or camera is None:
        return []
    width, height = app.window_size
    margin = BALL_MARGIN * height / 720
    panels = [(f"the HUD panel {_box_text(box)}", box) for box in renderer.hud_boxes]
    if app.show_panel:
        layout = app.layout()
        panels += [("the control panel", layout.controls), ("the timeline", layout.timeline)]
    world = WorldTransform.from_state(state)
    problems = []
    for trail in state.trails:
        if not len(trail.xy) or not np.isfinite(trail.loss[-1]):
            continue  # nothing yet, or diverged: drawn as a marker, not a ball
        uv = world.raw_uv(trail.xy[-1:])[0]
        if not ((0 <= uv) & (uv <= 1)).all():
            problems.append(f"{trail.name}: off the drawn slice (a ring at its edge)")
            continue
        x, y = camera.project(world.point(trail.xy[-1:], trail.loss[-1:]), (width, height))[0]
        if not (0 <= x < width and 0 <= y < height):
            problems.append(f"{trail.name}: outside the window ({x:.0f}, {y:.0f})")
        for label, (x0, y0, x1, y1) in panels:
            if x0 - margin < x < x1 + margin and y0 - margin < y < y1 + margin:
                problems.append(f"{trail.name}: under {label}, ball at ({x:.0f}, {y:.0f})")
    return problems


def _wait_until_finished(app, name: str, stall_timeout: float) -> None:
    """Let the app run until its worker has sent everything; GalleryError when the worker
    fails or computes no new step for `stall_timeout` seconds."""
    computed, since = app.model.available_step(), time.monotonic()
    while not app.model.finished:
        if app.model.failure:
            raise GalleryError(f"{name}: the worker failed: {app.model.failure}")
        if app.model.available_step() > computed:
            computed, since = app.model.available_step(), time.monotonic()
        elif time.monotonic() - since > stall_timeout:
            raise GalleryError(
                f"{name}: no new step for {stall_timeout:g} s (computed up to step "
                f"{max(computed, 0)} of {app.scenario.steps})"
            )
        app.frame()
        time.sleep(POLL_SECONDS)


def _frame_at(app, name: str, step: int) -> np.ndarray:
    """The window's pixels with playback paused at `step`."""
    from sandbox.app.commands import Command

    app.playback.paused = True
    app.command(Command.SCRUB, step)
    for _ in range(SETTLE_FRAMES):
        app.redraw()  # App.frame draws only when something changed
        app.frame()
    shown = app.last_state.step if app.last_state is not None else None
    if shown != step or app.playback.step != step:
        raise GalleryError(f"{name}: asked for step {step}, the window shows step {shown}")
    return app.renderer.read_rgb()


def make_gallery(
    out: Path,
    *,
    only: list[str] | None = None,
    size: tuple[int, int] = (1280, 720),
    lecture: bool = False,
    force: bool = False,
    stall_timeout: float = STALL_TIMEOUT,
    log: Log | None = None,
) -> tuple[list[Shot], list[str]]:
    """Draw the gallery into `out`; returns (the frames saved, one message per scenario that
    failed). Scenario files are all validated before any window opens."""
    from sandbox.scenario.load import load_scenario

    log = log or _stderr
    paths = select_scenarios(only)
    scenarios = [(path.stem, load_scenario(path)) for path in paths]
    # Frames are files: never a window on the desktop, which would be fitted to the display
    # (or made full screen in lecture mode) instead of the size asked for
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    shots, failures = [], []
    with GalleryFolder(out, force=force) as folder:
        for number, (name, scenario) in enumerate(scenarios, 1):
            started = time.monotonic()
            prefix = f"gallery [{number}/{len(scenarios)}] {name}"
            try:
                made = _draw_one(scenario, name, folder, size, lecture, stall_timeout, log)
            except GalleryError as error:
                failures.append(str(error))
                log(f"{prefix}: FAILED: {error}")
                continue
            shots += made
            old = {file for file, shot in folder.shots.items() if shot.scenario == name}
            folder.drop(old - {shot.file for shot in made})
            steps = ", ".join(str(shot.step) for shot in made)
            log(f"{prefix}: steps {steps} ({time.monotonic() - started:.1f} s)")
        if not only and not failures:  # a complete gallery: scenarios no longer bundled go
            drawn = {name for name, _ in scenarios}
            folder.drop({f for f, s in folder.shots.items() if s.scenario not in drawn})
        folder.save_index(contact_sheet(folder))
    log(f"gallery: {len(shots)} frames and {out / INDEX}")
    return shots, failures


def _draw_one(scenario, name, folder, size, lecture, stall_timeout, log) -> list[Shot]:
    from sandbox.app.window import App
    from sandbox.resources import find_scenario

    app = App(scenario, size, source=find_scenario(name), lecture_mode=lecture)
    try:
        return draw_scenario(app, name, folder, stall_timeout, log)
    finally:
        app.close()


def _box_text(box) -> str:
    x0, y0, x1, y1 = box
    return f"({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f})"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
