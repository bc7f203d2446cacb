"""The plain data the renderer draws: one frozen `SceneState` per frame.

Nothing here knows about GL, torch or the optimisers. Producers (the app, replays, tests) build
these from numpy arrays; the renderer turns them into pixels. Non-finite numbers are allowed
everywhere (a diverged run produces them) and are cleaned up by `sandbox.render.world`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.render.theme import DARK, Theme

Bounds = tuple[tuple[float, float], tuple[float, float]]
Color = tuple[float, float, float]

# Run colours chosen to stand out against every part of viridis (purple, teal, green, yellow):
# warm red, white, magenta, orange, sky blue, pink. Callers may use any colours they like.
RUN_COLORS: tuple[Color, ...] = (
    (1.00, 0.30, 0.22),
    (1.00, 1.00, 1.00),
    (1.00, 0.35, 0.95),
    (1.00, 0.62, 0.10),
    (0.45, 0.80, 1.00),
    (1.00, 0.62, 0.70),
)
# The anatomy arrows at a ball (`Trail.arrows`, in this order): −η∇f, −η·m and the step taken.
# Cyan, lime and yellow: none is a run colour, and the lines' dark rim sets them off viridis.
ARROW_COLORS: tuple[Color, ...] = ((0.10, 0.95, 1.00), (0.55, 1.00, 0.25), (1.00, 0.88, 0.05))
ARROW_LABELS = ("−η∇f", "−η·m", "step")


@dataclass(frozen=True)
class Trail:
    """One optimiser run as drawn: its path so far; the last point is the current iterate.

    Parameters
    ----------
    name
        Legend name, e.g. ``"GD"``.
    color
        RGB in [0, 1]; see `RUN_COLORS`.
    xy
        Shape (N, 2): the iterate's coordinates in the plane of the surface (for network slices,
        its projection onto the slice). N may be 0 (nothing drawn yet).
    loss
        Shape (N,): the true loss at each point (for network slices this may differ from the
        surface under the point; the renderer then draws a drop line).
    diverged
        The run blew up: its ball is drawn hollow and the legend says so.
    label
        Text after the name in the legend, e.g. ``"loss 0.0123  lr 0.05"``; empty means
        ``"loss <last loss>"``.
    arrows
        Displacements (dx, dy) in the plane's coordinates drawn from the ball, in `ARROW_COLORS`
        order (−η∇f, −η·m, the step); None leaves one out, empty draws none.
    """

    name: str
    color: Color
    xy: np.ndarray
    loss: np.ndarray
    diverged: bool = False
    label: str = ""
    arrows: tuple[tuple[float, float] | None, ...] = ()

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        loss = np.asarray(self.loss, dtype=np.float64).reshape(-1)
        if len(xy) != len(loss):
            raise ValueError(f"trail {self.name!r}: {len(xy)} points but {len(loss)} losses")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "color", tuple(float(c) for c in self.color))


@dataclass(frozen=True)
class SceneState:
    """Everything one frame shows.

    Parameters
    ----------
    title
        Scenario title, top left.
    bounds
        ``((x0, x1), (y0, y1))``: the plane region the height field covers.
    heights
        Shape (H, W): loss on a regular grid over `bounds`; row i is the i-th y value (increasing
        y), column j the j-th x value, both ends included. NaN/inf are allowed.
    trails
        The runs, drawn in this order (later ones on top).
    step
        Step counter shown in the HUD.
    caption
        Subtitle under the title (what to look at).
    captions
        Every caption the scenario can show: the title panel (or the lecture subtitle) keeps
        room for the longest, so panels keep their size while captions change.
    log_height
        Height and colour follow log10(loss - floor) instead of the loss: for landscapes that span
        orders of magnitude (canyons, Rosenbrock).
    hud_lines
        Extra lines under the legend, e.g. ``"sharpness 38.1   2/lr = 40"``.
    show_minimap
        A top-down contour map in the bottom-right corner.
    wireframe
        Grid lines over the surface at the mesh resolution.
    help
        The key help overlay's rows, (keys, what they do); empty: no overlay.
    axis_labels
        Names of the x, y and height axes (``"α (d₁)"`` ... for network slices).
    show_legend
        The legend panel (runs, their numbers, the extra lines). The app turns it off while its
        control panel is open: each run's numbers are then under its name there, and the 3-D
        view gets the room.
    alert
        A message shown in a red banner (e.g. a background worker crashed); empty for none.
    challenge
        The scenario's challenge in a bar at the foot of the view: its goal and progress while
        it is open, its result once decided; empty for none.
    challenge_result
        ``""`` while the challenge is open, ``"met"`` or ``"missed"`` once decided (the bar
        turns green or red).
    theme
        Colours and type size (`DARK`, or `LECTURE` for projectors: light, large subtitles).
    key_lines
        Legend lines after `hud_lines` in colours of their own (None: the dim text colour): the
        key to the anatomy arrows and the numbers of the update.
    """

    title: str
    bounds: Bounds
    heights: np.ndarray
    trails: tuple[Trail, ...] = ()
    step: int = 0
    caption: str = ""
    captions: tuple[str, ...] = ()
    log_height: bool = False
    hud_lines: tuple[str, ...] = ()
    show_minimap: bool = True
    wireframe: bool = False
    help: tuple[tuple[str, str], ...] = ()
    axis_labels: tuple[str, str, str] = ("x", "y", "loss")
    show_legend: bool = True
    alert: str = ""
    challenge: str = ""
    challenge_result: str = ""
    theme: Theme = DARK
    key_lines: tuple[tuple[str, Color | None], ...] = ()

    def __post_init__(self) -> None:
        heights = np.asarray(self.heights)
        if heights.ndim != 2 or min(heights.shape) < 2:
            raise ValueError(f"heights must be a 2-D grid of at least 2x2, got {heights.shape}")
        (x0, x1), (y0, y1) = self.bounds
        box = np.array([x0, x1, y0, y1], dtype=np.float64)
        if not np.all(np.isfinite(box)) or not (x1 > x0 and y1 > y0):
            raise ValueError(f"bounds must be finite with x0 < x1 and y0 < y1, got {self.bounds}")
        object.__setattr__(self, "heights", heights)
        object.__setattr__(self, "bounds", ((float(x0), float(x1)), (float(y0), float(y1))))
        object.__setattr__(self, "trails", tuple(self.trails))
        object.__setattr__(self, "hud_lines", tuple(self.hud_lines))
        object.__setattr__(self, "captions", tuple(self.captions))
