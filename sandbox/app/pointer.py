"""The mouse on the surface: a click drops a ball where it lands, a drag of a path's start
moves that start. (Left drags elsewhere orbit, as before: `App.handle`.)

Picking uses the camera and heights the last frame drew (`Renderer.drawn`), so the ball lands
on the point under the cursor. A dragged start recomputes the runs a few times a second while
it moves and once more where it is let go; the old paths stay on screen until the new ones have
caught up (`Controller.restart_with`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sandbox.app.commands import Command
from sandbox.render.scene import Trail

CLICK_PIXELS = 4.0  # a press and release this close together is a click, not an orbit
GRAB_PIXELS = 14.0  # a press this close to a path's start grabs the start
DRAG_RESTART_SECONDS = 0.4  # while a start is dragged, the runs are recomputed this often


class Pointer:
    """What the left button is doing on the 3-D view: pressed at `pressed`, holding the start
    of run `grabbed` (None: orbiting), last sent `sent` when."""

    def __init__(self):
        self.pressed: tuple[int, int] | None = None
        self.grabbed: int | None = None
        self.sent: tuple[float, tuple[float, float] | None] = (-math.inf, None)
        self.moved_to: tuple[float, float] | None = None
        self.landed: int | None = None  # the run let go of, shown at its new start until the
        # recomputed runs arrive

    def press(self, app, pos: tuple[int, int]) -> bool:
        """The left button went down at `pos`; True when it grabbed a start (no orbit then)."""
        self.pressed, self.moved_to = pos, None
        self.grabbed = start_under(app, pos)
        self.sent = (-math.inf, None)
        return self.grabbed is not None

    def motion(self, app, pos: tuple[int, int]) -> None:
        """The grabbed start follows the cursor over the surface."""
        drawn = app.renderer.drawn
        point = drawn.pick(pos) if drawn is not None else None
        if point is None:
            return
        self.moved_to = point
        now = app.controller.clock()
        if now - self.sent[0] >= DRAG_RESTART_SECONDS:
            self._send(app, now)

    def release(self, app, pos: tuple[int, int]) -> None:
        """The button came up: a dragged start lands; a click on the surface drops a ball."""
        pressed, grabbed = self.pressed, self.grabbed
        self.pressed = self.grabbed = None
        if grabbed is not None:
            self.grabbed = grabbed
            if self.moved_to is not None and self.moved_to != self.sent[1]:
                self._send(app, app.controller.clock())
            self.grabbed, self.landed = None, grabbed
            return
        if pressed is None or math.dist(pressed, pos) > CLICK_PIXELS or _on_panel(app, pos):
            return
        drawn = app.renderer.drawn
        point = drawn.pick(pos) if drawn is not None else None
        if point is not None:
            app.command(Command.DROP_BALL, point)

    def preview(self, waiting: bool) -> tuple[int, tuple[float, float]] | None:
        """(run, start) to show in place of that run's path: while its start is dragged, and
        after, while the recomputed runs are `waiting` to arrive."""
        if self.grabbed is None and not waiting:
            self.landed = None
        index = self.grabbed if self.grabbed is not None else self.landed
        return None if index is None or self.moved_to is None else (index, self.moved_to)

    def _send(self, app, now: float) -> None:
        self.sent = (now, self.moved_to)
        app.command(Command.MOVE_START, (self.grabbed, self.moved_to))


def dragged(trails: tuple[Trail, ...], preview, names: list[str], surface) -> tuple:
    """The frame's trails with a dragged start (`Pointer.preview`) shown where the cursor holds
    it: the run's ball alone at the new start on the surface (`SurfaceSample`; its old path is
    about to be replaced), at once, while the runs are recomputed in the background."""
    if preview is None or preview[0] >= len(names):
        return trails
    name, start = names[preview[0]], preview[1]
    xy = np.array([start])
    loss = np.array([surface_loss(surface, start)])
    return tuple(
        replace(trail, xy=xy, loss=loss, diverged=False, label="new start…", arrows=())
        if trail.name == name
        else trail
        for trail in trails
    )


def surface_loss(surface, xy: tuple[float, float]) -> float:
    """The drawn surface's loss at `xy`, interpolated bilinearly between its samples."""
    (x0, x1), (y0, y1) = surface.bounds
    rows, cols = surface.heights.shape
    u = min(max((xy[0] - x0) / (x1 - x0), 0.0), 1.0) * (cols - 1)
    v = min(max((xy[1] - y0) / (y1 - y0), 0.0), 1.0) * (rows - 1)
    j, i = min(int(u), cols - 2), min(int(v), rows - 2)
    fu, fv = u - j, v - i
    h = surface.heights.astype(np.float64)
    top = h[i, j] * (1 - fu) + h[i, j + 1] * fu
    bottom = h[i + 1, j] * (1 - fu) + h[i + 1, j + 1] * fu
    return float(top * (1 - fv) + bottom * fv)


def start_under(app, pos: tuple[int, int]) -> int | None:
    """The shown run whose path starts within GRAB_PIXELS of `pos` (the nearest), or None."""
    drawn, controller = app.renderer.drawn, app.controller
    if drawn is None or controller.last_state is None or _on_panel(app, pos):
        return None
    best, best_distance = None, GRAB_PIXELS
    for i, history in enumerate(controller.model.histories):
        first = history.first
        if i in controller.hidden or first is None:
            continue
        pixel = drawn.at_loss(np.array([[first.x, first.y]]), np.array([first.loss]))[0]
        distance = math.dist(pixel, pos) if np.isfinite(pixel).all() else math.inf
        if distance <= best_distance:
            best, best_distance = i, distance
    return best


def _on_panel(app, pos: tuple[int, int]) -> bool:
    """Whether `pos` is on the title, legend, top view or another HUD panel of the frame."""
    x, y = pos
    return any(left <= x <= right and top <= y <= bottom
               for left, top, right, bottom in app.renderer.hud_boxes)  # fmt: skip
