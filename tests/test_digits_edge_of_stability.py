"""PHENOMENA 2, edge of stability on real images, asserted on the bundled scenario
`digits_edge_of_stability`: full-batch GD on a small cnn (1,898 weights) fitting 256 of the 8×8
handwritten digits with MSE on one-hot targets (issue 20).

Measured on seed 0 (the file's), λ_max every 20 steps, on two machines whose float32 kernels
differ (an AVX-512 Xeon, then an AVX-512 + AMX one; "A / B" below where they differ):
- η = 0.3 (2/η = 6.67): λ_max 6.21 at step 0 falls with the loss to 4.92 at step 280, then
  climbs steadily (progressive sharpening), first ≥ 2/η at step 800 (6.69), overshoots to 7.21
  at 940; the loss jumps 0.0369 → 0.0541 (steps 940-954) / 0.0363 → 0.0550 (940-959) and λ_max
  drops to 6.26 / 6.54 at 960 (B: 6.17 at 980), then climbs again (7.02 / 6.99 at 1200). Median
  over the last half 0.99 × 2/η.
- η = 0.6 (2/η = 3.33): λ_max 6.21 → 3.11 at step 20, then cycles around the line (3.00-3.87),
  median over the last half 1.03 × 2/η; the loss rises on 38.5 % / 40.2 % of the second half's
  steps.
- Final / initial loss 0.120 (η = 0.3) and 0.086 / 0.087 (η = 0.6).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captions import says

import sandbox
from sandbox.resources import find_scenario

SLOW, FAST = "η = 0.3, 2/η = 6.7", "η = 0.6, 2/η = 3.3"
# Timeline captions, by index: the start, η = 0.6 pushed down, η = 0.3 at its lowest, η = 0.3
# reaches its line, the overshoot and both hovering.
PUSHED_DOWN, LOWEST, REACHES, HOVERING = 1, 2, 3, 4

# Every test here shares one replay (measured ~90 s on one thread of this 2-core machine,
# the Hessian slice at the final weights included).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker: a small network is slower on two busy threads
    try:
        out = tmp_path_factory.mktemp("digits_eos") / "out"
        yield sandbox.replay(find_scenario("digits_edge_of_stability"), out)
    finally:
        torch.set_num_threads(threads)


def sharpness_series(arrays) -> tuple[np.ndarray, np.ndarray]:
    known = ~np.isnan(arrays.sharpness)
    return arrays.step[known].astype(int), arrays.sharpness[known]


def at(result, index: int) -> int:
    return result.scenario.timeline[index].at


def lam_at(result, name: str, step: int) -> float:
    steps, lam = sharpness_series(result.runs[name])
    return float(lam[steps == step][0])


def test_scenario_is_full_batch_gd_on_a_cnn_on_real_digits(result):
    land = result.scenario.landscape
    assert land.model.kind == "cnn" and land.data.name == "digits" and land.loss == "mse"
    for run in result.scenario.runs:
        assert run.optimizer == "gd" and run.batch_size is None and not run.momentum
        assert run.schedule.kind == "constant" and run.sharpness_every == 20
    for entry in result.summary["runs"]:
        assert not entry["diverged"] and entry["steps_done"] == result.scenario.steps


@pytest.mark.parametrize("name", [SLOW, FAST])
def test_median_sharpness_over_the_last_half_is_two_over_eta(result, name):
    """PHENOMENA 2: median λ_max over the last half within ±15 % of 2/η (measured 0.99, 1.03)."""
    run = next(r for r in result.scenario.runs if r.name == name)
    steps, lam = sharpness_series(result.runs[name])
    late = steps >= result.scenario.steps / 2
    assert abs(float(np.median(lam[late])) * run.lr / 2 - 1) <= 0.15
    hovering = steps >= at(result, HOVERING)  # the caption "both runs now hover"
    assert abs(float(np.median(lam[hovering])) * run.lr / 2 - 1) <= 0.15


def test_loss_ends_well_below_its_start_and_rises_on_many_steps_at_the_fast_rate(result):
    half = result.scenario.steps // 2
    for name in (SLOW, FAST):
        loss = result.runs[name].loss
        assert loss[-1] < 0.2 * loss[0], name  # measured 0.120 and 0.086 (0.087 on AMX)
    # η = 0.6 bounces across the sharpest direction: rises on 38.5 % (40.2 % on AMX) of the
    # second half's steps.
    rises = float(np.mean(np.diff(result.runs[FAST].loss[half:]) > 0))
    assert rises >= 0.2, rises
    # η = 0.3's loss falls smoothly between its spikes (3.8 %): the signature's "noticeable
    # fraction" holds for the faster rate only.


def test_start_and_push_down_captions(result):
    """ "λmax starts near 6.2 ... below 6.7 ... far above 3.3"; "η = 0.6: in 20 steps GD pushed
    λmax from 6.2 down to 3.1, just under its line 3.3"."""
    for name in (SLOW, FAST):
        assert round(lam_at(result, name, 0), 1) == 6.2
    assert at(result, PUSHED_DOWN) == 20
    pushed = lam_at(result, FAST, 20)
    assert round(pushed, 1) == 3.1 and pushed < 2 / 0.6


