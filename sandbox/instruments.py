"""The catalogue of instruments: the plots a scenario's timeline window may show (`[view] plots`).

One list, read by the schema (which names a file may use), the checks (what each one needs), the
optimiser side (which probes to compute) and the timeline window (what to draw). Torch-free: the
app imports it.

Kinds of instrument:

- ``series``: one curve per run over the steps (loss, ‖w‖, the margin ...);
- ``profile``: a quantity with an index of its own (singular values, layers), drawn at the shown
  step, with the start as a thin line;
- ``panel``: a picture that is not a time series (the data with the boundaries, the loss from one
  solution to the other).

A *probe* is a measurement the optimiser side adds to a step record only when a declared
instrument needs it (`sandbox.landscape.probes`): every `probe_every(steps)` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.catalogue.networks import n_classes_of

RANK_THRESHOLD = 0.01  # effective rank: singular values above 1 % of the largest
SPECTRUM_WIDTH = 0.01  # the spectrum's Gaussian smoothing: σ as a fraction of the eigenvalue range
SPECTRUM_POINTS = 400  # the spectrum curve's grid
PROBE_POINTS = 5_000  # probes are measured at this many steps of a run at most (each <1 ms)


@dataclass(frozen=True)
class Instrument:
    """One plot of the timeline window.

    `needs` names what the scenario must have (checked by `problems`): ``""`` (anything),
    ``"sharpness"`` (a run with `sharpness_every`), ``"trace"`` / ``"density"`` (one with
    `trace_every` / `density_every`), ``"network"``, ``"layers"`` (a network of two
    or more Linear layers), ``"hidden"`` (a network with hidden layers), ``"linear"`` (a network
    whose function is a matrix product: W is the end-to-end matrix), ``"classifier"`` (one Linear
    layer, one output, two classes), ``"plane classifier"`` (that, on 2-D inputs) or
    ``"connect"`` (``directions = "connect"``) or ``"analytic"`` (an analytic landscape).
    """

    name: str
    title: str
    kind: str  # "series", "profile" or "panel"
    needs: str
    probes: tuple[str, ...]  # measurements the optimiser side must add to the step records
    about: str  # one line for the docs


CATALOGUE: tuple[Instrument, ...] = (
    Instrument("loss", "loss", "series", "", (), "the loss on the full data"),
    Instrument(
        "sharpness",
        "λmax vs 2/η",
        "series",
        "sharpness",
        (),
        "the Hessian's top eigenvalue against the stability line 2/η (runs that measure it)",
    ),
    Instrument(
        "trace",
        "Hessian trace",
        "series",
        "trace",
        (),
        "tr H, the sum of all the Hessian's eigenvalues, by Hutchinson's estimator (trace_every)",
    ),
    Instrument(
        "spectrum",
        "spectrum of H",
        "panel",
        "density",
        (),
        "the Hessian's eigenvalue density, last measured by the shown step (log), with λmax",
    ),
    Instrument(
        "gradient",
        "gradient norm",
        "series",
        "",
        (),
        "the gradient norm; for networks one line per Linear layer",
    ),
    Instrument(
        "distance", "distance", "series", "", (), "distance from the start, ‖θ − θ₀‖ for networks"
    ),
    Instrument(
        "layer_gradients",
        "‖∇‖ first and last layer",
        "series",
        "layers",
        (),
        "the first and the last Linear layer's weight-gradient norm, two curves per run",
    ),
    Instrument("weight_norm", "‖w‖", "series", "network", (), "the norm of all the weights, ‖θ‖"),
    Instrument(
        "singular_values",
        "singular values of W",
        "profile",
        "linear",
        ("singular_values",),
        "the singular values of the end-to-end matrix W (W = W₂W₁ for two layers)",
    ),
    Instrument(
        "effective_rank",
        "effective rank of W",
        "series",
        "linear",
        ("singular_values",),
        "how many singular values of W are above 1 % of the largest",
    ),
    Instrument(
        "signal",
        "signal RMS per layer",
        "profile",
        "hidden",
        ("signal",),
        "the RMS of each hidden layer's output over the data",
    ),
    Instrument(
        "margin",
        "normalised margin",
        "series",
        "classifier",
        ("margin",),
        "min over the data of ỹ·(w·x + b)/‖(w, b)‖, ỹ = ±1",
    ),
    Instrument(
        "svm_angle",
        "angle to SVM (°)",
        "series",
        "classifier",
        ("svm_angle",),
        "the angle between (w, b) and the hard-margin SVM direction on inputs (x, 1)",
    ),
    Instrument(
        "data",
        "data and boundaries",
        "panel",
        "plane classifier",
        ("boundary",),
        "the data, each run's line w·x + b = 0 at the shown step and the SVM's",
    ),
    Instrument(
        "steps",
        "step vs −gradient",
        "panel",
        "analytic",
        ("gradient",),
        "the surface from above, each run's path, its step and −∇f at the shown step",
    ),
    Instrument(
        "mode_path",
        "loss from A to B",
        "panel",
        "connect",
        (),
        "the loss along the straight line and along the fitted curve between the two solutions",
    ),
)

BY_NAME = {instrument.name: instrument for instrument in CATALOGUE}
NAMES = tuple(BY_NAME)
# Without [view]: what the timeline showed before instruments (λmax only when a run measures it).
DEFAULT_PLOTS = ("loss", "sharpness", "gradient", "distance")

NEEDS = {
    "sharpness": "a run that measures sharpness (sharpness_every > 0)",
    "trace": "a run that measures the Hessian's trace (trace_every > 0)",
    "density": "a run that measures the Hessian's spectral density (density_every > 0)",
    "network": "a network landscape",
    "layers": "a network of two or more Linear layers",
    "hidden": "a network with hidden layers",
    "linear": (
        'a linear network (activation = "linear" or one Linear layer, no batchnorm, no skip): '
        "W is the product of its weight matrices"
    ),
    "classifier": ("a linear binary classifier: one Linear layer with one output, on 2-class data"),
    "plane classifier": (
        "a linear binary classifier on 2-D inputs: widths = [2, 1], on 2-class data"
    ),
    "connect": 'directions = "connect" (mode connectivity)',
    "analytic": "an analytic landscape",
}


def probes_for(plots: tuple[str, ...]) -> tuple[str, ...]:
    """The probes that `plots` need, each once."""
    return tuple(dict.fromkeys(probe for name in plots for probe in BY_NAME[name].probes))


def probe_every(steps: int) -> int:
    """Probes are measured at every k-th step (and the last): at most ~PROBE_POINTS of a run."""
    return max(1, -(-steps // PROBE_POINTS))


def effective_rank(singular_values: np.ndarray) -> int:
    """How many singular values are above RANK_THRESHOLD of the largest (0 for none)."""
    return int(effective_ranks(np.asarray(singular_values, dtype=np.float64)[None])[0])


def effective_ranks(singular_values: np.ndarray) -> np.ndarray:
    """`effective_rank` of each row of `singular_values` (N, k), shape (N,); NaNs are ignored."""
    s = np.where(np.isfinite(singular_values), singular_values, -np.inf)
    largest = s.max(axis=1, initial=-np.inf, keepdims=True)
    return np.sum((s > RANK_THRESHOLD * largest) & (largest > 0), axis=1)


def spectrum_curve(values, points: int = SPECTRUM_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The eigenvalue density of a `spectrum` probe (SLQ nodes then weights, flat), smoothed as
    PyHessian does: each node a Gaussian of its weight, σ = SPECTRUM_WIDTH × the nodes' range;
    the probes averaged. Returns (eigenvalues (points,), density (points,)), integrating to 1
    over the grid, which reaches 5σ past the extreme nodes."""
    values = np.asarray(values, dtype=np.float64)
    nodes, weights = values[: len(values) // 2], values[len(values) // 2 :]
    keep = np.isfinite(nodes) & np.isfinite(weights)
    nodes, weights = nodes[keep], weights[keep]
    probes = max(float(weights.sum()), 1e-300)  # each probe's weights sum to 1
    sigma = SPECTRUM_WIDTH * max(float(np.ptp(nodes)) if len(nodes) else 0.0, 1e-12)
    grid = np.linspace(nodes.min() - 5 * sigma, nodes.max() + 5 * sigma, points)
    gauss = np.exp(-0.5 * ((grid[:, None] - nodes[None]) / sigma) ** 2) / (
        sigma * np.sqrt(2 * np.pi)
    )
    return grid, gauss @ weights / probes


def problems(scenario) -> list[tuple[tuple, str]]:
    """(key path, reason) for each declared plot that the scenario cannot feed, and repeats."""
    view = scenario.view
    if view is None:
        return []
    found = []
    for i, name in enumerate(view.plots):
        if name in view.plots[:i]:
            found.append((("view", "plots", i), f"{name!r} is already listed"))
        elif not _has(scenario, BY_NAME[name].needs):
            found.append((("view", "plots", i), f"{name!r} needs {NEEDS[BY_NAME[name].needs]}"))
    return found


def _has(scenario, needs: str) -> bool:
    """Whether the scenario has what an instrument `needs` (see `Instrument`)."""
    land = scenario.landscape
    if needs == "":
        return True
    if needs in ("sharpness", "trace", "density"):
        key = {"sharpness": "sharpness_every", "trace": "trace_every", "density": "density_every"}
        return any(getattr(run, key[needs]) for run in scenario.runs)
    if needs == "analytic" or land.kind != "network":
        return needs == "analytic" and land.kind == "analytic"
        return False
    model, data = land.model, land.data
    if model.kind == "module":  # a handed-over module: its layers' gradients, nothing inside
        return needs in ("network", "layers") or (
            needs == "connect" and land.slice.directions == "connect"
        )
    if model.kind == "cnn":  # convolutions then a head: layers, never a linear map or classifier
        return needs in ("network", "layers", "hidden") or (
            needs == "connect" and land.slice.directions == "connect"
        )
    if model.widths is None:  # refused by the scenario rules: no shape to judge
        return needs == "network"
    layers = len(model.widths) - 1
    one_layer_binary = layers == 1 and model.widths[-1] == 1 and n_classes_of(data) == 2
    return {
        "network": True,
        "layers": layers >= 2,
        "hidden": layers >= 2,
        "linear": not model.batchnorm
        and not model.skip
        and (model.activation == "linear" or layers == 1),
        "classifier": one_layer_binary,
        "plane classifier": one_layer_binary and model.widths[0] == 2,
        "connect": land.slice.directions == "connect",
    }[needs]
