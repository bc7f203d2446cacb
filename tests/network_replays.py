"""Warning-free replays of bundled network scenarios, and a run's outputs part way through."""

from __future__ import annotations

import warnings

import torch

import sandbox
from sandbox.landscape.problem import NetworkProblem, make_network
from sandbox.pipeline.runs import run_records
from sandbox.pipeline.slices import random_plane
from sandbox.resources import find_scenario


def replay(source):
    """Replay a bundled scenario (by name) or a Scenario; fail on any warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sandbox.replay(find_scenario(source) if isinstance(source, str) else source)
    assert not caught, [str(w.message) for w in caught]
    return result


def outputs_at(scenario, name: str, steps) -> dict[int, torch.Tensor]:
    """A run's predicted probabilities for every data point at `steps`, training only that far."""
    scenario = scenario.model_copy(update={"steps": max(steps)})
    # The slice plane only decides the reported (x, y), never θ: a random one saves a pre-pass.
    network = make_network(scenario.landscape, scenario.seed)
    problem = NetworkProblem(network, random_plane(network, 0))
    thetas = {}
    run = next(r for r in scenario.runs if r.name == name)
    observe = lambda k, theta: thetas.update({k: theta.clone()} if k in steps else {})  # noqa: E731
    for _ in run_records(problem, scenario, run, observe):
        pass
    with torch.no_grad():
        return {
            k: torch.sigmoid(problem.model.forward(thetas[k], problem.data.x)[:, 0]) for k in steps
        }
