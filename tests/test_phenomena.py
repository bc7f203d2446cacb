"""Each bundled scenario shows what its caption claims: docs/phenomena.md, signatures 1 and 3-5."""

from __future__ import annotations

import math

import builders
import numpy as np
import pytest
from captions import says

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
    assert not summary["ηλ = 1.9"]["diverged"]
    assert summary["ηλ = 1.9"]["final_loss"] < 1e-12
    assert summary["ηλ = 2.1"]["diverged"]
    assert summary["ηλ = 2.1"]["diverged_at"] < scenario.steps
    # 1 < ηλ < 2 flips the sign of x every step.
    assert np.all(np.diff(np.sign(result.runs["ηλ = 1.5"].x[:20])) != 0)

    # Each caption at its own step (read from the timeline).
    start, settle, blows_up = (event.at for event in scenario.timeline)
    # "Same bowl, four step sizes. The curvature along x is λ = 2." (the description: "ηλ = 0.5
    # glides in, 1.5 and 1.9 flip sign every step yet converge, 2.1 diverges")
    assert start == 0 and curvature == 2 and len({run.start for run in scenario.runs}) == 1
    products = [round(run.lr * curvature, 2) for run in scenario.runs]
    assert products == [0.5, 1.5, 1.9, 2.1]
    assert np.all(result.runs["ηλ = 0.5"].x > 0)  # glides: never crosses
    # "ηλ = 1.5 and 1.9 jump across the valley every step, and still settle." (x flips sign at
    # every step up to the caption, and |x| shrinks)
    for name in ("ηλ = 1.5", "ηλ = 1.9"):
        x = result.runs[name].x[: settle + 1]
        assert np.all(x[1:] * x[:-1] < 0) and np.all(np.diff(np.abs(x)) < 0)
        assert result.runs[name].loss[-1] < 1e-12
    # "ηλ = 2.1: each jump lands higher than the last. It diverges." (loss 1218 here; the run
    # stops at step 138)
    wild = result.runs["ηλ = 2.1"]
    assert np.all(wild.x[1:] * wild.x[:-1] < 0) and np.all(np.diff(wild.loss) > 0)
    assert wild.loss[blows_up] > 100 * wild.loss[0]


def test_saddle_gd_stalls_noise_escapes():
    """PHENOMENA 3: GD ends on the saddle (loss ≈ 1, y = 0); noisy GD reaches a minimum."""
    result = replay("saddle")
    gd = result.runs["GD"]
    assert abs(gd.loss[-1] - 1) < 1e-6 and abs(gd.y[-1]) < 1e-6 and gd.grad_norm[-1] < 1e-6
    for name in ("GD + noise 0.3", "GD + noise 0.05"):
        noisy = result.runs[name]
        assert noisy.loss[-1] < 0.05
        assert abs(abs(noisy.y[-1]) - 1) < 0.05

    # Each caption at its own step (read from the timeline).
    scenario = result.scenario
    start, stuck, tipped = (event.at for event in scenario.timeline)
    # "Three runs start on the ridge. Only their gradient noise differs."
    assert all(run.start[1] == 0 for run in scenario.runs) and start == 0
    assert len({(run.lr, run.start) for run in scenario.runs}) == 1
    assert len({run.noise for run in scenario.runs}) == 3
    # "Plain GD has reached the saddle: its gradient is almost zero (0.005), its loss stuck at
    # 1." (0.0054, from 3 at the start; loss 1.000007; it never leaves y = 0)
    assert round(gd.grad_norm[stuck], 3) == 0.005 and round(gd.loss[stuck], 4) == 1
    assert np.all(gd.y == 0) and np.all(np.abs(gd.loss[stuck:] - 1) < 1e-4)
    says(scenario, stuck, "(0.005)", "stuck at 1")
    # "Noise tipped the others off the ridge, one into each valley." (y = -0.97 and +1.00 here,
    # and each stays on its side: it left the ridge at step 20 or 36)
    ys = [result.runs[name].y[tipped:] for name in ("GD + noise 0.3", "GD + noise 0.05")]
    assert np.all(ys[0] < -0.5) and np.all(ys[1] > 0.5)


def canyon_steps(kappa: float, optimizer: str) -> int:
    """Steps to loss < 1e-6 on ½(x² + κy²) with GD (η = 1.9/κ) or tuned heavy ball."""
    kappa = float(kappa)  # a numpy float would be written as np.float64(…) in the file
    start = [-2.0, 0.5]
    if optimizer == "gd":
        keys = builders.run("r", "gd", 1.9 / kappa, start=start)
    else:
        root = math.sqrt(kappa)
        momentum = ((root - 1) / (root + 1)) ** 2
        keys = builders.run("r", "momentum", 4 / (root + 1) ** 2, momentum=momentum, start=start)
    text = builders.analytic_toml(
        "canyon", params={"kappa": kappa}, runs=[keys], title="k", steps=int(20 * kappa) + 200
    )
    return steps_to(sandbox.replay(parse_scenario(text)).runs["r"].loss)


