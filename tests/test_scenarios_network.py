"""Depth: PHENOMENA 9-10 on their bundled scenarios, and every bundled network file is valid.

Initialisation (11) is in test_scenarios_init.py; noise and regularisation (12-15) in
test_scenarios_regularisation.py.

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

from sandbox.cli import main
from sandbox.landscape.problem import make_problem
from sandbox.landscape.sampling import network_surface
from sandbox.pipeline.prepare import prepare
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

FILES = (
    "depth_sigmoid_plain",
    "depth_sigmoid_residual",
    "landscape_plain",
    "landscape_residual",
    "init_gain_1",
    "init_gain_sqrt2",
    "init_gain_2",
    "minibatch",
    "weight_decay",
    "dropout_off",
    "dropout_on",
    "batchnorm_off",
    "batchnorm_on",
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


def test_bundled_files_are_valid(capsys):
    assert main(["check", *(str(find_scenario(name)) for name in FILES)]) == 0
    assert capsys.readouterr().out.count(": ok") == len(FILES)


# What each description says the network is: (its words, hidden layers, width, activation).
DESCRIBED_NETWORKS = {
    "depth_sigmoid_plain": ("29 hidden layers of 16 sigmoid units", 29, 16, "sigmoid"),
    "landscape_plain": ("19 hidden layers of 16 ReLU units", 19, 16, "relu"),
    "init_gain_1": ("30 ReLU layers of 128 units", 30, 128, "relu"),
    "batchnorm_off": ("Eight hidden ReLU layers of 32 units", 8, 32, "relu"),
    "dropout_off": ("Two hidden layers of 64 ReLU units", 2, 64, "relu"),
    "minibatch": ("two tanh layers of 32 units", 2, 32, "tanh"),
}


@pytest.mark.parametrize("name", DESCRIBED_NETWORKS)
def test_descriptions_describe_their_networks(name):
    words, hidden, width, activation = DESCRIBED_NETWORKS[name]
    scenario = load_scenario(find_scenario(name))
    assert words in " ".join(scenario.description.split())
    model = scenario.landscape.model
    assert model.widths[1:-1] == (width,) * hidden and model.activation == activation


def first_over_last(run) -> np.ndarray:
    """Per step: first Linear layer's weight-gradient norm over the last (output) layer's."""
    return run.layer_grad_norms[:, 0] / run.layer_grad_norms[:, -1]


def test_vanishing_gradients_and_skip_connections():
    """PHENOMENA 9 / issue acceptance: 30 sigmoid layers; plain stays at chance, residual trains.

    The ratio < 1e-2 holds for the plain net at every step. For the residual net the ratio > 1e-1
    holds over training (median of steps 1..300) but not at step 0 (3.9e-3): each residual layer
    adds σ ≈ 0.5 to the running sum, so the output layer's input has RMS ≈ 14 and its gradient
    (28.7) dwarfs every other layer's. The hidden layers' gradients at step 0 are comparable
    (within ×17 of each other), against 15 orders of magnitude without skips.
    """
    plain, residual = replay("depth_sigmoid_plain"), replay("depth_sigmoid_residual")
    model = plain.scenario.landscape.model
    assert len(model.widths) - 1 == 30 and model.activation == "sigmoid" and not model.skip
    assert residual.scenario.landscape.model == model.model_copy(update={"skip": True})
    assert residual.scenario.runs == plain.scenario.runs
    for name in ("GD", "Momentum"):
        p, r = first_over_last(plain.runs[name]), first_over_last(residual.runs[name])
        assert p.max() < 1e-6  # 7.3e-8 (GD), 5.9e-8 (momentum); 8.6e-16 at step 0
        assert np.median(r[1:]) > 0.3  # 0.74 (GD), 1.82 (momentum)
        assert p[0] < 1e-14 and r[0] > 1e-3  # 8.6e-16 vs 3.9e-3
        assert abs(plain.runs[name].loss[-1] - math.log(2)) < 1e-4  # 0.69315: chance
    assert residual.runs["GD"].loss[-1] < 0.35  # 0.265 earlier machine, 0.257 later one
    assert residual.runs["Momentum"].loss[-1] < 0.02  # 0.0035
    assert hidden_spread(residual.runs["GD"].layer_grad_norms[0]) < 100  # 17
    assert hidden_spread(plain.runs["GD"].layer_grad_norms[0]) > 1e10  # 8.7e13
    assert_plain_captions(plain)
    assert_residual_captions(residual)


def hidden_spread(norms) -> float:
    """Largest over smallest gradient norm of the 28 square 16x16 hidden layers."""
    hidden = norms[1:-1]
    return hidden.max() / hidden.min()


def assert_plain_captions(plain):
    """The plain file's captions, each at its own step (read from the timeline)."""
    start, same_answer, stuck = (event.at for event in plain.scenario.timeline)
    # "The first layer's gradient is 10^15 times smaller than the last's." (1 / 8.6e-16)
    ratio = first_over_last(plain.runs["GD"])[start]
    assert round(-math.log10(ratio)) == 15
    says(plain.scenario, start, "10^15")
    # "Both runs sit at loss 0.69 = ln 2: the network gives every point the same answer, about
    # 50/50." (0.693147 and 0.694177; every point gets 0.50000, or 0.52268 with momentum)
    # "Still stuck: only the top layers learn, and they only learn the average." (still the same
    # answer for every point, the share of each class, 0.50000; the path the weights travelled
    # by then, Σ η‖g‖ per layer: 2e-14 for the first layer, 0.29 for the last)
    labels = make_problem(plain.scenario).data.y
    for name, run in zip(("GD", "Momentum"), plain.scenario.runs, strict=True):
        loss = plain.runs[name].loss
        assert round(loss[same_answer], 2) == 0.69 and round(loss[stuck], 4) == 0.6931
        outputs = outputs_at(plain.scenario, name, (same_answer, stuck))
        for step in (same_answer, stuck):
            assert float(outputs[step].max() - outputs[step].min()) < 1e-4
        assert abs(float(outputs[same_answer][0]) - 0.5) < 0.03
        assert abs(float(outputs[stuck][0] - labels.float().mean())) < 1e-3
        travelled = run.lr * plain.runs[name].layer_grad_norms[: stuck + 1].sum(0)
        assert travelled[0] < 1e-10 * travelled[-1] and travelled[:15].max() < 1e-6
    says(plain.scenario, same_answer, "0.69", "about 50/50")


