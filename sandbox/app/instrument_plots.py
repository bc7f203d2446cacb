"""The timeline window's plots by name (`[view] plots`; the catalogue is sandbox/instruments.py).

Series are drawn over the steps up to the shown one, like the loss; profiles (singular values,
signal per layer) and the data panel show the shown step, with the start as a thin line where
it helps; the mode-connectivity panel is fixed (it is computed from the runs' final weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sandbox.app import instrument_panels as panels
from sandbox.app import plot_marks as marks
from sandbox.app import plots
from sandbox.app.model import COLUMNS
from sandbox.app.plots import TimelineView
from sandbox.instruments import BY_NAME, RANK_THRESHOLD, effective_ranks
from sandbox.render.numbers import human

# Vanishing gradients span ~15 decades from the last layer to the first (depth_sigmoid_plain):
# this plot's log axis may reach further down than plots.LOG_DECADES.
GRADIENT_DECADES = 20
MARGIN_FLOOR = 2.0  # the margin axis reaches down to −2 × the SVM's margin, not to step 0's value


# Series of the step records and their probes ----------------------------------------------------


def _probe_series(gui, view: TimelineView, i: int, values_of, positive: bool = False):
    """Run i's (steps, value) of a probe up to the shown step, thinned like `plots._series`.
    `values_of(history)` gives (steps (N,), values (N,))."""
    xs, ys = values_of(view.histories[i])
    keep = np.isfinite(ys) & (ys > 0) if positive else np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(xs) > 1:
        pixels = gui.implot.get_plot_size().x * (xs[-1] - xs[0]) / max(view.steps, 1)
        xs, ys = plots.envelope(xs, ys, math.ceil(pixels) + 1)
    return np.ascontiguousarray(xs, dtype=np.float64), np.ascontiguousarray(ys, dtype=np.float64)


def _probe_column(name: str, index: int, step: int):
    """`values_of` for column `index` of probe `name` up to `step`."""

    def values_of(history):
        steps, values = history.probe(name, step)
        return steps, values[:, index] if len(steps) else np.empty(0)

    return values_of


def _ranks(step: int):
    def values_of(history):
        steps, values = history.probe("singular_values", step)
        return steps, effective_ranks(values).astype(np.float64)

    return values_of


def _series_plot(
    gui,
    view: TimelineView,
    actions,
    title: str,
    values_of: Callable,
    log_y: bool,
    label: str,
    reference: tuple[float, str] | None = None,
    floor: float = -math.inf,
    counts: bool = False,
) -> None:
    """One curve per visible run of `values_of(history)` over the steps, with the step line;
    `reference`, a value and its name, is a thin grey horizontal line inside the axis. The axis
    reaches down to `floor` at most: lower values leave the plot at its bottom edge. `counts`:
    whole numbers from 0, labelled as such."""
    fitted = plots.fitted_runs(view)
    values = [np.maximum(values_of(view.histories[i])[1], floor) for i in fitted]
    values += [np.array([reference[0]])] if reference else []
    if not plots._begin(gui, view, title, log_y, values):
        return
    if counts:
        _count_axis(gui, values)
    for i in marks.visible(view):
        xs, ys = _probe_series(gui, view, i, values_of, positive=log_y)
        plots.curve(gui, view.names[i], xs, ys, view.colors[i])
    if reference:
        spec = plots._spec(gui, marks.fixed(gui, marks.REFERENCE_GREY), 1.0)
        spec.flags = gui.implot.InfLinesFlags_.horizontal
        gui.implot.plot_inf_lines(reference[1], np.array([reference[0]]), spec)
        grey = marks.fixed(gui, marks.REFERENCE_GREY)
        marks.label(gui, reference[1], 0.5 * view.steps, reference[0], grey, (0, -9))
    plots._end(gui, view, actions, _hover(gui, view, values_of, label))


def _count_axis(gui, values: list[np.ndarray]) -> None:
    """A y axis for whole numbers (a rank): 0 … the largest, at most five integer labels."""
    implot = gui.implot
    finite = [v[np.isfinite(v)] for v in values]
    top = max((int(v.max()) for v in finite if len(v)), default=1)
    stride = max(1, math.ceil(top / 4))
    ticks = [float(t) for t in range(0, top + 1, stride)]
    implot.setup_axis_limits(implot.ImAxis_.y1, -0.5, top + 0.5, implot.Cond_.always)
    implot.setup_axis_ticks(implot.ImAxis_.y1, ticks, [str(int(t)) for t in ticks])


def _margin(gui, view: TimelineView, actions) -> None:
    """The normalised margin, with the SVM's (the largest any direction has) as a grey line.
    The axis shows the approach to it: from −MARGIN_FLOOR × the SVM's margin up (a badly
    placed start, −3.2 in max_margin, would squash the climb from 0 to 0.11 into a line)."""
    svm = getattr(view.histories, "panels", {}).get("svm")
    reference = (svm["margin"], f"SVM {human(svm['margin'])}") if svm else None
    floor = -MARGIN_FLOOR * svm["margin"] if svm else -math.inf
    values_of = _probe_column("margin", 0, view.step)
    title = BY_NAME["margin"].title
    _series_plot(gui, view, actions, title, values_of, False, "margin", reference, floor)


def _hover(gui, view: TimelineView, values_of, label: str) -> list[tuple[str, str]]:
    """`label` of each visible run at the step under the mouse (its last value up to there)."""
    if not gui.implot.is_plot_hovered():
        return []
    step = max(0, round(gui.implot.get_plot_mouse_pos().x))
    lines = [(f"step {step}", "")]
    for i in marks.visible(view):
        xs, ys = values_of(view.histories[i])
        shown = ys[xs <= min(step, view.step)]
        if len(shown):
            value = shown[-1]
            lines.append((f"{view.names[i]}: {label} {marks.number(value)}", view.names[i]))
    return lines


def _layer_gradients(gui, view: TimelineView, actions) -> None:
    """Each run's first and last Linear layer's gradient norm: the last thick, the first thin
    and darker, labelled at the shown step for the first visible run."""
    runs = [i for i in marks.visible(view) if view.histories[i].layers >= 2]
    columns = {i: (len(COLUMNS), len(COLUMNS) + view.histories[i].layers - 1) for i in runs}
    values = [view.histories[i].rows(view.step)[:, c] for i in runs for c in columns[i]]
    title = BY_NAME["layer_gradients"].title
    if not plots._begin(gui, view, title, True, values, decades=GRADIENT_DECADES):
        return
    ends = []  # the first visible run's curve ends: (value, text, colour) to label
    for i in runs:
        first, last = columns[i]
        for column, shade, weight, text in ((last, 1.0, 2.0, "last"), (first, 0.55, 1.25, "first")):
            xs, ys = plots._series(gui, view, i, column, positive=True)
            if not len(xs):
                continue
            color = tuple(c * shade for c in view.colors[i])
            plots.curve(gui, f"{view.names[i]} {text} layer", xs, ys, color, weight)
            if i == runs[0]:  # labelled in the run's own colour: the shaded one is too dark
                ends.append((xs[-1], ys[-1], text, plots.readable(view.colors[i], gui.light)))
    # The higher end's label goes above its curve, the lower one's below: never on each other.
    row = -1e9
    for (x, y, text, color), dy in zip(sorted(ends, key=lambda e: -e[1]), (-10, 10), strict=False):
        row = marks.label(gui, text, x, y, color, (-24, dy), below=row)
    hover = []
    for i in runs:
        for column, text in zip(columns[i], ("first", "last"), strict=True):
            hover += plots._hover_values(gui, view, column, f"‖∇‖ {text}")[1 if hover else 0 :]
    plots._end(gui, view, actions, hover)


# Profiles: a quantity with an index of its own, at the shown step --------------------------------


def _shown_row(history, name: str, step: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Probe `name`'s values at the start and at the last measured step up to `step`."""
    steps, values = history.probe(name, step)
    if not len(steps):
        return None, None
    return values[0], values[-1]


