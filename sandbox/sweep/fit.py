"""Curve fits of a metric against a swept parameter: y = A·x^k, and y = A·x^(−α) + B.

Both are fitted per seed, so each estimate comes with its spread over seeds, and once more to
the curve of seed means ("pooled"), whose uncertainty is estimated by resampling the seeds
(bootstrap). With few seeds and noisy curves the per-seed fits of three constants can scatter
widely (an offset B and a steep power trade off); the pooled fit and its bootstrap spread are
the steadier summary. `power_plus_constant` is fitted in relative terms (each
residual divided by y), since such curves span decades: for a fixed α the best A and B solve a
weighted linear least-squares problem, and α itself is found by a scan and a golden-section
refinement of that profile.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA_RANGE = (0.02, 6.0)
BOOTSTRAP = 200  # resamples of the seeds for the pooled fit's uncertainty


def fit_power(x: np.ndarray, y: np.ndarray) -> dict | None:
    """y = A·x^k by least squares on log y against log x (positive points only)."""
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0:
        return None
    lx, ly = np.log(x[keep]), np.log(y[keep])
    k, log_a = np.polyfit(lx, ly, 1)
    residual = ly - (k * lx + log_a)
    return {
        "A": float(math.exp(log_a)),
        "k": float(k),
        "rms_log_residual": float(np.sqrt(np.mean(residual**2))),
    }


def fit_power_plus_constant(x: np.ndarray, y: np.ndarray) -> dict | None:
    """y = A·x^(−α) + B, minimising the relative residuals (y − fit)/y."""
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 4 or len(np.unique(x[keep])) < 4:
        return None
    x, y = x[keep], y[keep]
    alphas = np.geomspace(*ALPHA_RANGE, 61)
    costs = [_profile(a, x, y)[2] for a in alphas]
    i = int(np.argmin(costs))
    lo, hi = alphas[max(i - 1, 0)], alphas[min(i + 1, len(alphas) - 1)]
    alpha = _golden(lambda a: _profile(a, x, y)[2], lo, hi)
    a_coef, b_coef, cost = _profile(alpha, x, y)
    return {
        "A": a_coef,
        "alpha": float(alpha),
        "B": b_coef,
        "rms_relative_residual": float(math.sqrt(cost / len(x))),
    }


def _profile(alpha: float, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Best A, B for a fixed α (weighted least squares) and the sum of squared relative errors."""
    design = np.stack([x**-alpha, np.ones_like(x)], 1) / y[:, None]  # shape (n, 2)
    (a_coef, b_coef), *_ = np.linalg.lstsq(design, np.ones_like(x), rcond=None)
    cost = float(np.sum((design @ [a_coef, b_coef] - 1) ** 2))
    return float(a_coef), float(b_coef), cost


def _golden(f, lo: float, hi: float, iterations: int = 60) -> float:
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2


MODELS = {
    "power": (fit_power, "y = A·x^k", ("A", "k")),
    "power_plus_constant": (fit_power_plus_constant, "y = A·x^(−alpha) + B", ("A", "alpha", "B")),
}


def fit_groups(model: str, curves: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Fit each seed's curve and the curve of seed means; report estimates with their spread.

    `curves` maps seed -> (x, y). The result holds `per_seed` fits; for each fitted constant its
    `mean`, `std` (over seeds, ddof = 1) and `sem` (std / √seeds) over those fits; `pooled`, the
    fit to the mean y at each x; and `bootstrap`: each constant's std and 16th/84th percentiles
    over fits of the mean curve of seeds drawn with replacement (seeded, reproducible).
    """
    fit, formula, names = MODELS[model]
    per_seed = []
    for seed, (x, y) in sorted(curves.items()):
        estimate = fit(x, y)
        per_seed.append({"seed": seed, **(estimate or {"failed": True})})
    ordered = [curves[seed] for seed in sorted(curves)]
    result = {
        "model": model,
        "formula": formula,
        "pooled": fit(*_mean_curve(ordered)),
        "per_seed": per_seed,
    }
    good = [p for p in per_seed if "failed" not in p]
    for name in names:
        result[name] = _spread(np.array([p[name] for p in good]))
    result["bootstrap"] = _bootstrap(fit, names, ordered)
    return result


def _mean_curve(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    xs = np.concatenate([x for x, _ in curves])
    ys = np.concatenate([y for _, y in curves])
    grid = np.unique(xs)
    return grid, np.array([_finite_mean(ys[xs == v]) for v in grid])


def _bootstrap(fit, names, curves: list) -> dict:
    if len(curves) < 2:
        return {}
    rng = np.random.default_rng(0)
    fits = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(curves), len(curves))
        estimate = fit(*_mean_curve([curves[i] for i in pick]))
        if estimate is not None:
            fits.append(estimate)
    out = {"resamples": len(fits)}
    for name in names:
        values = np.array([f[name] for f in fits])
        if len(values) > 1:
            p16, p84 = np.percentile(values, [16, 84])
            out[name] = {"std": float(np.std(values, ddof=1)), "p16": float(p16), "p84": float(p84)}
    return out


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else np.nan


def _spread(values: np.ndarray) -> dict:
    if not len(values):
        return {"mean": None, "std": None, "sem": None, "n": 0}
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    sem = std / math.sqrt(len(values)) if std is not None else None
    return {"mean": float(np.mean(values)), "std": std, "sem": sem, "n": int(len(values))}
