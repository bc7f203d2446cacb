"""Initialisation and dynamical isometry: PHENOMENA 11 on its bundled scenarios.

Each test replays bundled files (every replay must be warning-free) and asserts the signature of
its PHENOMENA entry on the replay's outputs, or through the problem API where the signature is
about gradients at one point. Every threshold was measured first; the measured value is in the
comment beside it. Where a signature as worded in docs/phenomena.md does not hold at laptop
scale, the test asserts the strongest statement that does and says so.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from captions import says
from network_replays import outputs_at, replay

from sandbox.landscape.problem import make_problem
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

GAINS = {"init_gain_1": 1.0, "init_gain_sqrt2": math.sqrt(2), "init_gain_2": 2.0}

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


def signal_ratio(norms) -> float:
    """Activation RMS of the last hidden layer over the first."""
    return norms[-1] / norms[0]


def test_orthogonal_init_gain_preserves_the_signal_only_at_sqrt2():
    """PHENOMENA 11: orthogonal init, ReLU, 30 layers: ×g/√2 per layer, preserved at g = √2."""
    results = {name: replay(name) for name in GAINS}
    ratios = {}
    for name, gain in GAINS.items():
        scenario = results[name].scenario
        model = scenario.landscape.model
        assert (model.init, model.activation, model.gain) == ("orthogonal", "relu", gain)
        norms = results[name].summary["activation_norms_at_init"]
        assert len(norms) == 30
        ratios[gain] = signal_ratio(norms)
    assert 0.5 < ratios[math.sqrt(2)] < 2  # 0.54
    # init_gain_sqrt2's first caption, at the initial weights: "After 30 layers the signal is
    # still 0.54 times its size after the first: the same scale."
    at_init, learns = (event.at for event in results["init_gain_sqrt2"].scenario.timeline)
    assert at_init == 0 and round(ratios[math.sqrt(2)], 2) == 0.54
    assert ratios[1.0] < 1e-4  # 2.3e-5; (1/√2)^29 = 4.3e-5
    assert ratios[2.0] > 1e4  # 1.25e4; √2^29 = 2.3e4
    # What the runs show: chance, training, blow-up.
    assert abs(results["init_gain_1"].runs["GD"].loss[-1] - math.log(2)) < 1e-3  # 0.69303
    # "The gradient reaches all 30 layers and the loss moves, bumpily at this step size, to below
    # chance (0.69), where gain 1 stays stuck." GD on 30 ReLU layers at η = 0.05 is chaotic: the
    # same replay ends at 0.41 on one Xeon and at 0.0029 on another (its loss range 1.29 and
    # 1.52, 10 and 9 rises), so the caption names no final value and only what holds on both
    # is asserted.
    moves = results["init_gain_sqrt2"].runs["GD"].loss
    # Its description: "The gradient reaches every layer": at the start the smallest layer
    # gradient is 0.17 of the largest.
    norms = results["init_gain_sqrt2"].runs["GD"].layer_grad_norms[0]
    assert norms.min() > 0.1 * norms.max()
    assert learns == len(moves) - 1 and moves[learns] < math.log(2) - 0.2  # 0.41, 0.0029
    assert moves.max() - moves.min() > 1 and np.sum(np.diff(moves) > 0) >= 5  # 1.29/1.52, 10/9
    (blown,) = results["init_gain_2"].summary["runs"]
    assert results["init_gain_2"].runs["GD"].loss[0] > 500  # 924
    assert blown["diverged"] and blown["diverged_at"] <= 2  # 1

    # init_gain_1's captions at their steps. "Gain 1: the signal shrinks by 1/√2 per layer, tens
    # of thousands of times over 30 layers." (×0.692 per layer on average; 1/42,800 in all)
    scenario = results["init_gain_1"].scenario
    start, same = (event.at for event in scenario.timeline)
    assert start == 0 and 1e4 < 1 / ratios[1.0] < 1e5
    assert ratios[1.0] ** (1 / 29) == pytest.approx(1 / math.sqrt(2), rel=0.05)
    # "The output is the same for every point: the loss stays at ln 2 = 0.69." (0.50009 to
    # 0.50010 for all 128 points; loss 0.693141)
    (outputs,) = outputs_at(scenario, "GD", (same,)).values()
    assert float(outputs.max() - outputs.min()) < 1e-4
    assert round(results["init_gain_1"].runs["GD"].loss[same], 3) == round(math.log(2), 3)
    says(scenario, same, "ln 2 = 0.69")
    # init_gain_2's: "Gain 2: the signal grows by √2 per layer, over 10,000 times in all. The
    # loss starts above 900." (×1.385 per layer; 12,500 in all; loss 924) "One step of gradient
    # descent and the run has diverged."
    scenario = results["init_gain_2"].scenario
    start, one = (event.at for event in scenario.timeline)
    assert ratios[2.0] ** (1 / 29) == pytest.approx(math.sqrt(2), rel=0.05)
    assert 900 < results["init_gain_2"].runs["GD"].loss[start] < 1000
    says(scenario, start, "10,000", "above 900")
    assert blown["diverged_at"] == one == 1


def test_orthogonal_init_gain_over_seeds():
    """PHENOMENA 11 is not a lucky seed: the same three nets over seeds 0-9 (data and weights).

    At width 128 the per-layer factor fluctuates (ReLU keeps half the energy only on average), so
    the √2 ratio spreads over 0.45-1.16: 9 of 10 seeds are within ×2, all within ×2.3.
    """
    base = load_scenario(find_scenario("init_gain_sqrt2"))
    found = {gain: [] for gain in GAINS.values()}
    for seed in range(10):
        for gain in found:
            scenario = base.model_copy(update={"seed": seed})
            landscape = scenario.landscape
            model = landscape.model.model_copy(update={"gain": gain})
            scenario = scenario.model_copy(
                update={"landscape": landscape.model_copy(update={"model": model})}
            )
            problem = make_problem(scenario)
            found[gain].append(signal_ratio(problem.activation_norms(problem.theta_init)))
    isometric = np.array(found[math.sqrt(2)])
    assert np.sum((isometric > 0.5) & (isometric < 2)) >= 9  # 9
    assert np.all((isometric > 1 / 2.5) & (isometric < 2.5))  # 0.448 ... 1.16
    assert 0.6 < np.exp(np.log(isometric).mean()) < 1.5  # geometric mean 0.82
    assert max(found[1.0]) < 1e-4  # 5.0e-5
    assert min(found[2.0]) > 5e3  # 1.04e4
