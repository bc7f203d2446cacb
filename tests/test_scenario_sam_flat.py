"""The bundled scenario `sam_flat` shows what its captions and header claim (SAM, issue 19).

Every number was measured on the replay first; the measured value is quoted next to each bound.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from captions import says

import sandbox
from sandbox.cli import main as cli_main
from sandbox.landscape.analytic import SURFACES
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

PIT, BOWL = (-1.0, 0.0), (1.0, 0.0)
GD, SAM = "GD + momentum", "SAM, rho 0.3"


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bundled scenario replays without warnings
        return sandbox.replay(find_scenario("sam_flat"))


def distance(run, point) -> np.ndarray:
    """Each recorded position's distance from `point`, one per step."""
    return np.hypot(np.asarray(run.x) - point[0], np.asarray(run.y) - point[1])


def curvature(scenario, point) -> np.ndarray:
    """The Hessian's eigenvalues of the scenario's surface at `point` (autograd, float64)."""
    surface = SURFACES[scenario.landscape.surface]
    params = {**surface.defaults, **scenario.landscape.params}
    h = torch.autograd.functional.hessian(
        lambda t: surface.fn(t, params), torch.tensor(point, dtype=torch.float64)
    )
    return torch.linalg.eigvalsh(h).numpy()


def saddle_x(scenario) -> float:
    surface = SURFACES[scenario.landscape.surface]
    params = {**surface.defaults, **scenario.landscape.params}
    ((x, _),) = [c.xy for c in surface.critical(params) if c.kind == "saddle"]
    return x  # measured −0.41


def test_sam_flat_checks_and_its_runs_differ_only_in_sam():
    assert cli_main(["check", str(find_scenario("sam_flat"))]) == 0
    scenario = load_scenario(find_scenario("sam_flat"))
    gd, sam = scenario.runs
    assert sam.optimizer == "sam" and gd.optimizer == "momentum"
    keep = {"lr", "momentum", "start", "sharpness_every"}
    assert gd.model_dump(include=keep) == sam.model_dump(include=keep)


def test_sam_flat_captions(result):
    """Heavy-ball GD ends in the sharp pit; SAM with the same lr, momentum and start ends in
    the flat bowl, each caption's claim checked at the step it is shown."""
    scenario = result.scenario
    gd, sam = result.runs[GD], result.runs[SAM]
    start, overshoot, crossing, settled, end = (event.at for event in scenario.timeline)
    # "both at loss 0 ... (curvature 6.5) ... (curvature 0.44)" (6.543 and 0.4444, isotropic)
    lam_pit, lam_bowl = curvature(scenario, PIT).max(), curvature(scenario, BOWL).max()
    assert round(lam_pit, 1) == 6.5 and round(lam_bowl, 2) == 0.44
    says(scenario, start, "curvature 6.5", "curvature 0.44", "lr 0.03", "momentum 0.9", "ρ = 0.3")
    # "Both rolled through the pit and overshot it": each came within 0.15 of its bottom (GD 0.06
    # at step 10, SAM 0.11 at 17), then got farther from it than the pit is wide (0.3; GD 0.44,
    # SAM 0.48 by the caption). "The pit has pulled GD back to its bottom" (0.05); "SAM rolls
    # on": it is farther than 0.3 from the pit from step 21 on, for good.
    for run in (gd, sam):
        d = distance(run, PIT)[: overshoot + 1]
        through = int(np.argmax(d < 0.15))  # the first step within 0.15 (0 if none: fails)
        assert d[through] < 0.15 and d[through:].max() > 0.4
    assert distance(gd, PIT)[overshoot] < 0.1
    assert np.all(distance(sam, PIT)[21:] > 0.3)
    # "SAM crosses the saddle ... and never comes back" (at step 27: x = −0.39 > −0.41); GD never
    # crosses it.
    x_saddle = saddle_x(scenario)
    assert sam.x[crossing - 1] < x_saddle < min(sam.x[crossing:])
    assert max(gd.x) < x_saddle
    # "Both have settled, each within 0.01 of its minimum" (GD from step 84, SAM from 110).
    assert np.all(distance(gd, PIT)[settled:] < 0.01)
    assert np.all(distance(sam, BOWL)[settled:] < 0.01)
    # "λmax is 6.5 in the pit and 0.44 in the bowl ... 15 times flatter": the runs' own last
    # estimates (6.5432, 0.44444; ratio 14.7).
    assert round(gd.sharpness[end], 1) == 6.5 and round(sam.sharpness[end], 2) == 0.44
    assert round(gd.sharpness[end] / sam.sharpness[end]) == 15
    says(scenario, end, "6.5 in the pit", "0.44 in the bowl", "15 times", "0.001", "2·10⁻⁷")
    # "GD rests at the pit's bottom" (6·10⁻¹⁰ away); "SAM hops across the bowl's, 0.001 to
    # either side (loss 2·10⁻⁷)": it alternates sides of the bottom in x at 0.00104.
    assert distance(gd, PIT)[end] < 1e-8
    hops = np.asarray(sam.x[end - 10 :]) - BOWL[0]
    assert np.all(hops[1:] * hops[:-1] < 0)
    assert round(distance(sam, BOWL)[end], 3) == 0.001 and f"{sam.loss[end]:.0e}" == "2e-07"


def test_sam_hops_at_the_amplitude_of_its_two_cycle(result):
    """On a quadratic of curvature λ, heavy ball with momentum μ plus SAM's ascent has the
    two-cycle θ = ±a with a = ηλρ/(2(1 + μ) − ηλ): from θ_{k+1} = −θ_k, the velocity 2a/η
    must equal μ·(−2a/η) + λ(a + ρ). The header quotes it (0.001); the bowl is a quadratic only
    near its bottom (1 − exp(−r²/2w²)), so the measured 0.001035 is 2 % under 0.001056."""
    sam = next(run for run in result.scenario.runs if run.optimizer == "sam")
    eta_lambda = sam.lr * curvature(result.scenario, BOWL).max()
    amplitude = eta_lambda * sam.rho / (2 * (1 + sam.momentum) - eta_lambda)
    assert round(amplitude, 3) == 0.001
    measured = distance(result.runs[SAM], BOWL)[-1]
    assert measured == pytest.approx(amplitude, rel=0.05)


def test_without_momentum_sam_stays_in_the_pit():
    """The header's reason for the momentum: plain SAM (same lr, ρ, start) never leaves the pit
    (measured: never past x = −0.991, 0.018 from the bottom at step 400)."""
    scenario = load_scenario(find_scenario("sam_flat"))
    sam = next(run for run in scenario.runs if run.optimizer == "sam")
    plain = sam.model_copy(update={"momentum": 0.0, "name": "plain"})
    run = sandbox.replay(scenario.model_copy(update={"runs": (plain,)})).runs["plain"]
    assert max(run.x) < saddle_x(scenario)
    assert round(distance(run, PIT)[-1], 2) == 0.02
    assert math.isfinite(run.loss[-1]) and run.loss[-1] < 0.01  # in the pit: 0.0011
