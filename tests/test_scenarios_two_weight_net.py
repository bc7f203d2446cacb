"""The bundled two_weight_net scenario shows what its captions claim (docs/phenomena.md 18).

Every number asserted here was measured on the replay first and follows from the physics named
in the test's docstring; the measured values are quoted next to each bound.
"""

from __future__ import annotations

import math

import builders
import numpy as np
import pytest
import torch
from analytic_replays import critical, hessian_eigenvalues, replay, surface_of
from captions import says

from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario, parse_scenario


def balancedness(a) -> np.ndarray:
    return a.x**2 - a.y**2


def test_two_weight_net_valley_saddle_and_balancedness():
    """PHENOMENA 18: GD reaches w₁w₂ = 1 from every start off the line w₁ = −w₂ (the saddle's
    stable set), which leads into the saddle (loss 1). Each step multiplies w₁² − w₂² by exactly
    1 − 4η²(w₁w₂ − 1)², so |w₁² − w₂²| never grows and a small, nearly balanced start ends near
    |w₁| = |w₂| (measured (1.0041, 0.9959))."""
    result = replay("two_weight_net")
    for run in result.scenario.runs:
        a = result.runs[run.name]
        residual = a.x * a.y - 1
        d = balancedness(a)
        np.testing.assert_allclose(
            d[1:], d[:-1] * (1 - 4 * run.lr**2 * residual[:-1] ** 2), rtol=0, atol=1e-12
        )
        assert np.all(np.abs(d[1:]) <= np.abs(d[:-1]) + 1e-12)
        if run.start[0] == -run.start[1]:
            assert np.all(a.x == -a.y)  # never leaves the stable line
            # at the saddle (0, 0): measured |loss − 1| = 0 and |w| ≤ 1.4e-14
            assert abs(a.loss[-1] - 1) < 1e-12 and max(abs(a.x[-1]), abs(a.y[-1])) < 1e-6
        else:
            assert abs(residual[-1]) < 1e-4, run.name  # measured < 1e-15
    small = result.runs["Small, nearly balanced"]
    gap = abs(abs(small.x[-1]) - abs(small.y[-1]))
    assert gap <= abs(balancedness(small)[0]) / 2 and gap < 0.01  # measured 0.0083

    # Each caption at its own step (read from the timeline).
    scenario = result.scenario
    start, on_valley, into_saddle, slides, ends = (event.at for event in scenario.timeline)
    # "Minima: the whole hyperbola w₁w₂ = 1. The origin is a saddle." (Hessian eigenvalues ±2)
    assert start == 0 and critical(scenario, "saddle") == [(0.0, 0.0)]
    np.testing.assert_allclose(hessian_eigenvalues(scenario, (0.0, 0.0)), [-2, 2], atol=1e-12)
    surface, params = surface_of(scenario)
    w1 = torch.tensor([-3.0, -1.0, -0.2, 0.2, 1.0, 3.0], dtype=torch.float64)  # both branches
    on_hyperbola = torch.stack([w1, 1 / w1], 1)
    assert float(surface.fn(on_hyperbola, params).abs().max()) < 1e-12
    # "The unbalanced start is on the hyperbola already, with w₁ = 4.2 × w₂, where it stays."
    unbalanced = result.runs["Unbalanced"]
    ratio = unbalanced.x / unbalanced.y
    assert abs(unbalanced.x[on_valley] * unbalanced.y[on_valley] - 1) < 0.01  # 0.0028
    assert round(ratio[on_valley], 1) == round(ratio[-1], 1) == 4.2  # 4.200, 4.189
    says(scenario, on_valley, "4.2")
    # "On the line w₁ = −w₂ the gradient points at the saddle; the run just off it follows."
    # Both are within 0.1 of the origin here (0.06 and 0.09, the closest the second comes).
    on, off = result.runs["On the line w₁ = −w₂"], result.runs["Just off that line"]
    radius = np.hypot(off.x, off.y)
    assert math.hypot(on.x[into_saddle], on.y[into_saddle]) < 0.1
    assert radius[into_saddle] < 0.1 and abs(int(np.argmin(radius)) - into_saddle) <= 2
    assert off.loss[into_saddle] > 0.98  # it lingers at the saddle's loss 1
    # "The run just off the line slides away towards the minima; the one on it stays at loss 1."
    assert np.all(np.diff(off.loss[into_saddle:]) < 0) and off.loss[slides] < 0.9  # 0.88
    assert np.all(off.x[slides:] * off.y[slides:] > 0) and round(on.loss[slides], 3) == 1
    # "The small, nearly balanced start ends at (1.004, 0.996): |w₁| ≈ |w₂|."
    assert (round(small.x[ends], 3), round(small.y[ends], 3)) == (1.004, 0.996)
    assert np.abs(np.diff(small.x[ends:])).max() < 1e-4  # it has stopped
    says(scenario, ends, "(1.004, 0.996)")


