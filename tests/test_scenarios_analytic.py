"""The bundled analytic scenarios of docs/phenomena.md 6 show what their captions claim: Himmelblau,
Rosenbrock, Rastrigin and the plateau (PHENOMENA 7, 8 and 18: test_scenarios_sharp_flat.py,
test_scenarios_adaptive.py, test_scenarios_two_weight_net.py).

Every number asserted here was measured on the replay first and follows from the physics named
in the test's docstring; the measured values are quoted next to each bound.
"""

from __future__ import annotations

import math

import builders
import numpy as np
import pytest
from analytic_replays import critical, first, hessian_eigenvalues, minima, replay
from captions import says

from sandbox.cli import main as cli_main
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario, parse_scenario

NEW_SCENARIOS = (
    "himmelblau",
    "rosenbrock",
    "rastrigin",
    "plateau",
    "sharp_vs_flat",
    "adaptive_steps",
    "two_weight_net",
)


@pytest.mark.parametrize("name", NEW_SCENARIOS)
def test_new_scenarios_are_valid(name):
    assert cli_main(["check", str(find_scenario(name))]) == 0
    scenario = load_scenario(find_scenario(name))
    assert scenario.description and len(scenario.runs) >= 3 and len(scenario.timeline) >= 3
    assert all(0 <= event.at <= scenario.steps for event in scenario.timeline)
    assert find_scenario(name).read_text(encoding="utf-8").startswith("# ")


