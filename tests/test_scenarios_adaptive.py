"""The bundled adaptive_steps scenario shows what its captions claim (docs/phenomena.md 8).

Every number asserted here was measured on the replay first and follows from the physics named
in the test's docstring; the measured values are quoted next to each bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from analytic_replays import first, gradients, minima, replay, surface_of

from sandbox.catalogue import optimizers
from sandbox.landscape.analytic import SURFACES


def test_adaptive_steps_adagrad_stalls_rmsprop_and_adam_arrive():
    """PHENOMENA 8: AdaGrad's effective x-step η/√G falls monotonically (G = Σ g², 93 % of it
    from the cliff) and it ends 73 % of its start distance away; RMSprop (within 0.1 by step
    266) and Adam (by 650) reach the minimum; RMSprop's effective step η/√v grows back."""
    result = replay("adaptive_steps")
    scenario = result.scenario
    (target,) = minima(scenario)
    start = scenario.runs[0].start
    d0 = math.hypot(start[0] - target[0], start[1] - target[1])
    assert round(d0, 1) == 11.5  # the description: "the minimum, 11.5 units away"
    # The header: "a gentle slope (0.05) to the minimum at x = 10"; the first caption: "Same
    # step size η = 0.2. The minimum is at the far end of the valley, x = 10."
    assert surface_of(scenario)[1]["slope"] == 0.05 and target[0] == 10
    assert {run.lr for run in scenario.runs} == {0.2}
    units = {k: np.hypot(a.x - target[0], a.y - target[1]) for k, a in result.runs.items()}
    dist = {k: d / d0 for k, d in units.items()}
    assert dist["AdaGrad"][-1] > 0.5  # measured 0.735: "three quarters of the way to go"
    assert dist["RMSprop"][-1] < 0.05 and dist["Adam"][-1] < 0.05  # measured 0.008, 8e-10
    # Each caption at its own step (read from the timeline). "At the minimum" means within 0.1
    # of it (1 % of the way).
    _, foot, rmsprop_there, adam_there, end = (event.at for event in scenario.timeline)
    # "All three have reached the foot of the cliff (x = 0). Its gradients, 100 times the
    # valley's, are now in every memory." (AdaGrad, the last, crosses x = 0 at step 23.)
    slope = SURFACES["steep_valley"].defaults["slope"]
    for name, a in result.runs.items():
        assert a.x[foot] > 0, name
        assert 95 < abs(gradients(scenario, a)[0, 0]) / slope < 105  # 100.7
    assert result.runs["AdaGrad"].x[foot - 5] < 0
    # "RMSprop's average has forgotten the cliff (≈ 100 steps): it has reached the minimum. Its
    # steps stay large there, so now and then it jumps across the valley."
    rms = next(run for run in scenario.runs if run.name == "RMSprop")
    assert 1 / (1 - rms.alpha) == pytest.approx(100)
    assert first(units["RMSprop"] < 0.1) <= rmsprop_there  # 266
    a = result.runs["RMSprop"]
    assert np.all(np.abs(a.x[rmsprop_there:] - target[0]) < 0.1)
    assert np.abs(a.y[rmsprop_there:]).max() > 0.3  # 0.47: the jumps across the valley
    # "Adam's memory is longer (≈ 1000 steps), but it arrives too." It stays there.
    adam = next(run for run in scenario.runs if run.name == "Adam")
    betas = adam.betas or optimizers.default("adam", "betas")  # the file leaves adam's own
    assert 1 / (1 - betas[1]) == pytest.approx(1000)
    assert first(units["Adam"] < 0.1) <= adam_there  # 650
    assert units["Adam"][adam_there:].max() < 0.1
    assert first(units["Adam"] < 0.1) > rmsprop_there
    # "AdaGrad never forgets: its step has only shrunk. Three quarters of the way to go."
    assert 0.7 < dist["AdaGrad"][end] < 0.8  # 0.735
    assert units["AdaGrad"].min() > 8  # 8.47: it never gets near

    effective, gx = adagrad_effective_steps(scenario, result.runs["AdaGrad"])
    assert np.all(np.diff(effective) < 0)  # only ever falls
    cliff = np.abs(gx) > 1
    assert (gx[cliff] ** 2).sum() / (gx**2).sum() > 0.9  # measured 0.93
    assert effective[-1] < effective[0] / 4  # measured 0.0397 -> 0.0088

    # RMSprop's average forgets: its effective step η/√v grows again in the valley.
    rms_effective = rmsprop_effective_steps(scenario, result.runs["RMSprop"])
    assert rms_effective[200] > 100 * effective[200]  # measured 1.04 vs 0.0089


def adagrad_effective_steps(scenario, adagrad) -> tuple[np.ndarray, np.ndarray]:
    """AdaGrad's effective x-step η/(√G + ε) at every step, G = Σ g², and the x-gradients g.

    The steps the run took must be these to float64 rounding (rtol 1e-9; measured 2e-13), and
    its recorded gradient norms those of the exact surface (rtol 1e-12; measured 4e-16)."""
    lr, eps = scenario.runs[0].lr, scenario.runs[0].eps
    grad = gradients(scenario, adagrad)
    np.testing.assert_allclose(np.hypot(*grad.T), adagrad.grad_norm, rtol=1e-12)
    gx = grad[:, 0]
    effective = lr / (np.sqrt(np.cumsum(gx**2)) + eps)
    measured = np.abs(np.diff(adagrad.x)) / np.abs(gx[:-1])  # the step it actually took
    np.testing.assert_allclose(measured, effective[:-1], rtol=1e-9)
    return effective, gx


def rmsprop_effective_steps(scenario, rmsprop) -> np.ndarray:
    """RMSprop's effective x-step η/(√v + ε), v the running average of g², at every step.

    Where the run moves (|g| > 1e-3) the steps it took must be these to float64 rounding (rtol
    1e-9; measured 4e-13)."""
    run = next(r for r in scenario.runs if r.name == "RMSprop")
    g = gradients(scenario, rmsprop)[:, 0]
    v = np.zeros_like(g)
    avg = 0.0
    for k, gk in enumerate(g):
        avg = run.alpha * avg + (1 - run.alpha) * gk**2
        v[k] = avg
    rms_effective = run.lr / (np.sqrt(v) + run.eps)
    moving = np.abs(g[:-1]) > 1e-3
    np.testing.assert_allclose(
        (np.abs(np.diff(rmsprop.x)) / np.abs(g[:-1]))[moving],
        rms_effective[:-1][moving],
        rtol=1e-9,
    )
    return rms_effective