def _begin_profile(gui, title: str, count: int, values: list[np.ndarray], what: str) -> bool:
    """A plot over indices 1 … count (integer ticks) with a log y axis that fits `values`."""
    implot = gui.implot
    if not implot.begin_plot(title, None, implot.Flags_.no_legend):
        return False
    y_range = plots.axis_range(values, True)
    implot.setup_axes(what, "", 0, implot.AxisFlags_.auto_fit if y_range is None else 0)
    implot.setup_axis_limits(implot.ImAxis_.x1, 0.5, count + 0.5, implot.Cond_.always)
    stride = max(1, math.ceil(count / 6))
    ticks = [1, *range(stride, count + 1, stride)] if stride > 1 else list(range(1, count + 1))
    implot.setup_axis_ticks(implot.ImAxis_.x1, [float(t) for t in ticks], [str(t) for t in ticks])
    implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
    if y_range is not None:
        implot.setup_axis_limits(implot.ImAxis_.y1, y_range.lo, y_range.hi, implot.Cond_.always)
        values_, labels = zip(*y_range.ticks, strict=True)
        implot.setup_axis_ticks(implot.ImAxis_.y1, list(values_), list(labels))
    return True


def _profile(gui, view: TimelineView, name: str, title: str, what: str) -> list:
    """Draw each visible run's probe `name` by index: the shown step thick with markers, the
    start thin; return the shown rows (the plot is still open when the list is not None)."""
    rows = {i: _shown_row(view.histories[i], name, view.step) for i in marks.visible(view)}
    rows = {i: r for i, r in rows.items() if r[1] is not None}
    count = max((len(r[1]) for r in rows.values()), default=1)
    values = [v for r in rows.values() for v in r]
    if not _begin_profile(gui, title, count, values, what):
        return None
    implot = gui.implot
    for i, (start, shown) in rows.items():
        index = np.arange(1, len(shown) + 1, dtype=np.float64)
        color = plots.readable(view.colors[i], gui.light)
        thin = plots._spec(gui, tuple(0.6 * c for c in color), 1.0)
        implot.plot_line(f"{view.names[i]} at step 0", index, marks.positive(start), thin)
        spec = plots._spec(gui, color, 2.0)
        spec.marker, spec.marker_size = implot.Marker_.circle, 2.5 * gui.ui
        implot.plot_line(view.names[i], index, marks.positive(shown), spec)
    return list(rows.values())


