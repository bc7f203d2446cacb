"""Timeline bar and live plots (ImPlot): loss, sharpness against 2/η, gradient norms, distance.

Everything is drawn up to the shown step, so dragging the scrubber (or the step line in any
plot) moves the 3-D view and the plots together. Hovering a plot lists every run's value at that
step. Series are thinned to their envelope at the plot's resolution (see `envelope`): ImPlot
draws each segment as a few triangles, and a software renderer pays for every one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sandbox.app.commands import Command
from sandbox.app.model import COLUMNS, RunHistory
from sandbox.app.panel import Action, CommandAction, readable
from sandbox.render.axes import format_decade
from sandbox.render.numbers import human

LOG_DECADES = 12  # a log axis reaches at most this far below its top: never down to 1e-306
MIN_RELATIVE_SPAN = 0.05  # a linear axis spans at least 5 % of its values' size: noise stays flat
MAX_LOG_TICKS = 4  # decade labels on a narrow plot


@dataclass(frozen=True)
class TimelineView:
    """The read-only facts the timeline and plots show."""

    names: list[str]
    colors: list[tuple[float, float, float]]
    histories: list[RunHistory]
    hidden: frozenset[int]
    step: int
    available: int
    steps: int
    paused: bool
    speed: float
    measured: bool  # some run has a sharpness estimate (the λmax plot is shown)


def envelope(xs: np.ndarray, ys: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of a series that draw the same line when `buckets` columns span it: in each
    run of consecutive points (equal counts; a run's steps are evenly spaced) its lowest and
    highest, in order, and the first and last point. A spike stays as tall as it is, which
    picking every k-th point would not promise (an edge-of-stability loss spike is one step)."""
    count = len(xs)
    per = count // max(buckets, 1)
    if per < 3:  # keeping two of every three or fewer points saves nothing worth the work
        return xs, ys
    body = ys[: count - count % per].reshape(-1, per)
    starts = np.arange(len(body)) * per
    keep = np.concatenate(
        [
            [0],
            starts + body.argmin(axis=1),
            starts + body.argmax(axis=1),
            np.arange(len(body) * per, count),  # the short run at the end, as it is
            [count - 1],
        ]
    )
    keep = np.unique(keep)
    return xs[keep], ys[keep]


@dataclass(frozen=True)
class AxisRange:
    """A y axis's limits and, for log axes, its decade ticks (value, label)."""

    lo: float
    hi: float
    ticks: tuple[tuple[float, str], ...] = ()  # empty: ImPlot's own ticks


def axis_range(series: list[np.ndarray], log: bool, decades: int = LOG_DECADES) -> AxisRange | None:
    """Limits that show every value of `series` without clipping, and never blow noise up.

    Log: whole decades around the positive values, at least one decade and at most `decades`
    below the top (a loss falling to 1e-46 is drawn leaving the plot at 1e-12 below its start,
    not with ticks at 1e-306), labelled at decades. Linear: the values' range, at least
    MIN_RELATIVE_SPAN of their size (a loss stuck at 0.6931 ± 1e-7 is a flat line, not a
    cliff), padded by 5 % so that no curve runs along the frame. None when there is no value.
    """
    values = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in series] or [[]])
    values = values[np.isfinite(values) & (values > 0 if log else True)]
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    if log:
        top = math.ceil(math.log10(hi) - 1e-9)
        bottom = max(math.floor(math.log10(lo) + 1e-9), top - decades)
        bottom = min(bottom, top - 1)
        stride = math.ceil((top - bottom + 1) / MAX_LOG_TICKS)
        ticks = tuple((10.0**k, format_decade(k)) for k in range(top, bottom - 1, -stride))
        return AxisRange(10.0**bottom, 10.0**top, ticks[::-1])
    # all zero (the distance at step 0): a unit axis, not ±4e-13 around nothing
    span = max(hi - lo, MIN_RELATIVE_SPAN * max(abs(lo), abs(hi))) or 1.0
    middle = (lo + hi) / 2
    lo, hi = min(lo, middle - span / 2), max(hi, middle + span / 2)
    pad = 0.05 * (hi - lo)
    return AxisRange(lo - pad, hi + pad)


