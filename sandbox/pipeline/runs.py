"""One run's records from a scenario: `run_steps` given what the scenario says about the run.

Shared by the pre-passes that choose a slice (`sandbox.pipeline.slices`, `.connect`) and by
`sandbox.pipeline.prepare.steps`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from sandbox.landscape.probes import make_probes
from sandbox.optim.run import run_steps
from sandbox.scenario.schema import Change, NetworkLandscape, Run, Scenario
from sandbox.trace.records import Step

Observer = Callable[[int, torch.Tensor], None]


def run_records(
    problem,
    scenario: Scenario,
    run: Run,
    observe: Observer | None = None,
    probes: bool = True,
    anatomy: bool = False,
) -> Iterator[Step]:
    """`run_steps` with what the scenario says about this run: its steps, seed, timeline and the
    probes its plots need (`probes=False` leaves them out: a pre-pass needs only the weights).
    `anatomy=True`: the records carry their updates taken apart (for the app's arrows)."""
    return run_steps(
        problem,
        run,
        scenario.steps,
        scenario.seed,
        changes=changes_for(scenario, run),
        probe=make_probes(problem, scenario) if probes else None,
        observe=observe,
        anatomy=anatomy,
    )


def changes_for(scenario: Scenario, run: Run) -> dict[int, list[Change]]:
    """The timeline's hyper-parameter changes of one run, by step."""
    changes: dict[int, list[Change]] = {}
    for event in scenario.timeline:
        if event.set is not None and event.set.run == run.name:
            changes.setdefault(event.at, []).append(event.set)
    return changes


def slice_seed(scenario: Scenario) -> int:
    """The seed of a network's slice plane: the slice's own, else the scenario's."""
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)
    return land.slice.seed if land.slice.seed is not None else scenario.seed
