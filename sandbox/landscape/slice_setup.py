"""Choosing a network scenario's slice plane: seeded random, PCA of the runs, Hessian, or connect.

The plane passes through the initial weights (the contract's (x, y)); `center` only moves what
the 3D view draws. PCA directions, and Hessian directions at the final weights, need the runs
first: a quick pre-pass (runs are deterministic, so re-running is exact) records a bounded number
of weight snapshots instead of keeping every step's weights.

The one exception is ``directions = "connect"`` (mode connectivity, `sandbox.landscape.connect`):
its plane goes through the two named runs' final weights and the fitted curve between them, with
the first run's final weights at (0, 0) and the second's at (1, 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sandbox.landscape.connect import Connection, connect
from sandbox.landscape.slicing import Plane, hessian_directions, pca_directions, random_directions
from sandbox.optim.run import run_steps
from sandbox.scenario.schema import NetworkLandscape, Scenario

MAX_SNAPSHOTS = 512  # per run, for PCA


def _pre_pass(
    problem, scenario: Scenario, seed: int, first_only: bool = False
) -> tuple[list[Tensor], list[Tensor]]:
    """Run the runs once; return weight snapshots (≤ MAX_SNAPSHOTS + 1 per run) and finals.

    Sharpness estimates are skipped (they do not change the weights, only cost time), and
    `first_only` stops after the first run when only its final weights are needed.
    """
    # Records need *some* plane to project onto during the pre-pass; their (x, y) are discarded.
    problem.plane = Plane(
        problem.theta_init, *random_directions(problem.model, problem.theta_init, seed)
    )
    snapshots, finals = [], []
    for run in scenario.runs[:1] if first_only else scenario.runs:
        run = run.model_copy(update={"sharpness_every": 0})
        stride = max(1, -(-(scenario.steps + 1) // MAX_SNAPSHOTS))  # ceil: ≤ MAX_SNAPSHOTS
        last: list[Tensor] = []

        def observe(k: int, theta: Tensor, stride=stride, last=last) -> None:
            last[:] = [theta.clone()]
            if k % stride == 0:
                snapshots.append(last[0])

        for _ in run_steps(problem, run, scenario, observe):
            pass
        snapshots.append(last[0])
        finals.append(last[0])
    problem.plane = None
    return snapshots, finals


def set_slice_plane(problem, scenario: Scenario) -> dict:
    """Set `problem.plane` from the scenario's slice settings; return what to report about it."""
    return setup_slice(problem, scenario)[0]


def setup_slice(problem, scenario: Scenario) -> tuple[dict, Connection | None]:
    """As `set_slice_plane`, and the mode-connectivity results when directions = "connect"."""
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)
    spec = land.slice
    if spec.directions == "connect":
        connection = connect(problem, scenario)
        info = {
            "directions": "connect",
            "runs": list(connection.runs),
            "bounds": [list(axis) for axis in connection.plane.bounds],
        }
        return info, connection
    origin = problem.theta_init
    info: dict = {"directions": spec.directions, "center": spec.center}
    seed = spec.seed if spec.seed is not None else scenario.seed
    finals: list[Tensor] = []

    def first_final() -> Tensor:
        """The first run's final weights (one pre-pass, shared by whoever needs them)."""
        if not finals:
            finals.extend(_pre_pass(problem, scenario, seed, first_only=True)[1])
        return finals[0]

    if spec.directions == "random":
        d1, d2 = random_directions(problem.model, origin, seed)
    elif spec.directions == "pca":
        snapshots, all_finals = _pre_pass(problem, scenario, seed)
        finals.extend(all_finals)
        d1, d2, explained = pca_directions(torch.stack(snapshots), origin)
        info["explained_variance"] = list(explained)
    else:
        at = first_final() if spec.center == "final" else origin
        d1, d2, eigenvalues = hessian_directions(problem.full_loss, at)
        info["eigenvalues"] = list(eigenvalues)
        if not (d1.isfinite().all() and d2.isfinite().all()):
            # The loss is not finite there (a huge init gain, a diverged first run): it has no
            # eigenvectors. The seeded random plane lets the runs replay, marked diverged.
            d1, d2 = random_directions(problem.model, origin, seed)
    # The weights the view centres on; "moving" starts at θ₀ and follows the first run.
    problem.view_center = first_final() if spec.center == "final" else origin
    problem.plane = Plane(origin, d1, d2)  # after any pre-pass: it borrows problem.plane
    if spec.center != "moving":  # the view: the square of half-width span around that centre
        cx, cy, _ = problem.plane.project(problem.view_center)
        info["bounds"] = [[cx - spec.span, cx + spec.span], [cy - spec.span, cy + spec.span]]
    return info, None