def _begin(
    gui,
    view: TimelineView,
    title: str,
    log_y: bool,
    values: list[np.ndarray],
    decades: int = LOG_DECADES,
) -> bool:
    """Begin a plot whose y axis fits `values` (the visible runs' values up to the shown step)."""
    implot = gui.implot
    if not implot.begin_plot(title, None, implot.Flags_.no_legend):
        return False
    y_range = axis_range(values, log_y, decades)
    # no "step" under the axis: the scrubber above says it, and the ~20 px go to the curves
    implot.setup_axes("", "", 0, implot.AxisFlags_.auto_fit if y_range is None else 0)
    last = max(view.steps, 1)
    implot.setup_axis_limits(implot.ImAxis_.x1, 0, last, implot.Cond_.always)
    ticks = step_ticks(last)
    implot.setup_axis_ticks(implot.ImAxis_.x1, ticks, [step_label(t) for t in ticks])
    if log_y:
        implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
    if y_range is not None:
        implot.setup_axis_limits(implot.ImAxis_.y1, y_range.lo, y_range.hi, implot.Cond_.always)
        if y_range.ticks:
            values_, labels = zip(*y_range.ticks, strict=True)
            implot.setup_axis_ticks(implot.ImAxis_.y1, list(values_), list(labels))
    return True


def step_ticks(last: int) -> list[float]:
    """Two or three round step counts from 0 (a step of 1, 2 or 5 × 10^k, at least a third of
    `last`), none in the last 15 % of the axis: a label at its very end ran into the first label
    of the plot beside it ("200" + "0" read "2000") or was cut at the window's edge."""
    size = 10 ** math.floor(math.log10(max(last / 3, 1)))
    step = next(m * size for m in (1, 2, 5, 10) if m * size >= last / 3)
    return [float(k * step) for k in range(4) if k * step <= 0.85 * last]


def step_label(step: float) -> str:
    """A step count in at most ~4 characters: 150, 1.5k, 10k, 2.5M (side by side, the last
    label of one plot and the first of the next must not read as one number)."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if step >= size:
            return f"{step / size:.3g}{suffix}"
    return f"{step:.3g}"


def fitted_runs(view: TimelineView) -> list[int]:
    """The runs a y axis fits: the visible ones that have not diverged by the shown step, or
    all visible ones when every one has (batchnorm_off's run at 1e34 squashed the run that
    trains into the bottom row of pixels; a diverged run now leaves the plot at the top)."""
    visible = [i for i in range(len(view.names)) if i not in view.hidden]
    return [i for i in visible if not view.histories[i].diverged_by(view.step)] or visible


def _values(view: TimelineView, columns: list[int]) -> list[np.ndarray]:
    """The fitted runs' values of `columns` up to the shown step (what the axis must show)."""
    found = []
    for i in fitted_runs(view):
        rows = view.histories[i].rows(view.step)
        found += [rows[:, c] for c in columns if c < rows.shape[1]]
    return found


def _end(gui, view: TimelineView, actions: list[Action], hover: list[tuple[str, str]]) -> None:
    """The draggable step line, the hover tooltip, then end the plot."""
    implot, imgui = gui.implot, gui.imgui
    color = imgui.ImVec4(0.2, 0.2, 0.2, 0.9) if gui.light else imgui.ImVec4(1, 1, 1, 0.8)
    changed, x, *_ = implot.drag_line_x(0, float(view.step), color, 1.5 * gui.ui)
    if changed:
        step = int(round(min(max(x, 0), view.available)))
        actions.append(CommandAction(Command.SCRUB, step))
    if implot.is_plot_hovered() and hover:
        imgui.begin_tooltip()
        for line, _ in hover:
            imgui.text(line)
        imgui.end_tooltip()
    implot.end_plot()


def _series(
    gui, view: TimelineView, i: int, column: int, positive: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Run i's finite values of `column` (only the positive ones for a log axis) up to the shown
    step, as their envelope at the current plot's width (call between begin and end)."""
    rows = view.histories[i].rows(view.step)
    xs, ys = rows[:, 0], rows[:, column]
    keep = np.isfinite(ys) & (ys > 0) if positive else np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(xs) > 1:
        pixels = gui.implot.get_plot_size().x * (xs[-1] - xs[0]) / max(view.steps, 1)
        xs, ys = envelope(xs, ys, math.ceil(pixels) + 1)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys)