def test_canyon_gd_zigzags_and_momentum_wins():
    """PHENOMENA 4, bundled file: GD's y flips sign every step; momentum arrives far sooner."""
    result = replay("canyon_momentum")
    assert np.all(np.diff(np.sign(result.runs["GD"].y[:50])) != 0)
    gd, heavy = steps_to(result.runs["GD"].loss), steps_to(result.runs["Heavy ball (tuned)"].loss)
    assert heavy * 4 < gd < 1000
    # The description: "Heavy-ball momentum ... reaches loss 10⁻⁶ in 65 steps, GD in 379." (It
    # was "ten times faster": only the asymptotic rate per step is, 0.669 against 0.962.)
    assert (heavy, gd) == (65, 379)
    assert "in 65 steps, GD in 379" in result.scenario.description
    # The Nesterov run's comment: "1 / L: Nesterov is unstable above ~1.4 / L at this
    # momentum" (on a quadratic: η·L < 2(1 + β)/(1 + 2β) = 1.385)
    nesterov = result.scenario.runs[2]
    kappa = result.scenario.landscape.params["kappa"]
    assert nesterov.lr * kappa == 1
    # ... and "GD must keep its step below 2/κ for the steep walls" (0.019 < 0.02).
    assert result.scenario.runs[0].lr < 2 / kappa
    assert round(2 * (1 + nesterov.momentum) / (1 + 2 * nesterov.momentum), 1) == 1.4

    # Each caption at its own step (read from the timeline).
    start, zigzag, bottom, end = (event.at for event in result.scenario.timeline)
    # "A canyon 100 times steeper across than along." (curvatures κ and 1)
    assert kappa == 100 and start == 0
    # "GD's big step across the canyon flips y's sign every step: the zigzag. The tuned heavy
    # ball swings even wider at first (loss 158, from 14.5); Nesterov has stopped bouncing."
    # (The gallery showed the heavy ball's swings as the biggest zigzag under a title that said
    # momentum glides.)
    y = result.runs["GD"].y[: zigzag + 1]
    assert np.all(y[1:] * y[:-1] < 0)
    heavy_ball, plain = result.runs["Heavy ball (tuned)"], result.runs["GD"]
    nesterov_run = result.runs["Nesterov"]
    assert round(heavy_ball.loss[zigzag]) == 158 and heavy_ball.loss[0] == 14.5
    assert np.all(np.abs(heavy_ball.y[1 : zigzag + 1]) > np.abs(plain.y[1 : zigzag + 1]))
    assert abs(nesterov_run.y[zigzag]) < 1e-3 < abs(plain.y[zigzag])
    says(result.scenario, zigzag, "loss 158, from 14.5")
    # "Both momentum runs are at the bottom (loss below 10⁻⁸); GD is still walking the floor
    # (loss 0.006)." (heavy ball 1e-11 from the minimum, GD 0.11 away along the floor)
    assert heavy_ball.loss[bottom] < 1e-8 and nesterov_run.loss[bottom] < 1e-8
    assert distance(heavy_ball, bottom) < 1e-6
    assert distance(plain, bottom) > 0.1 and abs(plain.y[bottom]) < 1e-6
    assert round(plain.loss[bottom], 3) == 0.006
    says(result.scenario, bottom, "below 10⁻⁸", "(loss 0.006)")
    # "GD is at the bottom too now (loss 2.0·10⁻¹⁰): it got below 10⁻⁸ at step 499, the heavy
    # ball at step 77." (the step-150 caption stayed up to the end and said GD was at 0.006)
    assert end == result.scenario.steps and f"{plain.loss[end]:.1e}" == "2.0e-10"
    assert (steps_to(plain.loss, 1e-8), steps_to(heavy_ball.loss, 1e-8)) == (499, 77)
    says(result.scenario, end, "2.0·10⁻¹⁰", "step 499", "step 77")


@pytest.mark.slow
def test_canyon_scaling_kappa_vs_sqrt_kappa():
    """PHENOMENA 4: steps-to-ε grow ~κ for GD and ~√κ for tuned momentum."""
    kappas = np.array([25.0, 100.0, 400.0])
    for optimizer, slope in (("gd", 1.0), ("momentum", 0.5)):
        steps = [canyon_steps(k, optimizer) for k in kappas]
        fitted = np.polyfit(np.log(kappas), np.log(steps), 1)[0]
        # Theory: slopes 1 and ½. Measured 1.01 (92, 379, 1524 steps) and 0.58 (29, 65, 145
        # steps); bound ±0.15.
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
    start, one, four = (event.at for event in aligned.scenario.timeline)
    # "Same canyon, same start. Only the preconditioner differs."
    assert start == 0 and len({run.start for run in aligned.scenario.runs}) == 1
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
    assert steps_to(runs["GD, fixed P = H⁻¹"].loss) <= gd_rotated / 10
    assert load_scenario(find_scenario("preconditioning_rotated")).landscape.params["angle"] == 30
    start, one, five = (event.at for event in rotated.scenario.timeline)
    assert start == 0 and len({run.start for run in rotated.scenario.runs}) == 1
    # The description: "The same canyon rotated by 30°."
    assert rotated.scenario.landscape.params["kappa"] == aligned.scenario.landscape.params["kappa"]
    # "Newton lands on the minimum in one step. The fixed P = H⁻¹ (step size 0.9) has covered
    # 90 % of the way. The diagonal preconditioner's loss has only fallen from 104 to 63."
    assert runs["Newton"].loss[one] < 1e-12 and one == 1  # measured 4e-29
    fixed = runs["GD, fixed P = H⁻¹"]
    # P is H⁻¹ rounded to 8 digits: 0.1 to 3e-6 (measured).
    assert distance(fixed, one) == pytest.approx(0.1 * distance(fixed, 0), rel=1e-5)
    diag = runs["GD, diagonal preconditioner"].loss
    assert round(diag[0]) == 104 and round(diag[one]) == 63  # 103.77, 62.64
    # "The fixed P = H⁻¹ is below loss 10⁻⁶ after 5 steps. The diagonal preconditioner needs
    # 259 steps, plain GD 363."
    assert steps_to(fixed.loss) == five == 5
    assert steps_to(diag) == 259 and gd_rotated == 363
