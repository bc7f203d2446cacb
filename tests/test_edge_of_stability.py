"""PHENOMENA 2, edge of stability, asserted on the bundled scenario `edge_of_stability`.

Full-batch GD on a small tanh MLP (MSE loss). For each run, with 2/η its stability line:
- progressive sharpening: the first λ_max estimate is below half of 2/η, and λ_max then climbs
  to 2/η before the caption that says so;
- edge of stability: over the last half of the run the median λ_max is within ±15 % of 2/η;
- the loss is not monotone (it rises on a good fraction of the second half's steps) yet ends
  well below its start, and keeps falling after the sharpness has reached 2/η.
Measured on seed 3 (the file's): median λ_max / (2/η) over the second half 0.99 (η = 0.05) and
1.01 (η = 0.1); loss rises on 36 % and 49 % of the second half's steps; final / initial loss
0.12 and 0.025; λ_max reaches 0.9 · 2/η at steps 540 and 220.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captions import says

import sandbox
from sandbox.resources import find_scenario

# Steps of the timeline captions, in order: start, climbing, η = 0.1 reaches its line, η = 0.05
# reaches its line, both hover (index into scenario.timeline).
CLIMBING, FAST_REACHES, SLOW_REACHES, HOVERING = 1, 2, 3, 4
FAST, SLOW = "η = 0.1, 2/η = 20", "η = 0.05, 2/η = 40"

# Every test here shares one replay of the scenario (~10-25 s; CPU time ~15 s).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("edge_of_stability") / "out"


@pytest.fixture(scope="module")
def result(out):
    # One intra-op thread: on a busy 2-core machine torch's default two threads make this
    # small network ~10x slower (measured 140 s vs 12 s); the numbers do not change.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield sandbox.replay(find_scenario("edge_of_stability"), out)
    finally:
        torch.set_num_threads(threads)


def test_the_drawn_surface_is_the_sharp_valley_at_the_final_weights(result, out):
    """Issue 16: the view is centred on the first run's final weights, so the surface drawn is
    the plane through them, not through their projection (which lay 5.2 away, in a patch with
    loss 0.98-1.16 and curvature 1-2). Its curvature along d₁ (the top Hessian eigenvector
    there) is λmax, measured by a central difference on the drawn grid (spacing span/25)."""
    surface = np.load(out / "surface.npz")
    x, y, loss = surface["x"], surface["y"], surface["loss"].astype(np.float64)
    i, j = len(y) // 2, len(x) // 2  # the centre cell (odd resolution)
    assert (x[j], y[i]) == pytest.approx(tuple(surface["center"]), abs=1e-12)
    first = result.summary["runs"][0]
    assert loss[i, j] == pytest.approx(first["final_loss"], rel=1e-5)  # the ball is on it
    assert float(surface["center_loss"]) == pytest.approx(first["final_loss"], rel=1e-5)
    h = x[1] - x[0]
    curvature = (loss[i, j + 1] - 2 * loss[i, j] + loss[i, j - 1]) / h**2
    lam = result.summary["slice"]["eigenvalues"][0]
    assert lam == pytest.approx(first["sharpness"], rel=0.02)
    assert curvature == pytest.approx(lam, rel=0.2), (curvature, lam)


def sharpness_series(arrays) -> tuple[np.ndarray, np.ndarray]:
    """Steps with a λ_max estimate, and the estimates."""
    known = ~np.isnan(arrays.sharpness)
    return arrays.step[known].astype(int), arrays.sharpness[known]


def first_reach(steps: np.ndarray, sharpness: np.ndarray, level: float) -> int:
    above = np.nonzero(sharpness >= level)[0]
    assert len(above), f"λ_max never reached {level:.3g}"
    return int(steps[above[0]])


def spikes(loss: np.ndarray, start: int, factor: float = 1.5, window: int = 50) -> int:
    """Steps from `start` on where the loss jumps above `factor` × its minimum of the last
    `window` steps (counting each jump once, at its first step)."""
    count, inside = 0, False
    for k in range(max(start, 1), len(loss)):
        high = loss[k] > factor * loss[max(0, k - window) : k].min()
        count += high and not inside
        inside = high
    return count


def test_scenario_is_full_batch_gd_on_a_tanh_mlp(result):
    scenario = result.scenario
    land = scenario.landscape
    assert land.kind == "network" and land.loss == "mse"
    assert land.model.activation == "tanh"
    assert [run.name for run in scenario.runs] == [SLOW, FAST]
    for run in scenario.runs:
        assert run.optimizer == "gd" and run.batch_size is None
        assert not run.momentum and run.noise == 0 and run.weight_decay == 0
        assert run.schedule.kind == "constant" and run.clip is None
        assert run.precondition == "none"
        assert 10 <= run.sharpness_every <= 25
    fast = next(r for r in scenario.runs if r.name == FAST)
    slow = next(r for r in scenario.runs if r.name == SLOW)
    assert fast.lr == pytest.approx(2 * slow.lr)  # 2/η twice as high for the slow run
    for entry in result.summary["runs"]:
        assert not entry["diverged"] and entry["steps_done"] == scenario.steps


@pytest.mark.parametrize("name", [SLOW, FAST])
def test_sharpness_climbs_to_two_over_eta_and_hovers(result, name):
    """PHENOMENA 2 signature, per run: λ_max starts well below 2/η, climbs to it, stays."""
    scenario = result.scenario
    run = next(r for r in scenario.runs if r.name == name)
    arrays = result.runs[name]
    line = 2 / run.lr
    steps, lam = sharpness_series(arrays)
    assert steps[0] == 0

    # Progressive sharpening: the first estimate is far below the line (measured 0.14 and 0.28).
    assert lam[0] < 0.5 * line, (lam[0], line)
    assert 5 < lam[0] < 7  # the first caption: "starts near 6" (measured 5.62)
    # It climbs to the line (0.9 · 2/η) before the caption that says it has.
    at = [event.at for event in scenario.timeline]
    reached = first_reach(steps, lam, 0.9 * line)
    assert reached <= (at[FAST_REACHES] if name == FAST else at[SLOW_REACHES]), reached
    if name == SLOW:
        # ... and not before the caption that says only η = 0.1 is there yet.
        assert reached > at[FAST_REACHES], reached

    # Edge of stability: median over the last half within ±15 % of 2/η (measured 0.99, 1.01).
    late = steps >= scenario.steps / 2
    median = float(np.median(lam[late]))
    assert abs(median / line - 1) <= 0.15, (median, line)
    # Hovering, from the "both hover" caption on: the median stays in the band too.
    hover = steps >= at[HOVERING]
    assert abs(float(np.median(lam[hover])) / line - 1) <= 0.15


@pytest.mark.parametrize("name", [SLOW, FAST])
def test_loss_falls_but_not_monotonically(result, name):
    """The loss rises on many steps of the second half yet ends well below its start."""
    scenario = result.scenario
    loss = result.runs[name].loss
    half = scenario.steps // 2
    rises = float(np.mean(np.diff(loss[half:]) > 0))
    # Measured 0.36 (η = 0.05) and 0.49 (η = 0.1): at the edge of stability GD bounces across
    # the sharpest direction, so close to every other step goes uphill. The bar is 0.15.
    assert rises >= 0.15, rises
    # Ends well below its start (measured final / initial 0.12 and 0.025).
    assert loss[-1] < 0.3 * loss[0], (loss[0], loss[-1])
    # It keeps falling while hovering at 2/η: the last 100 steps' mean is below half of the
    # mean over 100 steps from the "both hover" caption (measured 0.37 and 0.09).
    at = scenario.timeline[HOVERING].at
    assert loss[-100:].mean() < 0.5 * loss[at : at + 100].mean()


def test_loss_spikes_while_hovering(result):
    """The caption promises spikes: jumps to 1.5× the recent minimum after the hover caption
    (measured 2 for η = 0.05, 10 for η = 0.1)."""
    at = result.scenario.timeline[HOVERING].at
    counts = {name: spikes(result.runs[name].loss, at) for name in (SLOW, FAST)}
    assert sum(counts.values()) >= 2, counts
    assert counts[SLOW] >= 1, counts


def test_line_captions_at_their_steps(result):
    """The captions about each run meeting its line, each at its own step (read from the
    timeline). η = 0.1: "passed its line, 2/η = 20, and overshot to λmax ≈ 32-33; its loss
    jumped ... the jump knocked λmax back below 20" (0.9 · 20 reached at 220; the peak at 260 is
    32.8 on the earlier AVX-512 machine, 32.1 on the AMX one; the loss from 0.47 to 0.84 at 260
    there, to 5.6 at 262 here; λmax at 280 13.6 and 13.9).
    η = 0.05: "climbs to its own line, 2/η = 40" (44.5 at 600 on both). "Both hover at their
    2/η" (38.5 and 20.3 at 700; 38.0 and 20.25 on the AMX machine)."""
    scenario = result.scenario
    at = [event.at for event in scenario.timeline]
    says(scenario, at[FAST_REACHES], "2/η = 20", "λmax ≈ 32-33", "back below 20")
    fast_steps, fast_lam = sharpness_series(result.runs[FAST])
    now = fast_steps <= at[FAST_REACHES]
    reached = first_reach(fast_steps, fast_lam, 0.9 * 20)
    assert reached < at[FAST_REACHES]
    # "≈ 32-33" to the nearest unit: [31.5, 33.5). The peak is 32.8 on one machine and 32.1 on
    # the other (float32 kernels differ; the run drifts while it climbs), 0.6-0.7 inside.
    peak = fast_lam[now].max()
    assert 31.5 <= peak < 33.5 and peak > 1.5 * 20, peak
    assert fast_lam[now][-1] < 20
    loss = result.runs[FAST].loss[: at[FAST_REACHES] + 1]
    assert spikes(loss, reached) >= 1
    slow_steps, slow_lam = sharpness_series(result.runs[SLOW])
    assert abs(slow_lam[slow_steps <= at[SLOW_REACHES]][-1] / 40 - 1) <= 0.15
    for run in scenario.runs:
        steps, lam = sharpness_series(result.runs[run.name])
        assert abs(lam[steps <= at[HOVERING]][-1] / (2 / run.lr) - 1) <= 0.15, run.name


def test_climbing_caption_comes_while_sharpness_climbs(result):
    """At the "climbing" caption λ_max has risen from its start but is still below 2/η."""
    scenario = result.scenario
    at = scenario.timeline[CLIMBING].at
    assert at < scenario.timeline[FAST_REACHES].at
    for run in scenario.runs:
        steps, lam = sharpness_series(result.runs[run.name])
        now = lam[steps <= at][-1]
        assert now < 0.9 * 2 / run.lr
    fast_steps, fast_lam = sharpness_series(result.runs[FAST])
    assert fast_lam[fast_steps <= at][-1] > 1.3 * fast_lam[0]