def _spec(gui, color, weight: float = 2.0):
    line = gui.imgui.ImVec4(*readable(color, gui.light), 1.0)
    return gui.implot.Spec(line_color=line, line_weight=weight * gui.ui)


def curve(gui, name: str, xs: np.ndarray, ys: np.ndarray, color, weight: float = 2.0) -> None:
    """A run's curve with a dot at its end, the shown step: a curve of one point (step 1 of
    1,200) is otherwise invisible, and the dot says where each run is now."""
    gui.implot.plot_line(name, xs, ys, _spec(gui, color, weight))
    if len(xs):
        spec = _spec(gui, color, weight)
        spec.marker = gui.implot.Marker_.circle
        spec.marker_size = 3.5 * gui.ui
        spec.marker_fill_color = spec.line_color
        gui.implot.plot_scatter(f"{name} now", xs[-1:], ys[-1:], spec)


def _hover_values(gui, view: TimelineView, column: int, label: str) -> list[tuple[str, str]]:
    """`label` of each visible run at the step under the mouse."""
    if not gui.implot.is_plot_hovered():
        return []
    step = gui.implot.get_plot_mouse_pos().x
    lines = [(f"step {max(0, round(step))}", "")]
    for i, name in enumerate(view.names):
        if i in view.hidden:
            continue
        rows = view.histories[i].rows(min(view.step, int(max(step, 0))))
        if len(rows):
            value = rows[-1, column]
            text = human(value) if math.isfinite(value) else "—"
            lines.append((f"{name}: {label} {text}", name))
    return lines


def _plot(gui, view, title: str, column_name: str, log_y: bool, actions) -> None:
    column = COLUMNS.index(column_name)
    if not _begin(gui, view, title, log_y, _values(view, [column])):
        return
    for i, name in enumerate(view.names):
        if i in view.hidden:
            continue
        xs, ys = _series(gui, view, i, column, positive=log_y)
        curve(gui, name, xs, ys, view.colors[i])
    _end(gui, view, actions, _hover_values(gui, view, column, column_name.replace("_", " ")))


def _sharpness_plot(gui, view: TimelineView, actions) -> None:
    """λ_max per run (where measured) with the run's 2/η as a thin line of the same colour."""
    sharp, lr = COLUMNS.index("sharpness"), COLUMNS.index("lr")
    lines = [2 / v for v in _values(view, [lr])]
    if not _begin(gui, view, "λmax vs 2/η", True, _values(view, [sharp]) + lines):
        return
    for i, name in enumerate(view.names):
        if i in view.hidden:
            continue
        xs, ys = _series(gui, view, i, sharp, positive=True)
        if not len(xs):
            continue
        curve(gui, name, xs, ys, view.colors[i])
        lx, lrs = _series(gui, view, i, lr, positive=True)
        gui.implot.plot_line(f"2/η {name}", lx, 2 / lrs, _spec(gui, view.colors[i], 1.0))
    _end(gui, view, actions, _hover_values(gui, view, sharp, "λmax"))


def _gradient_plot(gui, view: TimelineView, actions) -> None:
    """The gradient norm; for networks one line per layer (darker for deeper layers)."""
    total = COLUMNS.index("grad_norm")
    layers = max((view.histories[i].layers for i in range(len(view.names))), default=0)
    columns = [len(COLUMNS) + k for k in range(layers)] if layers else [total]
    if not _begin(gui, view, "gradient norm", True, _values(view, columns)):
        return
    for i, name in enumerate(view.names):
        if i in view.hidden:
            continue
        layers = view.histories[i].layers
        if not layers:
            xs, ys = _series(gui, view, i, total, positive=True)
            curve(gui, name, xs, ys, view.colors[i])
            continue
        for layer in range(layers):
            xs, ys = _series(gui, view, i, len(COLUMNS) + layer, positive=True)
            shade = 1.0 - 0.6 * layer / max(layers - 1, 1)
            color = tuple(c * shade for c in view.colors[i])
            label = f"{name} layer {layer + 1}"
            gui.implot.plot_line(label, xs, ys, _spec(gui, color, 1.5))
    _end(gui, view, actions, _hover_values(gui, view, total, "‖∇‖"))