def _singular_values(gui, view: TimelineView, actions) -> None:
    """The singular values of W at the shown step (and the start, thin), the 1 % threshold of
    the effective rank as a grey line, and the effective rank in the title."""
    shown = [
        _shown_row(view.histories[i], "singular_values", view.step)[1] for i in marks.visible(view)
    ]
    shown = [s for s in shown if s is not None]
    rank = f"rank {effective_ranks(shown[0][None])[0]}" if shown else "rank –"
    title = f"singular values of W · {rank}###singular_values"
    rows = _profile(gui, view, "singular_values", title, "index")
    if rows is None:
        return
    if shown and np.isfinite(shown[0]).any():
        threshold = RANK_THRESHOLD * np.nanmax(shown[0])
        spec = plots._spec(gui, marks.fixed(gui, marks.REFERENCE_GREY), 1.0)
        spec.flags = gui.implot.InfLinesFlags_.horizontal
        gui.implot.plot_inf_lines("1 % of the largest", np.array([threshold]), spec)
        marks.label(
            gui,
            "1 %",
            len(shown[0]) + 0.5,
            threshold,
            marks.fixed(gui, marks.REFERENCE_GREY),
            (-16, -9),
        )
    gui.implot.end_plot()


def _signal(gui, view: TimelineView, actions) -> None:
    if _profile(gui, view, "signal", BY_NAME["signal"].title, "hidden layer") is not None:
        gui.implot.end_plot()


# The catalogue's names -> drawing functions -----------------------------------------------------

DRAW: dict[str, Callable] = {
    "loss": lambda gui, view, actions: plots._plot(gui, view, "loss", "loss", True, actions),
    "sharpness": plots._sharpness_plot,
    "gradient": plots._gradient_plot,
    "distance": lambda gui, view, a: plots._plot(gui, view, "distance", "distance", False, a),
    "layer_gradients": _layer_gradients,
    "weight_norm": lambda gui, view, a: plots._plot(gui, view, "‖w‖", "weight_norm", False, a),
    "singular_values": _singular_values,
    "effective_rank": lambda gui, view, a: _series_plot(
        gui, view, a, BY_NAME["effective_rank"].title, _ranks(view.step), False, "rank", counts=True
    ),
    "signal": _signal,
    "margin": _margin,
    "svm_angle": lambda gui, view, a: _series_plot(
        gui,
        view,
        a,
        BY_NAME["svm_angle"].title,
        _probe_column("svm_angle", 0, view.step),
        True,
        "angle",
    ),
    "trace": lambda gui, view, a: _series_plot(
        gui, view, a, BY_NAME["trace"].title, _probe_column("trace", 0, view.step), False, "tr H"
    ),
    "spectrum": panels.spectrum_panel,
    "data": panels.data_panel,
    "mode_path": panels.mode_path,
    "steps": panels.steps_panel,
}