def test_progressive_sharpening_captions(result):
    """ "η = 0.3: λmax fell too, to 4.9. From here it climbs while the loss keeps falling";
    "η = 0.3 reaches its line, 2/η = 6.7" at its step, not before."""
    steps, lam = sharpness_series(result.runs[SLOW])
    lowest = at(result, LOWEST)
    assert steps[lam.argmin()] == lowest and round(float(lam.min()), 1) == 4.9
    climbing = (steps >= lowest) & (steps <= at(result, REACHES))
    assert np.all(np.diff(lam[climbing]) > 0)  # every estimate higher than the one before
    loss = result.runs[SLOW].loss[lowest : at(result, REACHES) + 1]
    assert np.all(np.diff(loss) < 0)  # and the loss falls on every step meanwhile
    line = 2 / 0.3
    assert steps[lam >= line][0] == at(result, REACHES)
    fast_steps, fast_lam = sharpness_series(result.runs[FAST])
    now = (fast_steps >= at(result, PUSHED_DOWN)) & (fast_steps <= at(result, REACHES))
    assert np.all(np.abs(fast_lam[now] * 0.6 / 2 - 1) <= 0.2)  # "hovers around its own"


def test_overshoot_caption(result):
    """ "η = 0.3 overshot to λmax = 7.2 at step 940; its loss jumped by half (from under 0.04 to
    over 0.05) and the jump knocked λmax back below its line"."""
    says(result.scenario, at(result, HOVERING), "7.2 at step 940", "under 0.04 to over 0.05")
    says(result.scenario, at(result, HOVERING), "back below its line")
    steps, lam = sharpness_series(result.runs[SLOW])
    before = steps < at(result, HOVERING)
    assert steps[before][lam[before].argmax()] == 940 and round(float(lam.max()), 1) == 7.2
    # The spike differs in detail between machines (float32 kernels drift over 940 steps), so the
    # caption states bounds that both meet: 0.0369 → 0.0541 on the AVX-512 machine, 0.0363 →
    # 0.0550 on the AMX one (margins ≥ 0.003 and ≥ 0.004); "by half": ratio 1.47 and 1.52.
    loss = result.runs[SLOW].loss
    assert loss[940] < 0.04 and loss[940:960].max() > 0.05, (loss[940], loss[940:960].max())
    assert loss[940:960].max() / loss[940] == pytest.approx(1.5, abs=0.05)
    # "back below its line" at the caption's step: 6.26 and 6.54 against 2/η = 6.67.
    assert lam_at(result, SLOW, at(result, HOVERING)) < 2 / 0.3
    # ... "while the loss keeps falling": the last 100 steps lie below the 100 after the caption
    hover = at(result, HOVERING)
    for name in (SLOW, FAST):
        tail, after = result.runs[name].loss[-100:], result.runs[name].loss[hover : hover + 100]
        assert tail.mean() < after.mean(), name
