"""What a sweep collects from each run: summary values, values derived from the per-step arrays,
and losses on held-out data at the final weights.

A metric is named in the sweep file as a plain name (`final_loss`) or a name with one argument
(`steps_to(1e-6)`); the text as written is also the result table's column name. Each metric says
what it needs, so a task keeps per-step arrays or final weights only when asked to.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Needs = Literal["summary", "arrays", "weights"]
Dtype = Literal["float", "int", "bool"]


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric: its type, what it needs, and its argument (if any)."""

    dtype: Dtype
    needs: Needs
    doc: str
    arg: Literal["count", "positive"] | None = None
    network_only: bool = False


KINDS: dict[str, MetricKind] = {
    "final_loss": MetricKind("float", "summary", "loss at the last step"),
    "min_loss": MetricKind("float", "summary", "lowest finite loss of the run"),
    "diverged": MetricKind("bool", "summary", "loss or weights became NaN/Inf, or |loss| > 1e12"),
    "diverged_at": MetricKind("int", "summary", "step of divergence (empty if none)"),
    "steps_done": MetricKind("int", "summary", "last step recorded"),
    "sharpness": MetricKind("float", "summary", "last λ_max estimate (needs sharpness_every)"),
    "final_x": MetricKind("float", "summary", "final position x (network: on the slice plane)"),
    "final_y": MetricKind("float", "summary", "final position y"),
    "final_offplane": MetricKind(
        "float", "summary", "final distance from the slice plane", None, True
    ),
    "final_weight_norm": MetricKind("float", "summary", "final ‖θ‖", None, True),
    "initial_loss": MetricKind("float", "arrays", "loss at step 0"),
    "loss_ratio": MetricKind("float", "arrays", "final loss / loss at step 0"),
    "steps_to": MetricKind(
        "int", "arrays", "first step with loss < EPS (empty if never)", "positive"
    ),
    "loss_at": MetricKind(
        "float", "arrays", "loss at step K (empty if the run stopped before)", "count"
    ),
    "mean_loss_last": MetricKind("float", "arrays", "mean loss over the last K steps", "count"),
    "sharpness_median_last": MetricKind(
        "float", "arrays", "median λ_max estimate over the last K steps", "count"
    ),
    "sharpness_max": MetricKind("float", "arrays", "largest λ_max estimate"),
    "test_loss": MetricKind(
        "float", "weights", "loss at the final weights on N held-out points", "count", True
    ),
    "test_accuracy": MetricKind(
        "float",
        "weights",
        "accuracy at the final weights on N held-out points (classification)",
        "count",
        True,
    ),
}
_CALL = re.compile(r"^([a-z_]+)\((.*)\)$")
MAX_HELD_OUT = 1_000_000


@dataclass(frozen=True)
class Metric:
    """A metric as written in a sweep file, parsed."""

    name: str  # as written: the column name
    kind: str
    arg: float | int | None = None

    @property
    def spec(self) -> MetricKind:
        return KINDS[self.kind]


def parse_metric(text: str) -> Metric:
    """Parse "final_loss" or "steps_to(1e-6)"; raise ValueError with a reason."""
    call = _CALL.match(text)
    kind, arg_text = (call.group(1), call.group(2).strip()) if call else (text, None)
    if kind not in KINDS:
        raise ValueError(f"unknown metric {kind!r} (known: {', '.join(KINDS)})")
    spec = KINDS[kind]
    if spec.arg is None:
        if arg_text is not None:
            raise ValueError(f"{kind} takes no argument")
        return Metric(text, kind)
    if arg_text is None:
        example = "steps_to(1e-6)" if spec.arg == "positive" else f"{kind}(100)"
        raise ValueError(f"{kind} needs an argument, e.g. {example}")
    return Metric(text, kind, _parse_arg(kind, spec.arg, arg_text))


def _parse_arg(kind: str, arg: str, text: str) -> float | int:
    if arg == "count":
        if not re.fullmatch(r"[0-9]+", text) or not 0 <= int(text) <= 10_000_000:
            raise ValueError(f"{kind}'s argument must be a whole number of steps or points")
        value = int(text)
        if kind.startswith("test_") and not 1 <= value <= MAX_HELD_OUT:
            raise ValueError(f"{kind} needs 1 … {MAX_HELD_OUT:,} held-out points")
        if kind.endswith("_last") and value < 1:
            raise ValueError(f"{kind} needs at least 1 step")
        return value
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{kind}'s argument must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{kind}'s argument must be a positive finite number")
    return value


