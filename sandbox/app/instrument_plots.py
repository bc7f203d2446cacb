"""The timeline window's plots by name (`[view] plots`; the catalogue is sandbox/instruments.py).

Series are drawn over the steps up to the shown one, like the loss; profiles (singular values,
signal per layer) and the data panel show the shown step, with the start as a thin line where
it helps; the mode-connectivity panel is fixed (it is computed from the runs' final weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sandbox.app import plots
from sandbox.app.model import COLUMNS
from sandbox.app.plots import TimelineView
from sandbox.instruments import BY_NAME, RANK_THRESHOLD, effective_ranks
from sandbox.render.numbers import human

# Fixed colours (no run has them), dark theme first, then the light (lecture) theme's darker
# ones that still read on white.
CLASS_COLORS = (
    ((0.30, 0.85, 0.72), (0.95, 0.88, 0.30)),  # the data's two classes
    ((0.05, 0.55, 0.45), (0.70, 0.52, 0.00)),
)
REFERENCE_GREY = ((0.62, 0.62, 0.66), (0.40, 0.40, 0.44))  # SVM line, straight path, thresholds
CURVE_GREEN = ((0.35, 0.88, 0.45), (0.10, 0.55, 0.20))


def _fixed(gui, colors):
    """The theme's one of a (dark, light) pair of fixed colours."""
    return colors[1] if gui.light else colors[0]


# Vanishing gradients span ~15 decades from the last layer to the first (depth_sigmoid_plain):
# this plot's log axis may reach further down than plots.LOG_DECADES.
GRADIENT_DECADES = 20
MARGIN_FLOOR = 2.0  # the margin axis reaches down to −2 × the SVM's margin, not to step 0's value


def _visible(view: TimelineView) -> list[int]:
    return [i for i in range(len(view.names)) if i not in view.hidden]


def _vec4(gui, color, alpha: float = 1.0):
    return gui.imgui.ImVec4(*color, alpha)


def _label(
    gui, text: str, x: float, y: float, color, offset: tuple[float, float], below: float = -1e9
) -> float:
    """`text` in `color` near plot point (x, y): moved by `offset` pixels, then kept whole
    inside the plot area (a label at a curve's top end would otherwise be cut off) and its
    centre at least one line below pixel row `below`. Returns that centre's pixel row."""
    implot, imgui = gui.implot, gui.imgui
    if not (math.isfinite(x) and math.isfinite(y)):
        return below
    corner, size = implot.get_plot_pos(), implot.get_plot_size()
    point, text_size = implot.plot_to_pixels(x, y), imgui.calc_text_size(text)
    half_x, half_y = text_size.x / 2 + 3, text_size.y / 2 + 1
    px = min(max(point.x + offset[0], corner.x + half_x), corner.x + size.x - half_x)
    py = min(max(point.y + offset[1], corner.y + half_y), corner.y + size.y - half_y)
    py = max(py, below + 2 * half_y)  # under the label above it, even if that leaves the plot
    implot.push_style_color(implot.Col_.inlay_text, _vec4(gui, color))
    implot.plot_text(text, x, y, imgui.ImVec2(px - point.x, py - point.y))
    implot.pop_style_color()
    return py


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
    for i in _visible(view):
        xs, ys = _probe_series(gui, view, i, values_of, positive=log_y)
        plots.curve(gui, view.names[i], xs, ys, view.colors[i])
    if reference:
        spec = plots._spec(gui, _fixed(gui, REFERENCE_GREY), 1.0)
        spec.flags = gui.implot.InfLinesFlags_.horizontal
        gui.implot.plot_inf_lines(reference[1], np.array([reference[0]]), spec)
        grey = _fixed(gui, REFERENCE_GREY)
        _label(gui, reference[1], 0.5 * view.steps, reference[0], grey, (0, -9))
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
    for i in _visible(view):
        xs, ys = values_of(view.histories[i])
        shown = ys[xs <= min(step, view.step)]
        if len(shown):
            value = shown[-1]
            lines.append((f"{view.names[i]}: {label} {_number(value)}", view.names[i]))
    return lines


