"""Each bundled scenario shows what its caption claims: the signatures of PHENOMENA.md 1, 3-5."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sandbox
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario, parse_scenario


def replay(name: str):
    return sandbox.replay(find_scenario(name))


def steps_to(loss: np.ndarray, eps: float = 1e-6) -> int:
    below = np.nonzero(loss < eps)[0]
    return int(below[0]) if len(below) else math.inf


def test_learning_rate_vs_curvature():
    """PHENOMENA 1: |x_{k+1}/x_k| = |1 − ηλ|; ηλ = 1.9 converges, ηλ = 2.1 diverges."""
    result = replay("learning_rate")
    scenario = result.scenario
    curvature = scenario.landscape.params["l1"]
    for run in scenario.runs:
        a = result.runs[run.name]
        x = a.x[np.abs(a.x) > 1e-100]
        ratios = np.abs(x[1:] / x[:-1])
        np.testing.assert_allclose(ratios, abs(1 - run.lr * curvature), atol=1e-6)
    summary = {r["name"]: r for r in result.summary["runs"]}
    assert not summary["eta*lambda = 1.9"]["diverged"]
    assert summary["eta*lambda = 1.9"]["final_loss"] < 1e-12
    assert summary["eta*lambda = 2.1"]["diverged"]
    assert summary["eta*lambda = 2.1"]["diverged_at"] < scenario.steps
    # 1 < ηλ < 2 flips the sign of x every step.
    assert np.all(np.diff(np.sign(result.runs["eta*lambda = 1.5"].x[:20])) != 0)


def test_saddle_gd_stalls_noise_escapes():
    """PHENOMENA 3: GD ends on the saddle (loss ≈ 1, y = 0); noisy GD reaches a minimum."""
    result = replay("saddle")
    gd = result.runs["GD"]
    assert abs(gd.loss[-1] - 1) < 1e-6 and abs(gd.y[-1]) < 1e-6 and gd.grad_norm[-1] < 1e-6
    for name in ("GD + noise 0.3", "GD + noise 0.05"):
        noisy = result.runs[name]
        assert noisy.loss[-1] < 0.05
        assert abs(abs(noisy.y[-1]) - 1) < 0.05


def canyon_steps(kappa: float, optimizer: str) -> int:
    """Steps to loss < 1e-6 on ½(x² + κy²) with GD (η = 1.9/κ) or tuned heavy ball."""
    if optimizer == "gd":
        run = f'optimizer = "gd"\nlr = {1.9 / kappa}'
    else:
        root = math.sqrt(kappa)
        run = (
            f'optimizer = "momentum"\nlr = {4 / (root + 1) ** 2}\n'
            f"momentum = {((root - 1) / (root + 1)) ** 2}"
        )
    text = f"""title = "k"\nsteps = {int(20 * kappa) + 200}
[landscape]\nkind = "analytic"\nsurface = "canyon"\nparams = {{ kappa = {kappa} }}
[[runs]]\nname = "r"\nstart = [-2.0, 0.5]\n{run}\n"""
    return steps_to(sandbox.replay(parse_scenario(text)).runs["r"].loss)


def test_canyon_gd_zigzags_and_momentum_wins():
    """PHENOMENA 4, bundled file: GD's y flips sign every step; heavy ball is much faster."""
    result = replay("canyon_momentum")
    assert np.all(np.diff(np.sign(result.runs["GD"].y[:50])) != 0)
    gd, heavy = steps_to(result.runs["GD"].loss), steps_to(result.runs["Heavy ball (tuned)"].loss)
    assert heavy * 4 < gd < 1000


@pytest.mark.slow
def test_canyon_scaling_kappa_vs_sqrt_kappa():
    """PHENOMENA 4: steps-to-ε grow ~κ for GD and ~√κ for tuned momentum."""
    kappas = np.array([25.0, 100.0, 400.0])
    for optimizer, slope in (("gd", 1.0), ("momentum", 0.5)):
        steps = [canyon_steps(k, optimizer) for k in kappas]
        fitted = np.polyfit(np.log(kappas), np.log(steps), 1)[0]
        assert abs(fitted - slope) < 0.15, (optimizer, steps, fitted)


def distance(run, step: int) -> float:
    """Distance of an analytic run from the minimum at the origin, at one step."""
    return math.hypot(run.x[step], run.y[step])


def test_preconditioning():
    """PHENOMENA 5: Newton/diag ≤ 1/10 of GD's steps at κ = 100; rotated, diag does not.

    The captions are asserted at their own steps (read from the timeline): Newton (step size 1)
    lands in one step; P = H⁻¹ at step size 0.9 multiplies the distance to the minimum by 0.1
    per step, so it covers 90 % of the way in one step and needs 4 (aligned) or 5 (rotated,
    start loss 104 instead of 14.5) steps to loss < 1e-6."""
    aligned = replay("preconditioning")
    runs = aligned.runs
    gd = steps_to(runs["GD"].loss)
    assert steps_to(runs["Newton"].loss) == 1
    diagonal = ("GD, diagonal preconditioner", "GD, fixed P = diag(1, 1/100)")
    for name in diagonal:
        assert steps_to(runs[name].loss) <= gd / 10
    _, one, four = (event.at for event in aligned.scenario.timeline)
    # "Newton (step size 1) lands on the minimum in a single step. The two diagonal
    # preconditioners (step size 0.9) have covered 90 % of the way."
    assert runs["Newton"].loss[one] < 1e-12 and one == 1  # measured 0.0
    for name in diagonal:
        assert distance(runs[name], one) == pytest.approx(0.1 * distance(runs[name], 0), rel=1e-9)
        assert runs[name].loss[one - 1] > 1  # not before: 14.5 at the start
    # "... below loss 10⁻⁶ after 4 steps. Plain GD needs 379." (and the description)
    assert [steps_to(runs[name].loss) for name in diagonal] == [four, four] == [4, 4]
    assert gd == 379

    rotated = replay("preconditioning_rotated")
    runs = rotated.runs
    gd_rotated = steps_to(runs["GD"].loss)
    assert steps_to(runs["GD, diagonal preconditioner"].loss) > gd_rotated / 10
    assert steps_to(runs["Newton"].loss) == 1
    assert steps_to(runs["GD, fixed P = H^-1"].loss) <= gd_rotated / 10
    assert load_scenario(find_scenario("preconditioning_rotated")).landscape.params["angle"] == 30
    _, one, five = (event.at for event in rotated.scenario.timeline)
    # "Newton lands on the minimum in one step. The fixed P = H⁻¹ (step size 0.9) has covered
    # 90 % of the way. The diagonal preconditioner's loss has only fallen from 104 to 63."
    assert runs["Newton"].loss[one] < 1e-12 and one == 1  # measured 4e-29
    fixed = runs["GD, fixed P = H^-1"]
    # P is H⁻¹ rounded to 8 digits: 0.1 to 3e-6 (measured).
    assert distance(fixed, one) == pytest.approx(0.1 * distance(fixed, 0), rel=1e-5)
    diag = runs["GD, diagonal preconditioner"].loss
    assert round(diag[0]) == 104 and round(diag[one]) == 63  # 103.77, 62.64
    # "The fixed P = H⁻¹ is below loss 10⁻⁶ after 5 steps. The diagonal preconditioner needs
    # 259 steps, plain GD 363."
    assert steps_to(fixed.loss) == five == 5
    assert steps_to(diag) == 259 and gd_rotated == 363
