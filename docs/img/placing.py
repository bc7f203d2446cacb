"""docs/img/placing.png: balls placed by hand on himmelblau, made by driving the app as a
student's mouse does (synthetic clicks on the headless backend): three clicks drop three balls,
then the first ball's start is dragged across the ridge. Run by make.py, or alone:

    python docs/img/placing.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pygame

from sandbox.app.commands import Command
from sandbox.app.window import App, Headless
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

HERE = Path(__file__).resolve().parent
SIZE = (960, 540)
DROPS = [(-3.0, 3.5), (3.5, -3.0), (-1.0, -4.0)]  # three of himmelblau's four basins
DRAG = ((-3.0, 3.5), (2.5, 3.5))  # the first dropped ball, moved over into the fourth basin


def frames_until(app: App, condition, limit: float = 300.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out: {app.message}")
        app.frame()


def pixel(app: App, xy) -> tuple[int, int]:
    return tuple(int(v) for v in app.renderer.drawn.on_surface(np.array([xy]))[0])


def main(out: Path = HERE / "placing.png") -> None:
    app = App(load_scenario(find_scenario("himmelblau")), backend=Headless(SIZE))
    try:
        app.command(Command.PANELS)  # the view alone
        frames_until(app, lambda: app.renderer.drawn is not None and app.model.finished)
        for xy in DROPS:
            for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
                app.backend.post(pygame.event.Event(kind, pos=pixel(app, xy), button=1))
            app.frame()
            frames_until(app, lambda: app.pending is None and app.model.finished)
        start, end = (np.array(pixel(app, xy)) for xy in DRAG)
        app.backend.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=tuple(start), button=1))
        for t in np.linspace(0.1, 1.0, 10):
            pos = tuple(int(v) for v in start + t * (end - start))
            motion = pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(1, 0), buttons=(1, 0, 0))
            app.backend.post(motion)
            app.frame()
        app.backend.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=tuple(end), button=1))
        app.frame()
        frames_until(app, lambda: app.pending is None and app.model.finished)
        app.frame()
        app.screenshot(out)
        print(f"{out}: {[run.name for run in app.scenario.runs]}; {app.message}")
    finally:
        app.close()


if __name__ == "__main__":
    main()