def assert_residual_captions(residual):
    """The residual file's captions, each at its own step (read from the timeline)."""
    start, comparable, below, end = (event.at for event in residual.scenario.timeline)
    # "The same 30 layers, now with skip connections. The outputs start large: loss 13." (13.3;
    # the description: "each layer adds about 0.5 to the running sum": the last hidden layer's
    # activations have RMS 14.4 after 28 residual layers)
    assert round(residual.runs["GD"].loss[start]) == 13
    norms = residual.summary["activation_norms_at_init"]
    assert 0.4 < (norms[-1] - norms[0]) / (len(norms) - 1) < 0.6  # 0.50
    says(residual.scenario, start, "loss 13")
    # The description: "the optimisers bring that down within about 50 steps" (below ln 2 at
    # steps 43 and 24)
    for name in ("GD", "Momentum"):
        assert np.argmax(residual.runs[name].loss < math.log(2)) <= comparable
    # "The first layer's gradient is now comparable to the last layer's: every layer learns."
    # (first/last 1.13 and 0.26; the hidden layers' gradients within ×20 of each other)
    for name in ("GD", "Momentum"):
        assert first_over_last(residual.runs[name])[comparable] > 0.2
        assert hidden_spread(residual.runs[name].layer_grad_norms[comparable]) < 100
    # "Both runs are far below chance (0.69): GD is at 0.29, and momentum gets all 128 points
    # right." (0.294; momentum's loss 0.0065)
    assert round(residual.runs["GD"].loss[below], 2) == 0.29
    # (The description: "momentum gets every point right by step 150, GD is slower".)
    assert residual.runs["Momentum"].loss[below] < 0.1 * residual.runs["GD"].loss[below]
    assert "every point right by step 150" in residual.scenario.description and below == 150
    (outputs,) = outputs_at(residual.scenario, "Momentum", (below,)).values()
    labels = make_problem(residual.scenario).data.y
    assert int(((outputs > 0.5) == (labels > 0.5)).sum()) == len(labels) == 128
    says(residual.scenario, below, "0.69", "0.29", "all 128")
    # "Momentum is down to loss 0.0035. GD has crept on to about 0.26: slower, but it trains."
    # (the step-150 caption stayed to the end and said GD was at 0.29). GD's loss at step 300 is
    # 0.265 on the earlier machine and 0.2573 on the later one (0.294 and 0.2895 at step 150;
    # momentum 0.0035 on both): within 0.01 of 0.26, a margin of 0.005 beyond the farther one.
    assert end == residual.scenario.steps
    assert f"{residual.runs['Momentum'].loss[end]:.2g}" == "0.0035"
    assert abs(residual.runs["GD"].loss[end] - 0.26) < 0.01
    # 0.265 < 0.294 on the earlier machine, 0.257 < 0.290 on the later one
    assert residual.runs["GD"].loss[end] < residual.runs["GD"].loss[below]
    says(residual.scenario, end, "0.0035", "about 0.26")


