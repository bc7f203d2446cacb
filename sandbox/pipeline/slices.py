"""Choosing a network scenario's slice plane: seeded random, PCA of the runs, Hessian, or connect.

The plane passes through the initial weights (the contract's (x, y)); `center` only moves what
the 3D view draws. PCA directions, and Hessian directions at the final weights, need the runs
first: a quick pre-pass (runs are deterministic, so running them again later is exact) records
a bounded number of weight snapshots instead of keeping every step's weights. While the runs are
trained to choose the plane, their records are read on the seeded random plane, and discarded.

The one exception is ``directions = "connect"`` (mode connectivity, `sandbox.pipeline.connect`):
its plane goes through the two named runs' final weights and the fitted curve between them, with
the first run's final weights at (0, 0) and the second's at (1, 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from sandbox.landscape.connect import Connection
from sandbox.landscape.problem import Network, NetworkProblem
from sandbox.landscape.slicing import (
    Plane,
    largest_entry_positive,
    pca_directions,
    random_directions,
)
from sandbox.optim.sharpness import HVP, lanczos
from sandbox.pipeline.connect import connect
from sandbox.pipeline.runs import run_records, slice_seed
from sandbox.scenario.schema import NetworkLandscape, Scenario

MAX_SNAPSHOTS = 512  # per run, for PCA


@dataclass(frozen=True, eq=False)
class ChosenSlice:
    """A network's slice plane, the weights the view centres on (None for connect, whose plane
    carries its own view) and what summary.json reports about the slice."""

    plane: Plane
    view_center: Tensor | None
    info: dict
    connection: Connection | None = None


def choose_slice(network: Network, scenario: Scenario) -> ChosenSlice:
    """The slice a scenario's `[landscape.slice]` asks for, training its runs when it must."""
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)
    spec = land.slice
    origin = network.theta_init
    scratch = NetworkProblem(network, random_plane(network, slice_seed(scenario)))
    if spec.directions == "connect":
        connection = connect(scratch, scenario)
        info = {
            "directions": "connect",
            "runs": list(connection.runs),
            "bounds": [list(axis) for axis in connection.plane.bounds],
        }
        return ChosenSlice(connection.plane, None, info, connection)
    info: dict = {"directions": spec.directions, "center": spec.center}
    finals = _FirstFinal(scratch, scenario)
    d1, d2 = _directions(scratch, scenario, info, finals)
    # The weights the view centres on; "moving" starts at θ₀ and follows the first run.
    view_center = finals() if spec.center == "final" else origin
    plane = Plane(origin, d1, d2)
    if spec.center != "moving":  # the view: the square of half-width span around that centre
        cx, cy, _ = plane.project(view_center)
        info["bounds"] = [[cx - spec.span, cx + spec.span], [cy - spec.span, cy + spec.span]]
    return ChosenSlice(plane, view_center, info)


def random_plane(network: Network, seed: int) -> Plane:
    """The seeded random plane through the initial weights (filter-normalised directions)."""
    origin = network.theta_init
    return Plane(origin, *random_directions(network.model, origin, seed))


class _FirstFinal:
    """The first run's final weights, from one pre-pass shared by whoever needs them."""

    def __init__(self, scratch: NetworkProblem, scenario: Scenario):
        self.scratch, self.scenario = scratch, scenario
        self.finals: list[Tensor] = []

    def __call__(self) -> Tensor:
        if not self.finals:
            self.finals.extend(pre_pass(self.scratch, self.scenario, first_only=True)[1])
        return self.finals[0]


def _directions(
    scratch: NetworkProblem, scenario: Scenario, info: dict, finals: _FirstFinal
) -> tuple[Tensor, Tensor]:
    """d₁, d₂ of the plane; PCA and Hessian planes add what they found to `info`."""
    spec = scenario.landscape.slice
    origin = scratch.theta_init
    if spec.directions == "random":
        return scratch.plane.d1, scratch.plane.d2
    if spec.directions == "pca":
        snapshots, all_finals = pre_pass(scratch, scenario)
        finals.finals.extend(all_finals)
        d1, d2, explained = pca_directions(torch.stack(snapshots), origin)
        info["explained_variance"] = list(explained)
        return d1, d2
    at = finals() if spec.center == "final" else origin
    d1, d2, eigenvalues = hessian_directions(scratch.full_loss, at)
    info["eigenvalues"] = list(eigenvalues)
    if not (d1.isfinite().all() and d2.isfinite().all()):
        # The loss is not finite there (a huge init gain, a diverged first run): it has no
        # eigenvectors. The seeded random plane lets the runs replay, marked diverged.
        return scratch.plane.d1, scratch.plane.d2
    return d1, d2


def pre_pass(
    problem: NetworkProblem, scenario: Scenario, first_only: bool = False
) -> tuple[list[Tensor], list[Tensor]]:
    """Run the runs once; return weight snapshots (≤ MAX_SNAPSHOTS + 1 per run) and finals.

    Sharpness estimates and probes are skipped (they do not change the weights, only cost
    time), and `first_only` stops after the first run when only its final weights are needed.
    """
    snapshots, finals = [], []
    stride = max(1, -(-(scenario.steps + 1) // MAX_SNAPSHOTS))  # ceil: ≤ MAX_SNAPSHOTS
    for run in scenario.runs[:1] if first_only else scenario.runs:
        run = run.model_copy(update={"sharpness_every": 0, "trace_every": 0, "density_every": 0})
        last: list[Tensor] = []

        def observe(k: int, theta: Tensor, last=last) -> None:
            last[:] = [theta.clone()]
            if k % stride == 0:
                snapshots.append(last[0])

        for _ in run_records(problem, scenario, run, observe, probes=False):
            pass
        snapshots.append(last[0])
        finals.append(last[0])
    return snapshots, finals


def hessian_directions(
    loss_fn: Callable[[Tensor], Tensor], theta: Tensor, iters: int = 30, seed: int = 0
) -> tuple[Tensor, Tensor, tuple[float, float]]:
    """Top-2 Hessian eigenvectors (largest algebraic eigenvalues) at θ, and those eigenvalues.

    Lanczos with ``iters`` Hessian-vector products of ``loss_fn`` (θ -> scalar loss). Unit
    vectors, each signed so that its largest-magnitude entry is positive.
    """
    values, vectors = lanczos(
        HVP(loss_fn, theta), theta.numel(), k=iters, seed=seed, dtype=theta.dtype
    )
    if len(values) < 2:
        raise ValueError("Hessian directions need at least 2 parameters")
    d1, d2 = (largest_entry_positive(v) for v in vectors[:2])
    return d1, d2, (float(values[0]), float(values[1]))
