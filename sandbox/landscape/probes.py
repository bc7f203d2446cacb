"""Measurements of a network's weights for the timeline's instruments (sandbox/instruments.py).

The optimiser loop asks for them only when the scenario's `[view] plots` need them, every
`probe_every(steps)` steps; each one costs at most a forward pass on the data. They read θ and
never touch a random generator, so a run with probes follows the same path as one without.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from sandbox.instruments import probe_every, probes_for

Probes = tuple[tuple[str, tuple[float, ...]], ...]


def make_probes(problem, scenario) -> Callable[[int, Tensor], Probes] | None:
    """The probe function of a scenario's run, `probe(k, θ_k)` (empty off its cadence), or None
    when its plots need no probe."""
    names = probes_for(scenario.view.plots) if scenario.view is not None else ()
    if not names:
        return None
    every, last = probe_every(scenario.steps), scenario.steps
    measure = {name: _MEASURES[name](problem) for name in names}

    def probe(k: int, theta: Tensor) -> Probes:
        if k % every and k != last:
            return ()
        with torch.no_grad():
            return tuple((name, tuple(fn(theta))) for name, fn in measure.items())

    return probe


def end_to_end_matrix(model, theta: Tensor) -> Tensor:
    """W = W_L ⋯ W₁ (out, in) in float64: the map of a linear network, biases aside."""
    weights = [b.view(theta).double() for b in model.blocks if b.is_weight]
    product = weights[0]
    for weight in weights[1:]:
        product = weight @ product
    return product


def _singular_values(problem) -> Callable[[Tensor], list[float]]:
    def measure(theta: Tensor) -> list[float]:
        w = end_to_end_matrix(problem.model, theta)
        if not torch.isfinite(w).all():
            return [math.nan] * min(w.shape)
        return torch.linalg.svdvals(w).tolist()  # descending

    return measure


def _signal(problem) -> Callable[[Tensor], list[float]]:
    return lambda theta: problem.activation_norms(theta)


def _augmented(problem) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (x, 1) (n, d + 1) and labels ±1 (n,) in float64: a linear classifier's (w, b)
    acts on them as one weight vector (the bias is a weight on a constant feature)."""
    x = problem.data.x.double().numpy()
    labels = 2 * problem.data.y.double().numpy() - 1
    return np.c_[x, np.ones(len(x))], labels


def _margin(problem) -> Callable[[Tensor], list[float]]:
    z, labels = _augmented(problem)
    signed = torch.from_numpy(labels[:, None] * z)  # shape (n, d + 1): rows ỹᵢ·(xᵢ, 1)

    def measure(theta: Tensor) -> list[float]:
        v = theta.double()  # (w₁ … w_d, b): one Linear layer's weight then bias
        return [float((signed @ v).min() / v.norm())]

    return measure


def _svm_angle(problem) -> Callable[[Tensor], list[float]]:
    u = torch.from_numpy(svm_direction(*_augmented(problem)))
    u = u / u.norm()

    def measure(theta: Tensor) -> list[float]:
        v = theta.double()
        cosine = float(v @ u / v.norm()) if float(v.norm()) > 0 else math.nan
        return [math.degrees(math.acos(min(1.0, max(-1.0, cosine))))]

    return measure


def _gradient(problem) -> Callable[[Tensor], list[float]]:
    """∇f at θ (an analytic surface's point): where plain GD would step, against the run's step."""

    def measure(theta: Tensor) -> list[float]:
        with torch.enable_grad():
            point = theta.detach().clone().requires_grad_(True)
            (gradient,) = torch.autograd.grad(problem.full_loss(point), point)
        return gradient.tolist()

    return measure


def _boundary(problem) -> Callable[[Tensor], list[float]]:
    return lambda theta: theta.double().tolist()  # (w₁, w₂, b): the line w·x + b = 0


_MEASURES = {
    "singular_values": _singular_values,
    "signal": _signal,
    "margin": _margin,
    "svm_angle": _svm_angle,
    "boundary": _boundary,
    "gradient": _gradient,
}


