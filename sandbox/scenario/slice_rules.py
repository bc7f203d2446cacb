"""Checks of a network's slice that the schema alone cannot express: a connect slice's two
runs, and runs that start at a point of the slice plane (which must exist before they run).
Each returns (key path, reason) pairs, as sandbox.scenario.rules does."""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.scenario.schema import NetworkLandscape, Run, Scenario

Found = Iterator[tuple[tuple, str]]

CONNECT_KEYS = ("connect", "connect_steps", "connect_lr")


def connect_problems(scenario: Scenario, land: NetworkLandscape) -> Found:
    """directions = "connect" names two distinct runs; its keys mean nothing elsewhere."""
    spec, here = land.slice, ("landscape", "slice")
    if spec.directions != "connect":
        for key in CONNECT_KEYS:
            if key in spec.model_fields_set:
                yield (*here, key), 'applies to directions = "connect" only'
        return
    for key in ("center", "span"):
        if key in spec.model_fields_set:
            yield (
                (*here, key),
                (
                    'has no effect with directions = "connect" (the view covers both '
                    "endpoints and the curve between them)"
                ),
            )
    if spec.connect is None:
        yield (
            (*here, "directions"),
            'directions = "connect" needs connect = ["run A", "run B"]: the two runs to join',
        )
        return
    runs = {run.name: run for run in scenario.runs}
    known = ", ".join(repr(name) for name in runs)
    for name in spec.connect:
        if name not in runs:
            yield (*here, "connect"), f"no run named {name!r} (runs: {known})"
    a, b = spec.connect
    if a == b:
        yield (*here, "connect"), f"names the same run twice ({a!r}); it needs two runs"
    elif a in runs and b in runs and _same_endpoint(scenario, runs[a], runs[b]):
        yield (
            (*here, "connect"),
            (
                f"runs {a!r} and {b!r} are identical and end at the same weights; give one "
                "its own init_seed"
            ),
        )


def _same_endpoint(scenario: Scenario, a: Run, b: Run) -> bool:
    """Whether two runs certainly end at the same weights (same settings, no randomness)."""
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)

    def settings(run: Run) -> dict:
        init_seed = run.init_seed if run.init_seed is not None else scenario.seed
        return run.model_dump(exclude={"name", "color"}) | {"init_seed": init_seed}

    random = any(r.noise > 0 or r.batch_size is not None for r in (a, b)) or land.model.dropout
    changed = any(e.set is not None and e.set.run in (a.name, b.name) for e in scenario.timeline)
    return settings(a) == settings(b) and not random and not changed


def plane_before_runs(land: NetworkLandscape) -> bool:
    """Whether the slice plane is known before any run starts (so a run may start on it): random
    planes and Hessian planes at θ₀ are; PCA, final-weights and connect planes are not."""
    directions, center = land.slice.directions, land.slice.center
    return directions == "random" or (directions == "hessian" and center != "final")


def network_start_problems(land: NetworkLandscape, here: tuple, run: Run) -> Found:
    """A network run's `start` = (a, b) is θ(a, b) = θ₀ + a·d₁ + b·d₂ on the slice plane."""
    if run.init_seed is not None:
        yield (*here, "start"), "a point of the slice plane; it cannot be used with init_seed"
    elif not plane_before_runs(land):
        yield (
            (*here, "start"),
            (
                f"a point of the slice plane, which with directions = "
                f"{land.slice.directions!r} and center = {land.slice.center!r} is chosen from "
                'the runs themselves; use directions = "random" (or "hessian" at center = '
                '"init")'
            ),
        )
