"""Axes around the surface: base frame, ticks and labels placed on the edges facing the camera.

Pure numpy: returns line segments (WORLD_SEGMENT rows) and text labels at projected pixel
positions, for the line and overlay passes to draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sandbox.render.camera import OrbitCamera, project_points
from sandbox.render.trail_geometry import world_segments
from sandbox.render.world import WorldTransform

AXIS_COLOR = (0.82, 0.84, 0.88)
TICK_WORLD = 0.045  # tick mark length
LABEL_WORLD = 0.13  # tick label distance from the box edge
NAME_WORLD = 0.34  # axis name distance from the box edge
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Label:
    """Text at a pixel position (from the top left), centred on it unless `align` says otherwise."""

    text: str
    x: float
    y: float
    align: str = "center"
    is_name: bool = False


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 5 x 10^k steps) inside [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.zeros(0)
    raw = (hi - lo) / target
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)


def format_tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick spacing needs."""
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    return f"{value:.{decimals}f}"


def format_decade(exponent: int) -> str:
    """10^k as a short label: 0.01, 0.1, 1, 10, 100, then 10⁻³ / 10³ style."""
    if -2 <= exponent <= 2:
        return format_tick(10.0**exponent, 10.0**exponent)
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def height_ticks(world: WorldTransform) -> list[tuple[float, str]]:
    """(normalised height, label) of the loss ticks on the vertical axis."""
    scale = world.scale
    lo, hi = float(scale.loss_at(0.0)), float(scale.loss_at(1.0))
    if scale.log and scale.hi - scale.lo >= 1.5:
        exponents = range(math.ceil(scale.lo - 1e-9), math.floor(scale.hi + 1e-9) + 1)
        values = [(10.0**k + scale.shift, format_decade(k)) for k in exponents]
    else:
        ticks = nice_ticks(lo, hi, 4)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else max(abs(hi - lo), 1e-12)
        values = [(float(t), format_tick(float(t), step)) for t in ticks]
    return [(float(scale.normalise(v)), text) for v, text in values]


def _segments(world: WorldTransform, ends: list[tuple]) -> np.ndarray:
    """WORLD_SEGMENT rows from (start, end) pairs in surface coordinates (u, v, h)."""
    if not ends:
        return world_segments(np.zeros((0, 3)), np.zeros((0, 3)), AXIS_COLOR)
    start, end = np.array([e[0] for e in ends]), np.array([e[1] for e in ends])
    return world_segments(
        world.world(start[:, :2], start[:, 2]), world.world(end[:, :2], end[:, 2]), AXIS_COLOR
    )


def axes(
    world: WorldTransform, camera: OrbitCamera, size: tuple[int, int], labels: tuple[str, str, str]
) -> tuple[np.ndarray, list[Label]]:
    """Segments and labels of the base frame, the x and y ticks and the vertical loss axis."""
    ax, ay = world.half_extent
    du, dv = 1.0 / (2 * ax), 1.0 / (2 * ay)  # one world unit in u and in v
    eye = camera.eye()
    u_edge, v_edge = float(eye[0] > 0), float(eye[1] > 0)  # the edges nearest the camera
    u_out, v_out = (1 if u_edge else -1), (1 if v_edge else -1)

    view_proj = camera.view_projection(size[0] / size[1])  # once: ~20 labels and ticks use it

    def pixel(u: float, v: float, h: float) -> tuple[float, float]:
        xy = project_points(view_proj, world.world(np.array([[u, v]]), np.array([h])), size)[0]
        return float(xy[0]), float(xy[1])

    ends = [((0, 0, 0), (1, 0, 0)), ((1, 0, 0), (1, 1, 0))]
    ends += [((1, 1, 0), (0, 1, 0)), ((0, 1, 0), (0, 0, 0))]
    out: list[Label] = []
    (x0, x1), (y0, y1) = world.bounds
    for axis, (lo, hi) in enumerate([(x0, x1), (y0, y1)]):
        ticks = nice_ticks(lo, hi, 5)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
        for value in ticks:
            t = (value - lo) / (hi - lo)
            if axis == 0:
                base, tip = (t, v_edge, 0), (t, v_edge + v_out * TICK_WORLD * dv, 0)
                at = (t, v_edge + v_out * LABEL_WORLD * dv, 0)
            else:
                base, tip = (u_edge, t, 0), (u_edge + u_out * TICK_WORLD * du, t, 0)
                at = (u_edge + u_out * LABEL_WORLD * du, t, 0)
            ends.append((base, tip))
            out.append(Label(format_tick(float(value), step), *pixel(*at)))
        name_at = (
            (0.5, v_edge + v_out * NAME_WORLD * dv, 0)
            if axis == 0
            else (u_edge + u_out * NAME_WORLD * du, 0.5, 0)
        )
        out.append(Label(labels[axis], *pixel(*name_at), is_name=True))
    ends_z, labels_z = _height_axis(world, u_edge, v_edge, labels[2], pixel, size)
    return _segments(world, ends + ends_z), out + labels_z


def _height_axis(world, u_edge, v_edge, name, pixel, size):
    """The vertical loss axis at whichever side corner appears further left on screen."""
    ax, ay = world.half_extent
    corners = [(1.0 - u_edge, v_edge), (u_edge, 1.0 - v_edge)]
    u, v = min(corners, key=lambda c: pixel(c[0], c[1], 0.0)[0])
    # ticks point away from the footprint's centre, diagonally
    out_u = (-1 if u < 0.5 else 1) * TICK_WORLD / (2 * ax) / math.sqrt(2)
    out_v = (-1 if v < 0.5 else 1) * TICK_WORLD / (2 * ay) / math.sqrt(2)
    ends = [((u, v, 0.0), (u, v, 1.0))]
    labels = []
    for h, text in reversed(height_ticks(world)):  # top first: it wins a crowded axis
        if not -1e-6 <= h <= 1 + 1e-6:
            continue
        ends.append(((u, v, h), (u + out_u, v + out_v, h)))
        x, y = pixel(u + 2.2 * out_u, v + 2.2 * out_v, h)
        labels.append(Label(text, x - 4, y, align="right"))
    x, y = pixel(u, v, 1.0)
    labels.append(Label(name, x, y - 26 * size[1] / 720, is_name=True))
    return ends, labels