def _number(value: float) -> str:
    return human(value) if math.isfinite(value) else "—"


def _layer_gradients(gui, view: TimelineView, actions) -> None:
    """Each run's first and last Linear layer's gradient norm: the last thick, the first thin
    and darker, labelled at the shown step for the first visible run."""
    runs = [i for i in _visible(view) if view.histories[i].layers >= 2]
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
        row = _label(gui, text, x, y, color, (-24, dy), below=row)
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
    rows = {i: _shown_row(view.histories[i], name, view.step) for i in _visible(view)}
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
        implot.plot_line(f"{view.names[i]} at step 0", index, _positive(start), thin)
        spec = plots._spec(gui, color, 2.0)
        spec.marker, spec.marker_size = implot.Marker_.circle, 2.5 * gui.ui
        implot.plot_line(view.names[i], index, _positive(shown), spec)
    return list(rows.values())


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: the non-positive ones as NaN (a gap, not a line to 1e-300)."""
    values = np.asarray(values, dtype=np.float64)
    return np.ascontiguousarray(np.where(values > 0, values, np.nan))


def _singular_values(gui, view: TimelineView, actions) -> None:
    """The singular values of W at the shown step (and the start, thin), the 1 % threshold of
    the effective rank as a grey line, and the effective rank in the title."""
    shown = [_shown_row(view.histories[i], "singular_values", view.step)[1] for i in _visible(view)]
    shown = [s for s in shown if s is not None]
    rank = f"rank {effective_ranks(shown[0][None])[0]}" if shown else "rank –"
    title = f"singular values of W · {rank}###singular_values"
    rows = _profile(gui, view, "singular_values", title, "index")
    if rows is None:
        return
    if shown and np.isfinite(shown[0]).any():
        threshold = RANK_THRESHOLD * np.nanmax(shown[0])
        spec = plots._spec(gui, _fixed(gui, REFERENCE_GREY), 1.0)
        spec.flags = gui.implot.InfLinesFlags_.horizontal
        gui.implot.plot_inf_lines("1 % of the largest", np.array([threshold]), spec)
        _label(gui, "1 %", len(shown[0]) + 0.5, threshold, _fixed(gui, REFERENCE_GREY), (-16, -9))
    gui.implot.end_plot()


def _signal(gui, view: TimelineView, actions) -> None:
    if _profile(gui, view, "signal", BY_NAME["signal"].title, "hidden layer") is not None:
        gui.implot.end_plot()


# Panels -----------------------------------------------------------------------------------------


def _data_panel(gui, view: TimelineView, actions) -> None:
    """The data (two classes: circles and squares), the SVM's line w·x + b = 0 (grey) and each
    run's line at the shown step, on axes of equal scale."""
    panels = getattr(view.histories, "panels", {})
    data, svm = panels.get("data"), panels.get("svm")
    implot = gui.implot
    if not implot.begin_plot(
        "data and boundaries", None, implot.Flags_.no_legend | implot.Flags_.equal
    ):
        return
    if data is None:
        implot.end_plot()
        return
    x = data["x"]
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.08 * (hi - lo).max()
    implot.setup_axes("", "", 0, 0)
    implot.setup_axes_limits(
        lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad, implot.Cond_.always
    )
    classes = zip((-1.0, 1.0), _fixed(gui, CLASS_COLORS), ("circle", "square"), strict=True)
    for label, color, marker in classes:
        points = np.ascontiguousarray(x[data["labels"] == label].T)  # rows: the xs, the ys
        spec = implot.Spec(
            marker=getattr(implot.Marker_, marker),
            marker_size=2.5 * gui.ui,
            marker_fill_color=_vec4(gui, color),
            marker_line_color=_vec4(gui, color),
        )
        implot.plot_scatter(f"class {label:+.0f}", points[0], points[1], spec)
    reach = 2 * float((hi - lo).max() + pad)
    if svm is not None and np.isfinite(svm["direction"]).all():
        grey = _fixed(gui, REFERENCE_GREY)
        _boundary(gui, "SVM", svm["direction"], reach, grey, 3.0, lo, hi, "SVM")
    for i in _visible(view):
        steps, values = view.histories[i].probe("boundary", view.step)
        if len(steps):
            color = plots.readable(view.colors[i], gui.light)
            _boundary(gui, view.names[i], values[-1], reach, color, 2.0, lo, hi, "")
    implot.end_plot()


