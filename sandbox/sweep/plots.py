"""PNG plots of a sweep's table: lines with seed bands for one swept parameter, heatmaps for two.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend state). Each
metric gets one picture: with one grid parameter, a line per run through the mean over seeds
with a band over the range of the seeds (and any fitted curve, dashed); with two grid
parameters, a heatmap of the mean over seeds per run, the first parameter across, the second
up. Booleans (e.g. `diverged`) are shown as the fraction of seeds. Random parameters give
scatter plots. An axis is logarithmic for a `logspace` or `loguniform` parameter, and for
values that are positive and span 100× or more, unless `[sweep.plot]` says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sandbox.sweep.spec import Sweep
from sandbox.trace.names import file_safe

FIGSIZE = (6.4, 4.6)
DPI = 100


def make_plots(sweep: Sweep, rows: list[dict], fits: list[dict], folder: Path) -> list[str]:
    """Draw every plot into `folder`; return their paths relative to the sweep's output dir."""
    varying = [p for p in sweep.params if len({_key(v.values[p.name]) for v in sweep.variants}) > 1]
    if not 1 <= len(varying) <= 2:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in sweep.metrics if not sweep.plot.metrics or m.name in sweep.plot.metrics]
    runs = list(dict.fromkeys(row["run"] for row in rows))
    means = _variant_means(sweep, rows)
    written: list[str] = []
    random = any(p.kind == "random" for p in varying)
    for metric in metrics:
        name = file_safe(metric.name)
        if len(varying) == 1 and not random:
            path = folder / f"{name}.png"
            _lines(sweep, rows, fits, varying[0].name, metric.name, runs, path)
            written.append(path)
            continue
        for run in runs:
            path = folder / (f"{name}.png" if len(runs) == 1 else f"{name}__{file_safe(run)}.png")
            draw = _scatter if random else _heatmap
            draw(sweep, means, varying, metric.name, run, path)
            written.append(path)
    return [f"{folder.name}/{p.name}" for p in written]


def _key(value: Any) -> str:
    return repr(value)


def _number(value: Any) -> float:
    if value is None:
        return np.nan
    return float(value)


def _variant_means(sweep: Sweep, rows: list[dict]) -> dict[tuple, dict[str, float]]:
    """(variant, run) -> metric -> mean over seeds of the finite values (NaN if none)."""
    grouped: dict[tuple, list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["variant"], row["run"]), []).append(row)
    means = {}
    for key, group in grouped.items():
        means[key] = {m.name: _mean([_number(r[m.name]) for r in group]) for m in sweep.metrics}
    return means


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    if finite:
        return float(np.mean(finite))
    return np.inf if any(v == np.inf for v in values) else np.nan