@dataclass(frozen=True)
class RunTrace:
    """What a task keeps of one run: its summary entry and, if needed, per-step columns."""

    summary: dict
    step: np.ndarray | None = None  # shape (steps_done + 1,)
    loss: np.ndarray | None = None
    sharpness: np.ndarray | None = None  # NaN where not estimated
    weights: Any = None  # final θ (torch tensor) for held-out metrics


def evaluate(metric: Metric, trace: RunTrace, held_out: Any = None) -> Any:
    """The metric's value for one run (None where it has none, e.g. steps_to never reached)."""
    kind, arg, s = metric.kind, metric.arg, trace.summary
    if kind in ("final_x", "final_y"):
        return _float(s["final_position"][0 if kind == "final_x" else 1])
    if metric.spec.needs == "summary":
        value = s.get(kind)
        if kind in ("diverged", "diverged_at", "steps_done") or value is None:
            return value
        return _float(value)
    if metric.spec.needs == "weights":
        return held_out(metric) if held_out is not None else None
    return _from_arrays(kind, arg, trace)


def _from_arrays(kind: str, arg, trace: RunTrace) -> Any:
    loss, step, lam = trace.loss, trace.step, trace.sharpness
    assert loss is not None and step is not None and lam is not None
    if kind == "initial_loss":
        return _float(loss[0])
    if kind == "loss_ratio":
        return _float(loss[-1] / loss[0]) if loss[0] != 0 else None
    if kind == "steps_to":
        below = np.flatnonzero(loss < arg)
        return int(step[below[0]]) if len(below) else None
    if kind == "loss_at":
        return _float(loss[arg]) if arg < len(loss) else None
    if kind == "mean_loss_last":
        return _float(np.mean(loss[-arg:]))
    estimates = lam[~np.isnan(lam)] if kind == "sharpness_max" else _late_estimates(step, lam, arg)
    if not len(estimates):
        return None
    return _float(np.max(estimates) if kind == "sharpness_max" else np.median(estimates))


def _late_estimates(step: np.ndarray, lam: np.ndarray, last: int) -> np.ndarray:
    late = (step > step[-1] - last) & ~np.isnan(lam)
    return lam[late]


def _float(value) -> float:
    return float(value)


def held_out_seed(data_seed: int) -> int:
    """Seed of the held-out points: derived from the training data's seed, never equal to it."""
    seed = zlib.crc32(f"held-out:{data_seed}".encode())
    return seed if seed != data_seed else seed + 1


def held_out_metrics(problem, scenario, weights):
    """A function computing `test_loss(N)` / `test_accuracy(N)` at `weights` (network only).

    The held-out points come from the training data's spec with n = N and another seed
    (`held_out_seed`); a dataset with a hidden target map (`low_rank`) keeps the training
    data's map, drawing only new inputs and noise.
    """
    import torch

    cache: dict[int, Any] = {}

    def compute(metric: Metric):
        n = int(metric.arg)
        if n not in cache:
            cache[n] = _held_out_data(problem, scenario, n)
        data = cache[n]
        with torch.no_grad():
            out = problem.model.forward(weights, data.x)
            if metric.kind == "test_loss":
                return _float(problem.loss_fn(out, data.y).item())
            return _accuracy(out, data)

    return compute


def _held_out_data(problem, scenario, n: int):
    import torch

    from sandbox.landscape.data import Dataset, make_dataset

    spec = scenario.landscape.data
    data_seed = spec.seed if spec.seed is not None else scenario.seed
    seed = held_out_seed(data_seed)
    target_map = getattr(problem.data, "target_map", None)
    if target_map is None:
        return make_dataset(spec.model_copy(update={"n": n, "seed": seed}), seed)
    gen = torch.Generator().manual_seed(seed)
    dim = target_map.shape[1]
    x = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    y = x @ target_map.T + spec.noise * torch.randn(
        n, target_map.shape[0], generator=gen, dtype=torch.float64
    )
    return Dataset(x.float(), y.float(), "regression", 0, dim, target_map=target_map)


def _accuracy(out, data) -> float | None:
    if data.task != "classification":
        return None
    predicted = (out[:, 0] > 0).long() if out.shape[1] == 1 else out.argmax(1)
    return _float((predicted == data.y).double().mean().item())