def _boundary(gui, name: str, v, reach: float, color, weight: float, lo, hi, text: str) -> None:
    """The line w·x + b = 0 for v = (w₁, w₂, b), long enough to cross the plot (ImPlot clips)."""
    w, b = np.asarray(v[:2], dtype=np.float64), float(v[2])
    norm = float(np.hypot(*w))
    if not math.isfinite(norm) or norm == 0:
        return
    foot = -b * w / norm**2  # the line's point nearest the origin
    along = np.array([-w[1], w[0]]) / norm
    centre = foot + along * float(along @ ((lo + hi) / 2 - foot))  # nearest the data's centre
    ends = np.array([centre - reach * along, centre + reach * along])
    gui.implot.plot_line(
        name, ends[:, 0].copy(), ends[:, 1].copy(), plots._spec(gui, color, weight)
    )
    if text:
        along = along if along[1] >= 0 else -along  # towards the top, where the label is kept
        _label(gui, text, *(centre + 0.4 * (hi - lo).max() * along), color, (18, 0))


def _mode_path(gui, view: TimelineView, actions) -> None:
    """The loss from solution A (t = 0) to B (t = 1): on the straight line and on the curve."""
    path = getattr(view.histories, "panels", {}).get("mode_path")
    implot = gui.implot
    if not implot.begin_plot(BY_NAME["mode_path"].title, None, implot.Flags_.no_legend):
        return
    if path is None:
        implot.end_plot()
        return
    t, line, curve = (
        np.ascontiguousarray(path[k], dtype=np.float64) for k in ("t", "line", "curve")
    )
    y_range = plots.axis_range([line, curve], True)
    implot.setup_axes("t", "", 0, 0)
    implot.setup_axis_limits(implot.ImAxis_.x1, 0, 1, implot.Cond_.always)
    implot.setup_axis_ticks(implot.ImAxis_.x1, [0.0, 0.5, 1.0], ["A", "0.5", "B"])
    implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
    if y_range is not None:
        implot.setup_axis_limits(implot.ImAxis_.y1, y_range.lo, y_range.hi, implot.Cond_.always)
        values_, labels = zip(*y_range.ticks, strict=True)
        implot.setup_axis_ticks(implot.ImAxis_.y1, list(values_), list(labels))
    middle = len(t) // 2
    for name, losses, color, offset in (
        ("straight line", line, _fixed(gui, REFERENCE_GREY), (0, -10)),
        ("curve", curve, _fixed(gui, CURVE_GREEN), (0, 10)),
    ):
        implot.plot_line(name, t, _positive(losses), plots._spec(gui, color, 2.0))
        _label(gui, name.split()[-1], t[middle], losses[middle], color, offset)
    if implot.is_plot_hovered():
        at = min(max(implot.get_plot_mouse_pos().x, 0.0), 1.0)
        k = int(np.argmin(np.abs(t - at)))
        gui.imgui.set_tooltip(
            f"t = {t[k]:.2f}\nline: loss {_number(line[k])}\ncurve: loss {_number(curve[k])}"
        )
    implot.end_plot()


