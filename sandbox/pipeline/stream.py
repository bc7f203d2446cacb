"""A prepared scenario as one stream of torch-free messages: surfaces, panels, then every run's
records, interleaved in batches.

The window's worker sends this stream to the app, frames and videos draw it through the same
view model, and a replay writes its records: all of them see the same numbers, computed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import torch

from sandbox.landscape import sampling
from sandbox.landscape.probes import panel_arrays
from sandbox.pipeline.messages import Finished, Message, Panel, Steps, Surface
from sandbox.pipeline.prepare import Prepared, steps
from sandbox.scenario.budget import draft_resolution

MOVING_RESOLUTION = 33  # re-centred surfaces for center = "moving"

RunObserver = Callable[[int, int, torch.Tensor], None]  # (run index, step, θ_k)


def stream(
    prepared: Prepared,
    batch: int = 64,
    moving_every: int = 50,
    view: bool = True,
    observe: RunObserver | None = None,
    anatomy: bool = False,
) -> Iterator[Message]:
    """Surfaces first (coarse, then refined), the declared panels' fixed arrays, then every
    run's steps, interleaved in batches; `Finished` at the end.

    `view=False` leaves out what only a view draws (surfaces and panels): the records alone.
    `observe(i, k, θ_k)` sees run i's full parameters at each step (read-only); `anatomy`
    adds each update taken apart to the records (the app's arrows; never written to files).
    """
    if view:
        yield from first_surfaces(prepared)
        yield from panels(prepared)
    yield from interleaved_steps(prepared, batch, moving_every if view else 0, observe, anatomy)
    yield Finished()


def first_surfaces(prepared: Prepared) -> Iterator[Surface]:
    """A network's coarse draft, then the refined surface; an analytic surface at once."""
    problem, land = prepared.problem, prepared.scenario.landscape
    if not problem.is_network:
        bounds = sampling.analytic_bounds(land.surface, land.bounds)
        yield Surface(sampling.analytic_surface(problem, bounds), refined=True)
        return
    spec = land.slice
    coarse = min(draft_resolution(prepared.scenario), spec.resolution)  # drawn within ~1 s
    center = prepared.view_center  # init, final or moving's start
    yield Surface(sampling.network_surface(problem, center, spec.span, coarse), refined=False)
    yield Surface(
        sampling.network_surface(problem, center, spec.span, spec.resolution), refined=True
    )


def panels(prepared: Prepared) -> Iterator[Panel]:
    """The fixed arrays of the panels the scenario's `[view] plots` declare."""
    scenario, problem = prepared.scenario, prepared.problem
    if scenario.view is None:
        return
    land = scenario.landscape
    bounds = None if problem.is_network else sampling.analytic_bounds(land.surface, land.bounds)
    arrays = panel_arrays(problem, scenario.view.plots, prepared.connection, bounds)
    for name, values in arrays.items():
        yield Panel(name, values)


def interleaved_steps(
    prepared: Prepared,
    batch: int,
    moving_every: int,
    observe: RunObserver | None,
    anatomy: bool = False,
) -> Iterator[Steps | Surface]:
    """Every run's records in turns of `batch`; a network's records carry ‖θ − θ₀‖. A moving
    slice's surface follows the first run, re-centred after each turn (every `moving_every`
    steps at most; 0: never)."""
    problem, scenario = prepared.problem, prepared.scenario
    land = scenario.landscape
    moving = problem.is_network and moving_every > 0 and land.slice.center == "moving"
    latest: dict = {}
    distances: dict[int, float] = {}  # each network run's ‖θ − θ₀‖ at its latest step

    def observer(i: int):
        start = []

        def see(k, theta):
            if problem.is_network:
                if not start:
                    start.append(theta.clone())
                distances[i] = (theta - start[0]).norm().item()
            if moving and i == 0 and k % moving_every == 0:
                latest["theta"], latest["step"] = theta.clone(), k
            if observe is not None:
                observe(i, k, theta)

        return see

    generators = [
        steps(prepared, run, observer(i) if problem.is_network or observe else None, anatomy)
        for i, run in enumerate(scenario.runs)
    ]
    active = list(range(len(generators)))
    while active:
        for i in list(active):
            chunk = tuple(
                replace(step, init_distance=distances[i]) if i in distances else step
                for _, step in zip(range(batch), generators[i], strict=False)
            )
            if chunk:
                yield Steps(i, chunk)
            if len(chunk) < batch:
                active.remove(i)
        if "theta" in latest:
            theta, step = latest.pop("theta"), latest.pop("step")
            sample = sampling.network_surface(
                problem, theta, land.slice.span, MOVING_RESOLUTION, step
            )
            yield Surface(sample, refined=True)
