"""Mode connectivity's pre-pass: train the two named runs, then fit the curve between them.

The geometry (the curve, its fit, the plane through it) is `sandbox.landscape.connect`'s; this
module only trains the endpoints, which is why it belongs to the pipeline.
"""

from __future__ import annotations

from collections import deque

from torch import Tensor

from sandbox.landscape.connect import Connection, connection
from sandbox.landscape.problem import NetworkProblem
from sandbox.pipeline.runs import run_records, slice_seed
from sandbox.scenario.schema import NetworkLandscape, Scenario


def connect(problem: NetworkProblem, scenario: Scenario) -> Connection:
    """Train the two runs `[landscape.slice] connect` names and fit the curve between them.

    `problem` may be read on any plane: the records of this pre-pass are discarded.
    """
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape) and land.slice.connect is not None
    spec = land.slice
    names = (spec.connect[0], spec.connect[1])
    theta_a, theta_b = train_endpoints(problem, scenario, names)
    return connection(problem, names, theta_a, theta_b, spec, slice_seed(scenario))


def train_endpoints(
    problem: NetworkProblem, scenario: Scenario, names: tuple[str, str]
) -> tuple[Tensor, Tensor]:
    """The final weights of the two named runs (a deterministic pre-pass: the replay is exact)."""
    runs = {run.name: run for run in scenario.runs}
    finals = []
    for name in names:
        last: list[Tensor] = []

        def observe(k: int, theta: Tensor, last=last) -> None:
            last[:] = [theta]

        records = run_records(problem, scenario, runs[name], observe, probes=False)
        final = deque(records, maxlen=1)[0]  # the last record
        if final.diverged:
            raise ValueError(
                f"mode connectivity: run {name!r} diverged at step {final.step}; "
                "its final weights cannot be an endpoint"
            )
        finals.append(last[0].clone())
    return finals[0], finals[1]
