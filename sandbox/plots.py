"""Plots for headless users (`sandbox replay ... --plots`): loss, sharpness, gradient norms as PNG;
and `ReplayResult.plot()`'s figure for a notebook.

The PNGs are drawn from the CSVs a replay wrote, so they show exactly what is on disk. Figures
are made as `matplotlib.figure.Figure` objects, never through pyplot: no backend is switched
(a notebook's inline plots keep working) and no display is needed. Non-finite values (a
diverged run) are left out of the lines and the run's divergence is marked with a cross.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from sandbox.trace.io import atomic_path


def _columns(path: Path) -> dict[str, np.ndarray]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {
        key: np.array([float(r[key]) if r[key] != "" else math.nan for r in rows])
        for key in rows[0]
    }


def _label(axes, **labels) -> None:
    """Label, legend and grid the axes."""
    axes.set(**labels)
    axes.legend()
    axes.grid(alpha=0.3)


def _png(draw, path: Path, *data) -> Path:
    """A figure of one axes drawn by `draw(axes, *data)`, saved atomically as PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5))
    draw(figure.add_subplot(), *data)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    return path


def write_plots(out_dir: Path) -> list[Path]:
    """loss.png, sharpness.png (if estimated) and layer_grads.png (networks) in `out_dir`."""
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    runs = [(r, _columns(out_dir / r["file"])) for r in summary["runs"]]
    written = [_png(_loss_axes, out_dir / "loss.png", summary, runs)]
    if any(np.isfinite(c["sharpness"]).any() for _, c in runs):
        written.append(_png(_sharpness_axes, out_dir / "sharpness.png", summary, runs))
    network_files = [out_dir / r["file"].replace(".csv", "_network.csv") for r, _ in runs]
    if all(path.exists() for path in network_files):  # network scenarios only
        layers = [(r, _columns(path)) for (r, _), path in zip(runs, network_files, strict=True)]
        written.append(_png(_layer_axes, out_dir / "layer_grads.png", summary, layers))
    return written


def result_figure(result):
    """A `ReplayResult`'s loss (and sharpness, when estimated) against step, as a matplotlib
    Figure, which a notebook shows inline."""
    from matplotlib.figure import Figure

    summary = result.summary
    runs = [(r, _arrays_columns(result.runs[r["name"]])) for r in summary["runs"]]
    sharp = any(np.isfinite(c["sharpness"]).any() for _, c in runs)
    figure = Figure(figsize=(8, 6.5 if sharp else 4.0), layout="constrained")
    axes = figure.subplots(2 if sharp else 1, 1, squeeze=False)[:, 0]
    _loss_axes(axes[0], summary, runs)
    if sharp:
        _sharpness_axes(axes[1], summary, runs)
    return figure


def _arrays_columns(arrays) -> dict[str, np.ndarray]:
    """`RunArrays` as the CSV's columns."""
    return {key: getattr(arrays, key) for key in ("step", "loss", "lr", "sharpness")}


def _loss_axes(axes, summary, runs) -> None:
    for run, c in runs:
        finite = np.isfinite(c["loss"]) & (c["loss"] > 0)
        (line,) = axes.plot(c["step"][finite], c["loss"][finite], label=run["name"], lw=1.5)
        if run["diverged"]:
            axes.plot(
                c["step"][finite][-1:], c["loss"][finite][-1:], "x", ms=10, color=line.get_color()
            )
    _label(axes, yscale="log", xlabel="step", ylabel="loss", title=summary["title"])


def _sharpness_axes(axes, summary, runs) -> None:
    for run, c in runs:
        estimated = np.isfinite(c["sharpness"])
        if not estimated.any():
            continue
        (line,) = axes.plot(
            c["step"][estimated], c["sharpness"][estimated], label=f"{run['name']}: λmax"
        )
        axes.plot(
            c["step"], 2 / c["lr"], "--", color=line.get_color(), lw=1, label=f"{run['name']}: 2/η"
        )
    _label(axes, xlabel="step", ylabel="sharpness λmax", title=f"{summary['title']}: sharpness")


def _layer_axes(axes, summary, layers) -> None:
    for run, c in layers:
        names = sorted(
            (k for k in c if k.startswith("grad_norm_layer")),
            key=lambda k: int(k.removeprefix("grad_norm_layer")),
        )
        final = [
            c[k][np.isfinite(c[k])][-1] if np.isfinite(c[k]).any() else math.nan for k in names
        ]
        first = [c[k][0] for k in names]
        (line,) = axes.plot(range(len(names)), first, "o-", label=f"{run['name']}: step 0")
        axes.plot(
            range(len(names)),
            final,
            "s--",
            color=line.get_color(),
            label=f"{run['name']}: last step",
        )
    _label(
        axes,
        yscale="log",
        xlabel="layer",
        ylabel="weight-gradient norm",
        title=f"{summary['title']}: gradient norm per layer",
    )