def svm_direction(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The hard-margin SVM u = argmin ‖u‖ subject to ỹᵢ·u·zᵢ ≥ 1 (no separate bias: append a
    constant feature to z for one); its margin is 1/‖u‖. NaNs if the data are not separable.

    Solved exactly as a least-distance problem through non-negative least squares (Lawson and
    Hanson 1974, ch. 23): with G = rows ỹᵢ·zᵢ, minimise ‖E·q − f‖ over q ≥ 0 for E = [Gᵀ; 1ᵀ]
    and f = (0, …, 0, 1); then u = −r[:-1]/r[-1] for the residual r = E·q − f.
    """
    g = labels[:, None] * z  # shape (n, d)
    e = np.vstack([g.T, np.ones(len(g))])  # shape (d + 1, n)
    f = np.zeros(len(e))
    f[-1] = 1.0
    r = e @ nonnegative_least_squares(e, f) - f
    if abs(r[-1]) < 1e-12:
        return np.full(z.shape[1], np.nan)
    return -r[:-1] / r[-1]


def nonnegative_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin ‖a·x − b‖ over x ≥ 0, by Lawson and Hanson's active-set method (exact: it ends
    when the gradient has no positive entry outside the passive set)."""
    m, n = a.shape
    tol = 10 * np.finfo(float).eps * np.abs(a).sum(axis=0).max() * max(m, n)
    passive, x = np.zeros(n, dtype=bool), np.zeros(n)
    for _ in range(3 * n):
        w = a.T @ (b - a @ x)
        if passive.all() or w[~passive].max() <= tol:
            break
        passive[np.argmax(np.where(passive, -np.inf, w))] = True
        while True:  # solve on the passive set; step back to keep x ≥ 0
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if z[passive].min() > tol:
                x = z
                break
            blocking = passive & (z <= tol)
            alpha = np.min(x[blocking] / (x[blocking] - z[blocking]))
            x = x + alpha * (z - x)
            passive &= x > tol
            x[~passive] = 0.0
    return x


def panel_arrays(
    problem, plots: tuple[str, ...], connection=None, scenario_bounds=None
) -> dict[str, dict]:
    """The fixed arrays the declared plots draw beside the records: the data for `data`, the
    SVM's direction (w₁ … w_d, b) and margin for it, `margin` and `svm_angle`, and the losses
    along line and curve for `mode_path`, the surface from above in `scenario_bounds` for
    `steps`."""
    panels: dict[str, dict] = {}
    if "steps" in plots:
        panels["steps"] = _surface_from_above(problem, scenario_bounds)
    if {"data", "margin", "svm_angle"} & set(plots):
        z, labels = _augmented(problem)
        u = svm_direction(z, labels)
        panels["svm"] = {"direction": u, "margin": 1 / float(np.linalg.norm(u))}
        if "data" in plots:
            panels["data"] = {"x": z[:, :-1], "labels": labels}
    if "mode_path" in plots and connection is not None:
        panels["mode_path"] = {
            "t": np.array(connection.t),
            "line": np.array(connection.line),
            "curve": np.array(connection.curve),
        }
    return panels


STEPS_GRID = 48  # the `steps` panel's background: f on this many points a side


def _surface_from_above(problem, bounds) -> dict:
    """The analytic surface's log-height on a coarse grid over `bounds` (row 0 at the top, as
    ImPlot's heatmap draws it), and its known minima in view."""
    (x0, x1), (y0, y1) = bounds
    xs = torch.linspace(x0, x1, STEPS_GRID, dtype=torch.float64)
    ys = torch.linspace(y1, y0, STEPS_GRID, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)  # (rows, cols, 2)
    with torch.no_grad():
        heights = problem.full_loss(grid).numpy()
    low = np.nanmin(heights)
    # log(1 + (f − min)/scale): a canyon's floor and walls both get shades, not one flat colour
    scale = max(float(np.nanpercentile(heights - low, 10)), 1e-12)
    shade = np.log1p(np.clip(heights - low, 0, None) / scale)
    minima = [
        p.xy
        for p in problem.definition.critical(problem.params)
        if p.kind == "min" and x0 <= p.xy[0] <= x1 and y0 <= p.xy[1] <= y1
    ]
    return {
        "bounds": np.array([x0, x1, y0, y1]),
        "shade": np.ascontiguousarray(shade, dtype=np.float64),
        "minima": np.array(minima, dtype=np.float64).reshape(-1, 2),
    }