def test_himmelblau_four_quadrants_four_minima():
    """PHENOMENA 6: four identical GD runs, one start per quadrant, end in four distinct minima."""
    result = replay("himmelblau")
    listed = minima(result.scenario)
    reached = []
    for run in result.scenario.runs:
        a = result.runs[run.name]
        distances = [math.hypot(a.x[-1] - mx, a.y[-1] - my) for mx, my in listed]
        nearest = int(np.argmin(distances))
        assert distances[nearest] < 1e-3, (run.name, distances)  # measured: < 1e-15
        # ... and it is the minimum of the start's own quadrant.
        assert np.sign(listed[nearest]).tolist() == np.sign(run.start).tolist()
        assert a.loss[-1] < 1e-12
        reached.append(nearest)
    assert sorted(reached) == [0, 1, 2, 3]

    # The description: four starts "at (±1, ±1), one in each quadrant around a hill near the
    # centre" (the maximum at (-0.27, -0.92), inside the square of the starts).
    ((hill_x, hill_y),) = critical(result.scenario, "max")
    assert abs(hill_x) < 1 and abs(hill_y) < 1
    assert sorted(run.start for run in result.scenario.runs) == [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    # Each caption at its own step (read from the timeline).
    start, rolled, arrived = (event.at for event in result.scenario.timeline)
    assert start == 0 and len({run.lr for run in result.scenario.runs}) == 1
    for run, nearest in zip(result.scenario.runs, reached, strict=True):
        a = result.runs[run.name]
        mx, my = listed[nearest]
        # "Each rolls downhill into the valley on its own side of the central hill." (its loss
        # falls at every step; within 0.16 of its minimum here)
        assert np.all(np.diff(a.loss[: rolled + 1]) < 0)
        assert math.hypot(a.x[rolled] - mx, a.y[rolled] - my) < 0.2
        # "Four starts, four different minima, all at loss 0." (each within 2e-4 of its
        # minimum, loss 2.7e-6 at most)
        assert math.hypot(a.x[arrived] - mx, a.y[arrived] - my) < 1e-3
        assert a.loss[arrived] < 1e-5


def test_rosenbrock_gd_crawls_momentum_and_adam_arrive():
    """PHENOMENA 6: GD reaches the canyon floor at once, then crawls; momentum and Adam arrive.

    GD's step (0.001) is set by the walls (λ_max ≈ 1000 at the minimum, 2/λ ≈ 0.002), so along the
    floor (curvature ≈ 0.4 at the minimum) it is tiny. Measured distance to (1, 1) after 1500
    steps: GD 0.757, momentum 1.4e-3, Adam 4.0e-5.
    """
    result = replay("rosenbrock")
    (target,) = minima(result.scenario)
    assert target == (1.0, 1.0)
    lam_max = hessian_eigenvalues(result.scenario, target).max()
    assert result.scenario.runs[0].lr < 2 / lam_max
    runs = result.runs
    dist = {k: np.hypot(a.x - 1, a.y - 1) for k, a in runs.items()}
    gd = runs["GD"]
    floor_gap = np.abs(gd.y - gd.x**2)
    assert floor_gap[0] > 0.4 and np.all(floor_gap[10:] < 0.01)  # measured max 0.0081
    assert np.all(np.diff(gd.loss) <= 0)
    assert dist["Adam"][-1] < dist["Momentum"][-1] < 0.01 < 0.5 < dist["GD"][-1]
    # The description: "it curves 2500 times more sharply across than along" (2508), "the
    # walls' limit (about 2/1000)" (λ_max 1001.6), momentum has "the same step, β = 0.9".
    low, high = sorted(hessian_eigenvalues(result.scenario, target))
    assert round(high / low, -2) == 2500 and round(high, -2) == 1000
    gd_run, momentum_run, _ = result.scenario.runs
    assert momentum_run.lr == gd_run.lr and momentum_run.momentum == 0.9

    # Each caption at its own step (read from the timeline).
    start, floor, past_bend, adam_bend, almost, end = (e.at for e in result.scenario.timeline)
    # "Three optimisers start on the banana's left arm; the minimum is at (1, 1)."
    assert all(run.start[0] < 0 for run in result.scenario.runs) and start == 0
    # "GD is on the canyon floor after ten steps. From here on it crawls.": within 0.01 of the
    # floor y = x² (above), and every later step is a hundredth of its first ones (0.0022 at
    # most, against 0.23).
    steps = np.hypot(np.diff(gd.x), np.diff(gd.y))
    assert floor == 10 and steps[floor:].max() < steps[:floor].max() / 100
    # "Momentum has sped along the floor, past the bend at the origin: it is at x = 0.62."
    # (it crosses x = 0 at step 39; GD has moved 0.07 by then)
    momentum, adam = runs["Momentum"], runs["Adam"]
    assert first(momentum.x > 0) < past_bend and round(momentum.x[past_bend], 2) == 0.62
    assert abs(momentum.y[past_bend] - momentum.x[past_bend] ** 2) < 0.01  # on the floor: 0.002
    says(result.scenario, past_bend, "x = 0.62")
    # "Adam rounds the bend at the origin." (0.0014 from it; it crosses x = 0 exactly here)
    assert math.hypot(adam.x[adam_bend], adam.y[adam_bend]) < 0.01
    assert first(adam.x > 0) == adam_bend
    # "Momentum and Adam are within 0.02 of (1, 1). GD is 1.1 away, half of its start
    # distance." (0.011, 0.008; 1.12 of 2.2)
    assert dist["Momentum"][almost] < 0.02 and dist["Adam"][almost] < 0.02
    assert (
        round(dist["GD"][almost], 1) == 1.1 and round(dist["GD"][almost] / dist["GD"][0], 1) == 0.5
    )
    says(result.scenario, almost, "within 0.02", "1.1 away")
    # "GD is still 0.76 from the minimum: the steep walls keep its steps tiny."
    assert end == result.scenario.steps and round(dist["GD"][end], 2) == 0.76
    says(result.scenario, end, "0.76")


def test_rastrigin_small_step_trapped_large_cooled_step_goes_lower():
    """PHENOMENA 6: small-step GD stops in the dent nearest its start; a large step cannot rest
    in any dent (η·λ ≈ 8 > 2) and rattles; cooled (cosine), it settles at the global minimum."""
    result = replay("rastrigin")
    small = result.runs["GD, small step"]
    hot = result.runs["GD, large step"]
    cooled = result.runs["GD, large step, cooled"]
    # The curvature of the dent small-step GD rests in (≈ 2 + 4π²A ≈ 397; every dent's is close).
    lam = float(hessian_eigenvalues(result.scenario, (small.x[-1], small.y[-1])).min())
    assert 390 < lam < 400
    # Small step: a true local minimum (zero gradient) next to its start, loss 7.96.
    assert small.grad_norm[-1] < 1e-8
    assert math.hypot(small.x[-1] - 2, small.y[-1] + 2) < 0.05
    assert abs(small.loss[-1] - 7.96) < 0.005 and abs(small.loss[20] - 7.96) < 0.005
    # Large constant step: never at rest (measured min |g| over the last 100 steps: 5.2).
    assert 0.02 * lam > 2 and hot.grad_norm[-100:].min() > 1
    # Cooled: its lr has fallen below 2/λ (and 2/400) by the caption at step 405, and it then
    # settles in the global minimum (measured loss 0 at step 450).
    assert 395 <= first(cooled.lr < 2 / lam) <= 405 and cooled.lr[405] < 2 / 400
    assert cooled.loss[450] < 1e-6 and cooled.loss[-1] < 1e-12 and cooled.grad_norm[-1] < 1e-8

    # Each caption at its own step (read from the timeline).
    start, trapped, rattle, slow_enough, settled = (event.at for event in result.scenario.timeline)
    # "Three GD runs from the same start. Only the step size (and its schedule) differs."
    runs = result.scenario.runs
    assert start == 0 and {(run.optimizer, run.start) for run in runs} == {("gd", (2.2, -1.6))}
    assert [(run.lr, run.schedule.kind) for run in runs] == [
        (0.001, "constant"),
        (0.02, "constant"),
        (0.02, "cosine"),
    ]
    # "Small steps: trapped in the nearest dent, loss 7.96."
    assert round(small.loss[trapped], 2) == 7.96 and small.grad_norm[trapped] < 0.1  # 0.036
    says(result.scenario, trapped, "7.96")
    # "Large steps cannot rest in any dent: both large-step runs rattle across the crate." From
    # step 20 to the caption each visits 18 (cooled: 21) dents (nearest integer points).
    for a in (hot, cooled):
        assert len(dents(a, trapped, rattle)) >= 10 and a.grad_norm[rattle] > 10  # 73, 88
    # "The cooled step is now below 2/400: that run can settle in the dent it is in." It is in
    # the centre's dent (0, 0) from here on.
    assert cooled.lr[slow_enough] < 2 / 400 <= cooled.lr[slow_enough - 5]
    assert dents(cooled, slow_enough, len(cooled.x) - 1) == {(0, 0)}
    says(result.scenario, slow_enough, "2/400")
    # "It has settled at the global minimum. The uncooled run is still rattling." (the uncooled
    # run crosses 5 dents between the two captions and has gradient 57 here)
    assert (cooled.x[settled], cooled.y[settled]) == pytest.approx((0, 0), abs=1e-6)
    assert len(dents(hot, slow_enough, settled)) >= 3 and hot.grad_norm[settled] > 10


def dents(a, begin: int, end: int) -> set[tuple[int, int]]:
    """The Rastrigin dents (nearest integer points) a run visits from step `begin` to `end`."""
    x, y = np.rint(a.x[begin : end + 1]).astype(int), np.rint(a.y[begin : end + 1]).astype(int)
    return set(zip(x.tolist(), y.tolist(), strict=True))


@pytest.mark.slow
def test_rastrigin_cooled_large_steps_end_lower():
    """Every cooled step from 0.015 to 0.06 ends in a lower minimum than small-step GD (7.96).

    Measured final losses: 0.00, 0.00, 1.99, 1.99, 0.99 (which dent depends on η). Steps of 0.006
    and 0.01, although η·λ > 2, stay trapped in the starting dent (bounded oscillation in it), so
    this is asserted only from 0.015 on; steps ≤ 0.004 stay in the starting dent too.
    """
    base = (find_scenario("rastrigin")).read_text(encoding="utf-8").split("[[runs]]")[0]
    cooled = (0.015, 0.02, 0.03, 0.04, 0.06)
    small = (0.001, 0.002, 0.004)
    start = [2.2, -1.6]
    runs = [
        builders.run(f"cooled {lr}", lr=lr, schedule={"kind": "cosine"}, start=start)
        for lr in cooled
    ]
    runs += [builders.run(f"small {lr}", lr=lr, start=start) for lr in small]
    text = base + "".join(builders.table("[[runs]]", keys) for keys in runs)
    result = replay(parse_scenario(text))
    for lr in small:
        a = result.runs[f"small {lr}"]
        # measured loss 7.9597 and |g| ≤ 1.1e-13 for all three: a dent's bottom, at rest
        assert abs(a.loss[-1] - 7.96) < 0.005 and a.grad_norm[-1] < 1e-8
    for lr in cooled:
        a = result.runs[f"cooled {lr}"]
        assert a.grad_norm[-1] < 1e-8, lr  # at rest in a local minimum (measured ≤ 2.8e-14) ...
        assert a.loss[-1] < 7.96 - 2.5, lr  # ... at least one dent lower (measured ≤ 1.99)


def gradient_flow_time(r0: float, width: float) -> float:
    """Gradient-flow time from radius r0 to the half-depth circle f = ½ on the plateau.

    ṙ = −f'(r) = −r/w²·exp(−r²/2w²), so T = ∫ w²·exp(r²/2w²)/r dr from r_½ = w√(2 ln 2) to r0.
    """
    r = np.linspace(width * math.sqrt(2 * math.log(2)), r0, 200_001)
    integrand = width**2 * np.exp(r**2 / (2 * width**2)) / r
    return float(np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(r)))


