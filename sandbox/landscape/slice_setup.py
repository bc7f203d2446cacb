"""Choosing a network scenario's slice plane: seeded random, PCA of the runs, or Hessian.

The plane always passes through the initial weights (the contract's (x, y)); `center` only moves
what the 3D view draws. PCA directions, and Hessian directions at the final weights, need the
runs first: a quick pre-pass (runs are deterministic, so re-running is exact) records a bounded
number of weight snapshots instead of keeping every step's weights.
"""

from __future__ import annotations

import torch

from sandbox.landscape.slicing import Plane, hessian_directions, pca_directions, random_directions
from sandbox.optim.run import run_steps
from sandbox.scenario.schema import NetworkLandscape, Scenario

MAX_SNAPSHOTS = 512  # per run, for PCA


class _SnapshotRecorder:
    """A stand-in plane that records weight snapshots every `stride` steps during a pre-pass."""

    def __init__(self, stride: int):
        self.stride, self.calls, self.snapshots = stride, 0, []
        self.last: torch.Tensor | None = None

    def project(self, theta: torch.Tensor) -> tuple[float, float, float]:
        self.last = theta.detach().clone()
        if self.calls % self.stride == 0:
            self.snapshots.append(self.last)
        self.calls += 1
        return 0.0, 0.0, 0.0


def _pre_pass(problem, scenario: Scenario) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    snapshots, finals = [], []
    for run in scenario.runs:
        recorder = _SnapshotRecorder(max(1, (scenario.steps + 1) // MAX_SNAPSHOTS))
        problem.plane = recorder
        for _ in run_steps(problem, run, scenario):
            pass
        snapshots.extend([*recorder.snapshots, recorder.last])
        finals.append(recorder.last)
    problem.plane = None
    return snapshots, finals


def set_slice_plane(problem, scenario: Scenario) -> dict:
    """Set `problem.plane` from the scenario's slice settings; return what to report about it."""
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)
    spec = land.slice
    origin = problem.theta_init
    info: dict = {"directions": spec.directions, "center": spec.center}
    if spec.directions == "random":
        seed = spec.seed if spec.seed is not None else scenario.seed
        d1, d2 = random_directions(problem.model, origin, seed)
    elif spec.directions == "pca":
        snapshots, _ = _pre_pass(problem, scenario)
        d1, d2, explained = pca_directions(torch.stack(snapshots), origin)
        info["explained_variance"] = list(explained)
    else:
        at = _pre_pass(problem, scenario)[1][0] if spec.center == "final" else origin
        d1, d2, eigenvalues = hessian_directions(problem.full_loss, at)
        info["eigenvalues"] = list(eigenvalues)
    problem.plane = Plane(origin, d1, d2)
    return info