def _steps_panel(gui, view: TimelineView, actions) -> None:
    """The surface from above (shaded by log height, minima as crosses) with each run's path up
    to the shown step and, from the point it is at, two arrows of one length: −∇f (thin, where
    plain GD would go) and the run's own next step (thick). A preconditioner that makes the
    canyon a round bowl points its step at the minimum while −∇f points across the canyon."""
    panel = getattr(view.histories, "panels", {}).get("steps")
    implot = gui.implot
    # Not equal axes: the short bar would show a sliver of the bounds. Scaling an axis keeps a
    # step that points at the minimum pointing at it; the arrows get one length in pixels.
    if not implot.begin_plot(BY_NAME["steps"].title, None, implot.Flags_.no_legend):
        return
    if panel is None:
        implot.end_plot()
        return
    x0, x1, y0, y1 = (float(v) for v in panel["bounds"])
    implot.setup_axes("", "", implot.AxisFlags_.no_tick_labels, implot.AxisFlags_.no_tick_labels)
    implot.setup_axes_limits(x0, x1, y0, y1, implot.Cond_.always)
    implot.push_colormap(implot.Colormap_.viridis)
    shade = panel["shade"]
    corner, far = implot.Point(x0, y0), implot.Point(x1, y1)
    implot.plot_heatmap("f", shade, 0, float(shade.max()) or 1.0, "", corner, far)
    implot.pop_colormap()
    if len(panel["minima"]):
        spec = implot.Spec(marker=implot.Marker_.cross, marker_size=4 * gui.ui)
        spec.marker_line_color = _vec4(gui, (1.0, 1.0, 1.0))
        spec.line_weight = 0
        minima = np.ascontiguousarray(panel["minima"].T)
        implot.plot_scatter("minimum", minima[0], minima[1], spec)
    length = 0.12 * gui.implot.get_plot_size().x  # pixels
    for i in _visible(view):
        _path_and_arrows(gui, view, i, length)
    implot.end_plot()


def _path_and_arrows(gui, view: TimelineView, i: int, length: float) -> None:
    """Run i's path up to the shown step, its −∇f there (thin) and its next step (thick), both
    `length` pixels long."""
    history, implot = view.histories[i], gui.implot
    rows = history.rows(view.step + 1)
    if not len(rows):
        return
    color = plots.readable(view.colors[i], gui.light)
    shown = rows[rows[:, 0] <= view.step]
    xs, ys = (np.ascontiguousarray(shown[:, k]) for k in (1, 2))
    implot.plot_line(view.names[i], xs, ys, plots._spec(gui, color, 1.5))
    here = shown[-1, 1:3]
    steps, gradients = history.probe("gradient", view.step)
    # An arrow needs a direction: none once a run sits on the minimum (its gradient and its
    # step are rounding noise by then: below 1e-9 of the first gradient or of the way travelled).
    arrows = []
    if len(steps) and steps[-1] == shown[-1, 0]:
        least = 1e-9 * float(np.hypot(*gradients[0]))
        arrows.append((-gradients[-1], least, 1.0, f"{view.names[i]} −∇f"))
    if len(rows) > len(shown):
        move = rows[len(shown), 1:3] - here
        arrows.append(
            (move, 1e-9 * float(np.hypot(*shown[0, 1:3] - here)), 2.5, f"{view.names[i]} step")
        )
    for direction, least, weight, label in arrows:
        norm = float(np.hypot(*direction))
        if math.isfinite(norm) and norm > least:
            tip = _pixels_along(gui, here, direction / norm, length)
            spec = plots._spec(gui, color, weight)
            spec.marker, spec.marker_size = implot.Marker_.circle, (weight + 1) * gui.ui
            line = np.ascontiguousarray(np.array([here, tip]).T)
            implot.plot_line(label, line[0], line[1], spec)


def _pixels_along(gui, start: np.ndarray, direction: np.ndarray, length: float) -> np.ndarray:
    """The plot point `length` pixels from `start` in plot direction `direction` (unit)."""
    implot = gui.implot
    a = implot.plot_to_pixels(float(start[0]), float(start[1]))
    probe = start + 1e-3 * direction * max(float(np.hypot(*start)), 1.0)
    b = implot.plot_to_pixels(float(probe[0]), float(probe[1]))
    dx, dy = b.x - a.x, b.y - a.y
    norm = math.hypot(dx, dy) or 1.0
    tip = implot.pixels_to_plot(a.x + length * dx / norm, a.y + length * dy / norm)
    return np.array([tip.x, tip.y])


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
    "data": _data_panel,
    "mode_path": _mode_path,
    "steps": _steps_panel,
}
