"""A scenario prepared to run: its finished problem, and each run's records from it.

`prepare` builds the problem once, with everything decided before step 0 (a network's slice
plane, the view's centre, a mode-connectivity curve); `steps` runs one of the scenario's runs on
it. Both are deterministic, so whoever calls them (replay, window, frames, sweep, bench) gets
the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from sandbox.landscape.connect import Connection
from sandbox.landscape.problem import AnalyticProblem, NetworkProblem, make_network, make_problem
from sandbox.pipeline.runs import Observer, run_records
from sandbox.pipeline.slices import choose_slice
from sandbox.scenario.schema import NetworkLandscape, Run, Scenario
from sandbox.trace.records import Step


@dataclass(frozen=True, eq=False)
class Prepared:
    """A scenario and its finished problem; for a network also what the slice reports
    (`slice_info`, summary.json's `slice`) and the mode-connectivity results (`connection`)."""

    scenario: Scenario
    problem: AnalyticProblem | NetworkProblem
    slice_info: dict | None = None
    connection: Connection | None = None

    @property
    def view_center(self) -> torch.Tensor | None:
        """The weights the 3D view centres on (networks; None for analytic surfaces)."""
        return self.problem.view_center if self.problem.is_network else None


def prepare(scenario: Scenario) -> Prepared:
    """The scenario's problem, finished: a network's slice plane and view centre chosen."""
    land = scenario.landscape
    if not isinstance(land, NetworkLandscape):
        return Prepared(scenario, make_problem(scenario))
    network = make_network(land, scenario.seed)
    chosen = choose_slice(network, scenario)
    problem = NetworkProblem(network, chosen.plane, chosen.view_center)
    return Prepared(scenario, problem, chosen.info, chosen.connection)


def steps(
    prepared: Prepared, run: Run, observe: Observer | None = None, anatomy: bool = False
) -> Iterator[Step]:
    """Yield the records of one run of the prepared scenario, step 0 to the end (or divergence).

    `observe(k, θ_k)` sees the full parameters at each step (read-only), and `anatomy` adds
    each update taken apart, as in `run_steps`.
    """
    return run_records(prepared.problem, prepared.scenario, run, observe, anatomy=anatomy)