def slice_heights(scenario) -> np.ndarray:
    """The height field the 3D view draws for a network scenario, as float64."""
    problem = prepare(scenario).problem
    spec = scenario.landscape.slice
    surface = network_surface(problem, problem.theta_init, spec.span, spec.resolution)
    return surface.heights.astype(np.float64)


def local_minima(heights: np.ndarray) -> int:
    """Interior grid points strictly below all 8 neighbours (a convex surface has at most one)."""
    inner = heights[1:-1, 1:-1]
    rows, cols = heights.shape
    lower = np.ones(inner.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lower &= inner < heights[1 + di : rows - 1 + di, 1 + dj : cols - 1 + dj]
    return int(lower.sum())


@pytest.mark.slow
def test_skip_connections_smooth_the_landscape():
    """PHENOMENA 10: same 20-layer ReLU+BN net and slice settings; the plain slice is rough.

    The measure is the number of local minima of the slice. The curvature-sign measures suggested
    in docs/phenomena.md do not separate the two at this scale (share of grid points with a negative
    2D-Hessian eigenvalue: 0.67 plain vs 0.66 residual; mean |λmin/λmax|: 7.5 vs 9.5): the
    residual valley's flanks are concave where the logistic loss saturates.
    """
    plain, residual = (replay(name) for name in ("landscape_plain", "landscape_residual"))
    assert residual.scenario.landscape.model == plain.scenario.landscape.model.model_copy(
        update={"skip": True}
    )
    assert residual.scenario.landscape.slice == plain.scenario.landscape.slice
    for result in (plain, residual):
        assert result.runs["Adam"].loss[-1] < 1e-3  # 3e-4 plain, 1e-4 residual
    rough, smooth = (local_minima(slice_heights(r.scenario)) for r in (plain, residual))
    # The captions at step 0: "a rough plateau with dozens of small dips"; "one smooth valley,
    # no dips" (53 local minima of the slice against 1, the valley floor).
    assert smooth == 1
    assert rough >= 24  # 53
    # "Adam still finds the way down, through a narrow, jagged valley." (0.73 -> 0.14 by step 20,
    # rising on 2 of the 20 steps) "Adam rolls straight down the valley." (3.70 -> 0.0073, down
    # at every step)
    (_, down), (_, straight) = (
        (event.at for event in r.scenario.timeline) for r in (plain, residual)
    )
    rough_loss, smooth_loss = plain.runs["Adam"].loss, residual.runs["Adam"].loss
    assert rough_loss[down] < 0.25 * rough_loss[0] and np.any(np.diff(rough_loss[:down]) > 0)
    assert np.all(np.diff(smooth_loss[: straight + 1]) < 0)