def _axis(sweep: Sweep, name: str, values: list) -> tuple[np.ndarray, list[str] | None, bool]:
    """Positions along an axis, tick labels for non-numeric values, and whether to use log."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.arange(len(values), dtype=float), [str(v) for v in values], False
    x = np.array(values, dtype=np.float64)
    return x, None, _use_log(sweep, name, x)


def _use_log(sweep: Sweep, name: str, values: np.ndarray) -> bool:
    if name in sweep.plot.log:
        return True
    if name in sweep.plot.linear:
        return False
    if any(p.name == name and p.log_scale for p in sweep.params):
        return True
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and finite.min() > 0 and finite.max() >= 100 * finite.min()


def _figure():
    from matplotlib.figure import Figure

    return Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")


def _lines(sweep, rows, fits, param, metric, runs, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    values = sorted({_key(r[param]): r[param] for r in rows}.values(), key=_sort_key)
    x, labels, log_x = _axis(sweep, param, values)
    all_y = []
    for run in runs:
        per_x = [
            [_number(r[metric]) for r in rows if r["run"] == run and r[param] == v] for v in values
        ]
        mean = np.array([_mean(ys) for ys in per_x])
        lo = np.array([min((y for y in ys if np.isfinite(y)), default=np.nan) for ys in per_x])
        hi = np.array([max((y for y in ys if np.isfinite(y)), default=np.nan) for ys in per_x])
        shown = np.where(np.isfinite(mean), mean, np.nan)
        (line,) = ax.plot(x, shown, marker="o", markersize=3, label=run)
        if len(sweep.seeds) > 1:
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        all_y += [v for v in np.concatenate([lo, hi, shown]) if np.isfinite(v)]
        _fitted(ax, fits, param, metric, run, x, line.get_color())
    _overlays(ax, sweep, "black")
    _finish_axes(ax, sweep, param, metric, labels, x, log_x, np.array(all_y))
    if len(runs) > 1 or ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=7)
    ax.set_title(_title(sweep, f"{len(sweep.seeds)} seed(s): mean, band = range"), fontsize=9)
    fig.savefig(path)


def _fitted(ax, fits, param, metric, run, x, color) -> None:
    from sandbox.sweep.fit import MODELS

    for fit in fits:
        pooled = fit.get("pooled")
        if fit["x"] != param or fit["y"] != metric or fit["run"] != run or not pooled:
            continue
        grid = (
            np.geomspace(x.min(), x.max(), 200)
            if x.min() > 0
            else np.linspace(x.min(), x.max(), 200)
        )
        if fit["model"] == "power":
            y = pooled["A"] * grid ** pooled["k"]
            label = f"fit A·x^k: A = {pooled['A']:.3g}, k = {pooled['k']:.3f}"
        else:
            y = pooled["A"] * grid ** -pooled["alpha"] + pooled["B"]
            label = f"fit A·x^(−α) + B: α = {pooled['alpha']:.3f}, B = {pooled['B']:.3g}"
        assert fit["model"] in MODELS
        ax.plot(grid, y, linestyle="--", color=color, linewidth=1, label=label)


def _overlays(ax, sweep: Sweep, color: str) -> None:
    for overlay in sweep.plot.overlay:
        ax.plot(
            overlay.x,
            overlay.y,
            color=color,
            linestyle=":",
            marker="x" if len(overlay.x) == 1 else None,
            markersize=9,
            markeredgewidth=2,
            linewidth=1.5,
            label=overlay.label or None,
        )


def _finish_axes(ax, sweep, param, metric, labels, x, log_x, y) -> None:
    if labels is not None:
        ax.set_xticks(x, labels, rotation=30, fontsize=7)
    if log_x:
        ax.set_xscale("log")
    if len(y) and _use_log(sweep, metric, y):
        ax.set_yscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)


def _sort_key(value: Any):
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return (0, value, "") if numeric else (1, 0, repr(value))


def _heatmap(sweep, means, varying, metric, run, path: Path) -> None:
    from matplotlib.colors import LogNorm, Normalize

    px, py = varying
    xs = sorted(
        {_key(v.values[px.name]): v.values[px.name] for v in sweep.variants}.values(), key=_sort_key
    )
    ys = sorted(
        {_key(v.values[py.name]): v.values[py.name] for v in sweep.variants}.values(), key=_sort_key
    )
    z = np.full((len(ys), len(xs)), np.nan)  # shape (rows = second parameter, columns = first)
    col = {_key(v): i for i, v in enumerate(xs)}
    row = {_key(v): j for j, v in enumerate(ys)}
    for variant in sweep.variants:
        value = means.get((variant.index, run), {}).get(metric, np.nan)
        z[row[_key(variant.values[py.name])], col[_key(variant.values[px.name])]] = value
    x, x_labels, log_x = _axis(sweep, px.name, xs)
    y, y_labels, log_y = _axis(sweep, py.name, ys)
    finite = z[np.isfinite(z)]
    capped = np.where(np.isposinf(z), finite.max() if len(finite) else np.nan, z)
    log_z = len(finite) > 0 and _use_log(sweep, metric, finite)
    shown = np.ma.masked_invalid(np.where(capped > 0, capped, np.nan) if log_z else capped)
    norm = LogNorm() if log_z else Normalize()
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_facecolor("0.85")  # cells without a value
    mesh = ax.pcolormesh(_edges(x, log_x), _edges(y, log_y), shown, norm=norm, cmap="viridis")
    label = metric + (" (∞ shown as the largest value)" if np.isposinf(z).any() else "")
    fig.colorbar(mesh, ax=ax, label=label)
    for axis, labels, positions, log in (("x", x_labels, x, log_x), ("y", y_labels, y, log_y)):
        if labels is None and not log and len(positions) <= 12:
            labels = [f"{v:.4g}" for v in positions]  # few values: label each cell
        if labels is not None:
            getattr(ax, f"set_{axis}ticks")(positions, labels, fontsize=7)
        if log:
            getattr(ax, f"set_{axis}scale")("log")
    ax.set_xlabel(px.name)
    ax.set_ylabel(py.name)
    ax.autoscale(False)  # overlays must not widen the map
    _overlays(ax, sweep, "red")
    if any(o.label for o in sweep.plot.overlay):
        ax.legend(fontsize=7, loc="lower left")
    grey = ", grey: no value" if np.isnan(z).any() else ""
    ax.set_title(
        _title(sweep, f"run {run!r}, mean of {len(sweep.seeds)} seed(s){grey}"), fontsize=9
    )
    fig.savefig(path)


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges halfway between centres (geometrically on a log axis)."""
    if len(centres) == 1:
        c = centres[0]
        return np.array([c / 1.5, c * 1.5]) if log else np.array([c - 0.5, c + 0.5])
    values = np.log(centres) if log else centres
    mid = (values[1:] + values[:-1]) / 2
    edges = np.concatenate([[2 * values[0] - mid[0]], mid, [2 * values[-1] - mid[-1]]])
    return np.exp(edges) if log else edges


def _scatter(sweep, means, varying, metric, run, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    points = [(v.values, means.get((v.index, run), {}).get(metric, np.nan)) for v in sweep.variants]
    px = varying[0]
    x, x_labels, log_x = _axis(sweep, px.name, [values[px.name] for values, _ in points])
    z = np.array([value for _, value in points], dtype=float)
    if len(varying) == 1:
        ax.scatter(x, z, s=12)
        _finish_axes(ax, sweep, px.name, metric, x_labels, x, log_x, z[np.isfinite(z)])
    else:
        py = varying[1]
        y, y_labels, log_y = _axis(sweep, py.name, [values[py.name] for values, _ in points])
        dots = ax.scatter(x, y, c=np.where(np.isfinite(z), z, np.nan), s=16, cmap="viridis")
        fig.colorbar(dots, ax=ax, label=metric)
        _finish_axes(ax, sweep, px.name, py.name, x_labels, x, log_x, y)
    ax.set_title(_title(sweep, f"run {run!r}, mean of {len(sweep.seeds)} seed(s)"), fontsize=9)
    fig.savefig(path)


def _title(sweep: Sweep, detail: str) -> str:
    return f"{sweep.title}\n{detail}"
