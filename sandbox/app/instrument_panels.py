"""The timeline window's panels that are not over the steps: the data with the separating lines,
the loss along the line and the curve between two modes, each run's step against −∇f, and the
Hessian's eigenvalue density."""

from __future__ import annotations

import math

import numpy as np

from sandbox.app import plot_marks as marks
from sandbox.app import plots
from sandbox.app.model import COLUMNS
from sandbox.app.plots import TimelineView
from sandbox.instruments import BY_NAME, spectrum_curve

SPECTRUM_DECADES = 6  # the density axis: six decades below its peak (PyHessian plots ~10)


def data_panel(gui, view: TimelineView, actions) -> None:
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
    classes = zip(
        (-1.0, 1.0), marks.fixed(gui, marks.CLASS_COLORS), ("circle", "square"), strict=True
    )
    for label, color, marker in classes:
        points = np.ascontiguousarray(x[data["labels"] == label].T)  # rows: the xs, the ys
        spec = implot.Spec(
            marker=getattr(implot.Marker_, marker),
            marker_size=2.5 * gui.ui,
            marker_fill_color=marks.vec4(gui, color),
            marker_line_color=marks.vec4(gui, color),
        )
        implot.plot_scatter(f"class {label:+.0f}", points[0], points[1], spec)
    reach = 2 * float((hi - lo).max() + pad)
    if svm is not None and np.isfinite(svm["direction"]).all():
        grey = marks.fixed(gui, marks.REFERENCE_GREY)
        _boundary(gui, "SVM", svm["direction"], reach, grey, 3.0, lo, hi, "SVM")
    for i in marks.visible(view):
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
        marks.label(gui, text, *(centre + 0.4 * (hi - lo).max() * along), color, (18, 0))


def mode_path(gui, view: TimelineView, actions) -> None:
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
        ("straight line", line, marks.fixed(gui, marks.REFERENCE_GREY), (0, -10)),
        ("curve", curve, marks.fixed(gui, marks.CURVE_GREEN), (0, 10)),
    ):
        implot.plot_line(name, t, marks.positive(losses), plots._spec(gui, color, 2.0))
        marks.label(gui, name.split()[-1], t[middle], losses[middle], color, offset)
    if implot.is_plot_hovered():
        at = min(max(implot.get_plot_mouse_pos().x, 0.0), 1.0)
        k = int(np.argmin(np.abs(t - at)))
        gui.imgui.set_tooltip(
            f"t = {t[k]:.2f}\nline: loss {marks.number(line[k])}"
            f"\ncurve: loss {marks.number(curve[k])}"
        )
    implot.end_plot()


def steps_panel(gui, view: TimelineView, actions) -> None:
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
        spec.marker_line_color = marks.vec4(gui, (1.0, 1.0, 1.0))
        spec.line_weight = 0
        minima = np.ascontiguousarray(panel["minima"].T)
        implot.plot_scatter("minimum", minima[0], minima[1], spec)
    length = 0.12 * gui.implot.get_plot_size().x  # pixels
    for i in marks.visible(view):
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


def spectrum_panel(gui, view: TimelineView, actions) -> None:
    """Each visible run's Hessian eigenvalue density at its last measurement up to the shown
    step, on a log axis (the bulk near 0 and the few outliers far out both show), with its λmax
    (the sharpness estimate when measured, else the top SLQ node) as a labelled vertical line."""
    implot = gui.implot
    shown = []
    for i in marks.visible(view):
        steps, values = view.histories[i].probe("spectrum", view.step)
        if len(steps):
            shown.append((i, int(steps[-1]), values[-1], *spectrum_curve(values[-1])))
    if not implot.begin_plot(BY_NAME["spectrum"].title, None, implot.Flags_.no_legend):
        return
    peak = max((float(np.nanmax(d)) for *_, d in shown), default=1.0)
    implot.setup_axes("eigenvalue", "", 0, 0)
    implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
    implot.setup_axis_limits(
        implot.ImAxis_.y1, peak * 10**-SPECTRUM_DECADES, peak * 3, implot.Cond_.always
    )
    if shown:
        lo = min(float(g[0]) for *_, g, _ in shown)
        hi = max(float(g[-1]) for *_, g, _ in shown)
        implot.setup_axis_limits(implot.ImAxis_.x1, lo, hi + 0.08 * (hi - lo), implot.Cond_.always)
    for row, (i, step, values, grid, density) in enumerate(shown):
        color = plots.readable(view.colors[i], gui.light)
        floor = peak * 10**-SPECTRUM_DECADES  # below the axis: drawn at its edge, not as gaps
        implot.plot_line(view.names[i], grid, np.maximum(density, floor), plots._spec(gui, color))
        top = _lambda_max(view.histories[i], step, values)
        spec = plots._spec(gui, color, 1.0)
        implot.plot_inf_lines(f"λmax {view.names[i]}", np.array([top]), spec)
        # Short, right of centre on the line, at the top: the bulk's peak is far left, at zero
        # (a longer label with the step was clamped onto it in the narrow lecture column).
        marks.label(gui, f"λmax {marks.number(top)}", top, peak, color, (-30, 8 + 18 * row))
    implot.end_plot()


def _lambda_max(history, step: int, spectrum: np.ndarray) -> float:
    """The run's λmax at `step`: its sharpness estimate there when it has one, else the top
    SLQ node of its `spectrum` probe (nodes then weights)."""
    rows = history.rows(step)
    if len(rows) and rows[-1, 0] == step and np.isfinite(rows[-1, COLUMNS.index("sharpness")]):
        return float(rows[-1, COLUMNS.index("sharpness")])
    return float(np.nanmax(spectrum[: len(spectrum) // 2]))