def test_plateau_steps_to_leave_grow_as_gradient_shrinks():
    """PHENOMENA 6: the farther out on the plateau, the smaller the gradient and the longer GD
    needs to leave it (first step with loss < ½): 3, 7, 19, 61, 278 steps for r = 1 … 2.

    The counts follow the gradient-flow time T(r0)/η, which grows like exp(r0²/2w²): GD needs at
    least T/η (Euler lags on the concave plateau), and within 25 % of it (1.2 % for r = 2).
    """
    result = replay("plateau")
    width = result.scenario.landscape.params["width"]
    starts = [math.hypot(*run.start) for run in result.scenario.runs]
    assert starts == pytest.approx([1, 1.25, 1.5, 1.75, 2], abs=1e-6)  # the description's
    grad0 = [result.runs[run.name].grad_norm[0] for run in result.scenario.runs]
    leave = [first(result.runs[run.name].loss < 0.5) for run in result.scenario.runs]
    assert np.all(np.diff(grad0) < 0) and np.all(np.diff(leave) > 0)
    assert leave == [3, 7, 19, 61, 278]  # the captions' numbers
    # ... each caption shown at the step it names: r = 1 (3), 1.5 (19), 1.75 (61), 2 (278).
    _, *ats = (event.at for event in result.scenario.timeline)
    assert ats == [leave[0], leave[2], leave[3], leave[4]]
    for step, r in zip(ats, ("r = 1", "r = 1.5", "r = 1.75", "r = 2"), strict=True):
        says(result.scenario, step, r, *([str(step)] if step > 3 else []))
    says(result.scenario, ats[-1], "200 times")
    assert grad0[0] / grad0[-1] == pytest.approx(math.exp(6) / 2, rel=1e-6)  # "200 times"
    for run, r0, steps in zip(result.scenario.runs, starts, leave, strict=True):
        predicted = gradient_flow_time(r0, width) / run.lr
        assert predicted <= steps <= 1.25 * predicted, (r0, steps, predicted)
    assert leave[-1] / (gradient_flow_time(starts[-1], width) / result.scenario.runs[-1].lr) < 1.02
    for run in result.scenario.runs:
        assert result.runs[run.name].loss[-1] < 1e-12