def test_two_weight_net_balancedness_drift_is_order_eta():
    """The relative drift of w₁² − w₂² is ≈ 4η·∫(w₁w₂ − 1)² dt over gradient-flow time t.

    So halving η halves it. Measured C = |ΔD|/(η·|D₀|) at η = 0.05 and 0.025: 3.49 and 3.56
    (small, nearly balanced), 0.197 and 0.174 (unbalanced), 1.04 and 0.98 (other branch), 8.12
    and 8.94 (just off the saddle line, which lingers where (w₁w₂ − 1)² ≈ 1).
    """
    scenario = load_scenario(find_scenario("two_weight_net"))
    half = scenario.model_copy(
        update={
            "steps": 2 * scenario.steps,
            "runs": tuple(r.model_copy(update={"lr": r.lr / 2}) for r in scenario.runs),
        }
    )
    full_result, half_result = replay(scenario), replay(half)
    for run in scenario.runs:
        d_full = balancedness(full_result.runs[run.name])
        d_half = balancedness(half_result.runs[run.name])
        if d_full[0] == 0:
            assert np.all(d_full == 0) and np.all(d_half == 0)
            continue
        # |ΔD| ≤ C·η·|D₀| with the same C at both step sizes (to O(η)): halving η halves the drift.
        c_full = abs(d_full[-1] - d_full[0]) / (run.lr * abs(d_full[0]))
        c_half = abs(d_half[-1] - d_half[0]) / (run.lr / 2 * abs(d_half[0]))
        assert abs(c_full / c_half - 1) < 0.15, (run.name, c_full, c_half)


@pytest.mark.slow
def test_two_weight_net_grid_of_starts():
    """GD (η = 0.05) from a 4 × 4 grid of starts in [−1.5, 1.5]²: the four on w₁ = −w₂ end at
    the saddle, the twelve others at w₁w₂ = 1, on the branch of the start's larger weight (the
    sign of w₁² − w₂² never changes, so the larger weight never crosses 0)."""
    grid = (-1.5, -0.5, 0.5, 1.5)
    runs = [builders.run(f"{x} {y}", lr=0.05, start=[x, y]) for x in grid for y in grid]
    text = builders.analytic_toml("two_weight_net", runs=runs, title="grid", steps=300)
    result = replay(parse_scenario(text))
    for run in result.scenario.runs:
        a = result.runs[run.name]
        x0, y0 = run.start
        if x0 == -y0:
            assert abs(a.loss[-1] - 1) < 1e-12 and max(abs(a.x[-1]), abs(a.y[-1])) < 1e-6
        else:
            assert abs(a.x[-1] * a.y[-1] - 1) < 1e-4, run.name  # measured < 1e-15
            larger = x0 if abs(x0) > abs(y0) else y0 if abs(y0) > abs(x0) else x0
            assert np.sign(a.x[-1]) == np.sign(larger), run.name
