"""Depth, initialisation, noise and regularisation: PHENOMENA 9-15 on their bundled scenarios.

Each test replays bundled files (every replay must be warning-free) and asserts the signature of
its PHENOMENA entry on the replay's outputs, or through the problem API where the signature is
about gradients at one point. Every threshold was measured first; the measured value is in the
comment beside it. Where a signature as worded in PHENOMENA.md does not hold at laptop scale, the
test asserts the strongest statement that does and says so.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from captions import says

import sandbox
from sandbox.cli import main
from sandbox.landscape.problem import NetworkProblem, make_network, make_problem
from sandbox.landscape.sampling import network_surface
from sandbox.pipeline.prepare import prepare
from sandbox.pipeline.runs import run_records
from sandbox.pipeline.slices import random_plane
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario, parse_scenario

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


def replay(source):
    """Replay a bundled scenario (by name) or a Scenario; fail on any warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sandbox.replay(find_scenario(source) if isinstance(source, str) else source)
    assert not caught, [str(w.message) for w in caught]
    return result


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


# 9. Vanishing gradients and skip connections -------------------------------------------------


def first_over_last(run) -> np.ndarray:
    """Per step: first Linear layer's weight-gradient norm over the last (output) layer's."""
    return run.layer_grad_norms[:, 0] / run.layer_grad_norms[:, -1]


def outputs_at(scenario, name: str, steps) -> dict[int, torch.Tensor]:
    """A run's predicted probabilities for every data point at `steps`, training only that far."""
    scenario = scenario.model_copy(update={"steps": max(steps)})
    # The slice plane only decides the reported (x, y), never θ: a random one saves a pre-pass.
    network = make_network(scenario.landscape, scenario.seed)
    problem = NetworkProblem(network, random_plane(network, 0))
    thetas = {}
    run = next(r for r in scenario.runs if r.name == name)
    observe = lambda k, theta: thetas.update({k: theta.clone()} if k in steps else {})  # noqa: E731
    for _ in run_records(problem, scenario, run, observe):
        pass
    with torch.no_grad():
        return {
            k: torch.sigmoid(problem.model.forward(thetas[k], problem.data.x)[:, 0]) for k in steps
        }


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
    assert residual.runs["GD"].loss[-1] < 0.35  # 0.257
    assert residual.runs["Momentum"].loss[-1] < 0.02  # 0.0035
    hidden = slice(1, -1)  # the 28 square 16x16 layers
    spread = lambda norms: norms[hidden].max() / norms[hidden].min()  # noqa: E731
    assert spread(residual.runs["GD"].layer_grad_norms[0]) < 100  # 17
    assert spread(plain.runs["GD"].layer_grad_norms[0]) > 1e10  # 8.7e13

    # The plain file's captions, each at its own step (read from the timeline).
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

    # The residual file's captions at their steps.
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
        assert spread(residual.runs[name].layer_grad_norms[comparable]) < 100
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
    # "Momentum is down to loss 0.0035. GD has crept on to 0.27: slower, but it trains." (the
    # step-150 caption stayed to the end and said GD was at 0.29; it is 0.265 there)
    assert end == residual.scenario.steps
    assert f"{residual.runs['Momentum'].loss[end]:.2g}" == "0.0035"
    assert round(residual.runs["GD"].loss[end], 2) == 0.27
    assert residual.runs["GD"].loss[end] < residual.runs["GD"].loss[below]  # 0.265 < 0.294
    says(residual.scenario, end, "0.0035", "0.27")


# 10. Skip connections smooth the landscape ---------------------------------------------------


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
    in PHENOMENA.md do not separate the two at this scale (share of grid points with a negative
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


# 11. Initialisation and dynamical isometry ---------------------------------------------------

GAINS = {"init_gain_1": 1.0, "init_gain_sqrt2": math.sqrt(2), "init_gain_2": 2.0}


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
    # "The gradient reaches all 30 layers and the loss moves, bumpily at this step size: it ends
    # at 0.41, below chance (0.69), where gain 1 stays stuck." GD on 30 ReLU layers at η = 0.05
    # is chaotic (the loss jumps between 0.16 and 1.45), so only what the caption says is
    # asserted; the earlier "0.0029 at the end" was not reproducible, not even at the commit
    # that measured it.
    moves = results["init_gain_sqrt2"].runs["GD"].loss
    # Its description: "The gradient reaches every layer": at the start the smallest layer
    # gradient is 0.17 of the largest.
    norms = results["init_gain_sqrt2"].runs["GD"].layer_grad_norms[0]
    assert norms.min() > 0.1 * norms.max()
    assert learns == len(moves) - 1 and round(moves[learns], 2) == 0.41
    assert moves[learns] < math.log(2)
    assert moves.max() - moves.min() > 1 and np.sum(np.diff(moves) > 0) >= 10  # range 1.29
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


# 12. Minibatch size ---------------------------------------------------------------------------


def loss_roughness(loss: np.ndarray) -> float:
    """Total variation of the loss curve over its net descent: 1 for a monotone descent."""
    return float(np.abs(np.diff(loss)).sum() / (loss[0] - loss.min()))


@pytest.mark.slow
def test_small_batches_are_noisier_and_end_flatter():
    """PHENOMENA 12: batch 8, 32, 128 and full batch at the same lr on the same net.

    Roughness is measured on the loss curve. The mean angle between successive steps of the
    (x, y) path (PCA directions) does not decrease with batch size here: 76°, 85°, 93° for batches
    8, 32, 128 and 82° for full-batch GD, which oscillates at the edge of stability (sharpness
    2/η): larger batches zigzag across the valley, smaller ones drift with the noise.
    """
    result = replay("minibatch")
    names = ["batch 8", "batch 32", "batch 128", "full batch"]
    assert [run.name for run in result.scenario.runs] == names
    # The description: "two tanh layers of 32 units", "the same step size η = 0.5", the
    # sharpness "shown every 256 steps".
    model = result.scenario.landscape.model
    assert model.widths == (2, 32, 32, 1) and model.activation == "tanh"
    assert {(run.lr, run.sharpness_every) for run in result.scenario.runs} == {(0.5, 256)}
    assert len({run.lr for run in result.scenario.runs}) == 1
    roughness = [loss_roughness(result.runs[name].loss) for name in names]  # 62, 30, 11.6, 1.35
    for smaller, larger in zip(roughness, roughness[1:], strict=False):
        assert smaller > 1.5 * larger
    sharpness = {run["name"]: run["sharpness"] for run in result.summary["runs"]}
    full = sharpness["full batch"]  # 4.04
    assert sharpness["batch 8"] < 0.5 * full  # 1.01
    assert sharpness["batch 32"] < 0.5 * full  # 1.22
    assert sharpness["batch 8"] < sharpness["batch 128"] < full  # 1.01 < 3.06 < 4.04
    lr = result.scenario.runs[0].lr
    assert abs(full * lr / 2 - 1) < 0.1  # full batch sharpens to 2/η: 4.04 vs 4

    # Each caption at its own step (read from the timeline).
    scenario = result.scenario
    start, jumps, so_far, end = (event.at for event in scenario.timeline)
    # "Same start, same step size; only the batch size differs: 8, 32, 128 points, or all 256."
    assert [run.batch_size for run in scenario.runs] == [8, 32, 128, None]
    assert scenario.landscape.data.n == 256 and start == 0
    # "The smaller the batch, the more the loss jumps up and down between steps." Up to the
    # caption, the loss moves 6.3, 1.8, 1.01 and 1.00 times as far as it descends.
    early = [loss_roughness(result.runs[name].loss[: jumps + 1]) for name in names]
    assert all(a > b for a, b in zip(early, early[1:], strict=False))
    assert early[-1] == pytest.approx(1, abs=1e-6)  # full batch: not one step up
    # "Sharpness so far: full batch has climbed past 2/η = 4, to 4.5; batch 8 has dropped to 1."
    # (from 2.7 at the start: 3.43, 4.48 for full batch; 0.93, 1.07 for batch 8)
    sharp = {name: result.runs[name].sharpness for name in names}
    assert round(2 / lr) == 4 and round(sharp["full batch"][so_far], 1) == 4.5
    assert sharp["full batch"][0] < sharp["full batch"][so_far // 2] < sharp["full batch"][so_far]
    assert round(sharp["batch 8"][so_far]) == 1 and sharp["batch 8"][0] > 2
    says(scenario, so_far, "2/η = 4", "4.5", "to 1")
    # "The smallest batch ends in the flattest spot (λ_max 1.0), full-batch GD in the sharpest
    # (4.0)." (1.01, 1.22, 3.06, 4.04)
    final = [sharp[name][end] for name in names]
    assert end == scenario.steps and final == sorted(final)
    assert round(final[0], 1) == 1.0 and round(final[-1], 1) == 4.0
    says(scenario, end, "λ_max 1.0", "(4.0)")


# 13. Weight decay -----------------------------------------------------------------------------


@pytest.mark.slow
def test_weight_decay_stops_the_norm_growing():
    """PHENOMENA 13: separable data, logistic loss: ‖w‖ ~ ln t without decay, flat with it."""
    result = replay("weight_decay")
    assert result.scenario.steps == 10_000
    plain = result.runs["GD"].weight_norm
    decayed = result.runs["GD + weight decay"].weight_norm
    assert result.runs["GD"].loss[-1] < 1e-3  # 9.1e-5: every point classified, loss still falling
    assert plain[10_000] / plain[1_000] > 1.25  # 1.359
    # ln t: the same gain per decade (1.72, 1.83, 2.01 from steps 10, 100, 1000, 10000).
    gains = np.diff(plain[[10, 100, 1_000, 10_000]])
    assert np.all(gains[1:] / gains[:-1] > 0.8) and np.all(gains[1:] / gains[:-1] < 1.25)
    assert abs(decayed[10_000] / decayed[1_000] - 1) < 1e-3  # 1e-7
    assert decayed[10_000] < 0.5 * plain[10_000]  # 2.76 vs 7.61

    # Each caption at its own step (read from the timeline).
    scenario = result.scenario
    start, separated, tenfold, end = (event.at for event in scenario.timeline)
    # "... Same start, same step size; one run has weight decay."
    gd, decay = scenario.runs
    assert gd.lr == decay.lr and gd.weight_decay == 0 and start == 0
    assert decay.weight_decay == 0.01  # the description: "With weight decay 0.01"
    # "Every point is classified correctly, yet plain GD keeps growing ‖w‖ (3.8 now) to lower
    # the loss." (every point from step 2 on; the loss 0.0064 at 100, 0.0023 at 300)
    early = scenario.model_copy(update={"steps": separated})
    assert correct_at_end(early, gd.name) == correct_at_end(early, decay.name) == (200, 200)
    loss = result.runs["GD"].loss
    assert np.all(np.diff(plain[separated:]) > 0) and np.all(np.diff(loss[separated:]) < 0)
    assert round(plain[separated], 1) == 3.8
    says(scenario, separated, "(3.8 now)")
    # "Plain GD: ‖w‖ = 5.6 and still growing, by about 1.8 per tenfold of steps. With decay it
    # has stopped, at 2.76." (gains 1.69, 1.72, 1.83 per decade from step 1; the decayed norm
    # is within 0.1 % of 2.759 from step 119 on)
    per_decade = np.diff(plain[[1, 10, 100, tenfold]])
    assert round(plain[tenfold], 1) == 5.6 and np.all(np.abs(per_decade / 1.8 - 1) < 0.1)
    assert round(decayed[tenfold], 2) == 2.76 and np.ptp(decayed[tenfold:]) < 1e-3
    says(scenario, tenfold, "5.6", "1.8", "2.76")
    # "Plain GD's ‖w‖ has grown from 5.6 to 7.6 since step 1000; with decay it is still 2.76."
    assert (round(plain[tenfold], 1), round(plain[end], 1)) == (5.6, 7.6)
    assert end == scenario.steps and round(decayed[end], 2) == 2.76
    says(scenario, end, "from 5.6 to 7.6", "still 2.76")


# 14. Dropout raises gradient variance ---------------------------------------------------------


def gradient_variance(problem, theta, batch_size, draws=200) -> float:
    """E‖g − E g‖² of the training gradient at θ over fresh minibatches and dropout masks."""
    batches = torch.Generator().manual_seed(1)  # the same batches for every problem
    masks = torch.Generator().manual_seed(2)
    grads = []
    for _ in range(draws):
        batch = problem.sample_batch(batch_size, batches)
        point = theta.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(problem.loss(point, batch, masks), point)
        grads.append(grad.double())
    grads = torch.stack(grads)
    return float((grads - grads.mean(0)).pow(2).sum(1).mean())


def test_dropout_raises_gradient_variance():
    """PHENOMENA 14: same θ, same batches, same batch size; dropout 0.5 vs none."""
    off, on = (load_scenario(find_scenario(name)) for name in ("dropout_off", "dropout_on"))
    assert on.landscape.model == off.landscape.model.model_copy(update={"dropout": 0.5})
    problems = [make_problem(scenario) for scenario in (off, on)]
    theta = problems[0].theta_init
    assert torch.equal(problems[1].theta_init, theta)
    batch_size = on.runs[1].batch_size
    assert batch_size == 32
    without, with_dropout = (gradient_variance(p, theta, batch_size) for p in problems)
    assert with_dropout > 3 * without  # 2.27 vs 0.31: ×7.2
    full_without, full_with = (gradient_variance(p, theta, None, draws=20) for p in problems)
    assert full_without == 0 and full_with > 0.05  # 0 vs 0.22
    # On screen: full-batch GD's loss never rises without dropout, and often does with it.
    runs = {}
    for name, low, high in (("dropout_off", 0, 0), ("dropout_on", 0.1, 0.5)):
        runs[name] = replay(name).runs
        loss = runs[name]["GD, full batch"].loss
        assert low <= np.mean(np.diff(loss) > 0) <= high  # 0 and 0.21
    # The captions, each at its own step (read from the timeline). dropout_off: "No dropout.
    # Full-batch GD has no noise; SGD's batches of 32 add some."; "GD's loss falls smoothly;
    # SGD's wobbles." (by step 100 GD's loss has never risen, SGD's has on 40 of 100 steps)
    gd, sgd = off.runs
    assert (gd.batch_size, gd.noise, off.landscape.model.dropout) == (None, 0, 0)
    _, wobbles = (event.at for event in off.timeline)
    rises = lambda loss: np.mean(np.diff(loss[: wobbles + 1]) > 0)  # noqa: E731
    assert rises(runs["dropout_off"]["GD, full batch"].loss) == 0
    assert rises(runs["dropout_off"]["SGD, batch 32"].loss) > 0.2  # 0.40
    # dropout_on: "Dropout 0.5: each step trains a random half of the network." "Now even
    # full-batch GD's loss wobbles: every step trains a different half-network." (up on 19 of
    # the first 100 steps)
    assert on.landscape.model.dropout == 0.5 and [event.at for event in on.timeline][1] == wobbles
    assert rises(runs["dropout_on"]["GD, full batch"].loss) > 0.1  # 0.19
    # dropout_on's description: "The surface and the loss curve show the network without
    # dropout, the one used to predict." (at the start: 0.7747 without dropout, 0.99 with a
    # random half dropped)
    reported = runs["dropout_on"]["GD, full batch"].loss[0]
    assert reported == pytest.approx(float(problems[1].full_loss(theta)), rel=1e-6)
    dropped = float(problems[1].loss(theta, None, torch.Generator().manual_seed(0)))
    assert abs(dropped - reported) > 1e-4


# 15. Batch normalisation and the largest stable step -----------------------------------------

LRS = [round(10 ** (k / 4), 4) for k in range(-6, 7)]  # 0.0316 ... 31.6, four per decade


def lr_sweep(name: str) -> dict[float, bool]:
    """η -> stable (not diverged, final loss below the initial) for the file's network and steps."""
    text = find_scenario(name).read_text()
    text = text[: text.index("[[runs]]")]  # the landscape; runs and timeline replaced
    text += "".join(f'[[runs]]\nname = "lr {lr}"\noptimizer = "gd"\nlr = {lr}\n\n' for lr in LRS)
    result = replay(parse_scenario(text))
    stable = {}
    for lr, run in zip(LRS, result.summary["runs"], strict=True):
        stable[lr] = not run["diverged"] and run["final_loss"] < result.runs[run["name"]].loss[0]
    return stable


def correct_at_end(scenario, name: str) -> tuple[int, int]:
    """Points a run's final weights classify correctly (one output, labels 0/1), and all."""
    # The slice plane only decides the reported (x, y), never θ: a random one saves a pre-pass.
    network = make_network(scenario.landscape, scenario.seed)
    problem = NetworkProblem(network, random_plane(network, 0))
    final = {}
    run = next(r for r in scenario.runs if r.name == name)
    for _ in run_records(problem, scenario, run, lambda k, theta: final.update(theta=theta)):
        pass
    with torch.no_grad():
        out = problem.model.forward(final["theta"], problem.data.x)[:, 0]
    return int(((out > 0) == (problem.data.y > 0.5)).sum()), len(problem.data.y)


def stability_edge(stable: dict[float, bool]) -> float:
    """The largest η such that it and every smaller η of the grid are stable."""
    edge = 0.0
    for lr in LRS:
        if not stable[lr]:
            break
        edge = lr
    return edge


@pytest.mark.slow
def test_batchnorm_allows_larger_steps():
    """PHENOMENA 15: the largest stable η of GD is ten times larger with batch norm."""
    off, on = replay("batchnorm_off"), replay("batchnorm_on")
    assert on.scenario.landscape.model == off.scenario.landscape.model.model_copy(
        update={"batchnorm": True}
    )
    plain, normed = lr_sweep("batchnorm_off"), lr_sweep("batchnorm_on")
    assert stability_edge(normed) >= 5 * stability_edge(plain)  # 10 vs 0.562
    largest = lambda stable: max(lr for lr, ok in stable.items() if ok)  # noqa: E731
    assert largest(normed) > 5 * largest(plain)  # 10 vs 1.78 (that one stuck at chance)
    # The bundled runs: η = 0.3 trains in both; η = 1 and 3 blow up only without batch norm.
    runs = {r["name"]: r for r in off.summary["runs"]}
    assert not runs["GD, lr 0.3"]["diverged"]
    # batchnorm_off's captions at their steps: "η = 3 overshoots and blows up at step 6." "η = 1
    # blows up too. η = 0.3 survived a jump of its own (step 14) and goes on down."
    _, blows_up, too = (event.at for event in off.scenario.timeline)
    assert runs["GD, lr 3"]["diverged"] and runs["GD, lr 3"]["diverged_at"] == blows_up == 6
    assert runs["GD, lr 1"]["diverged"] and runs["GD, lr 1"]["diverged_at"] == too
    small = off.runs["GD, lr 0.3"].loss
    assert int(np.argmax(small[:too])) == 14 and small[14] > 2 * small[0]  # 2.0 against 0.84
    assert small[too] < small[too - 1] and small[too:].max() < small[0]
    # Its description: "the loss falls from 0.84 to 0.024 and all but one of the 256 points end
    # on the right side" (final margin -0.21: one point is wrong).
    assert round(small[0], 2) == 0.84 and round(small[-1], 3) == 0.024
    assert correct_at_end(off.scenario, "GD, lr 0.3") == (255, 256)
    finals = {r["name"]: r["final_loss"] for r in on.summary["runs"] if not r["diverged"]}
    assert len(finals) == 3 and min(finals, key=finals.get) == "GD, lr 3"
    assert max(finals.values()) < 0.01  # 0.004 (η = 0.3)
    # batchnorm_on's header and title: "The largest stable step size is at least ten times that
    # of the plain network." (10 against 0.562 here; 5.62 against 0.562 when first measured, so
    # not "about ten": near the edge, whether η = 10 or 17.8 survives is chaotic)
    assert stability_edge(normed) / stability_edge(plain) > 9.99
    # Its captions, each at its own step (read from the timeline). "With batch norm. The same
    # three step sizes: 0.3, 1 and 3."
    start, going_down, end = (event.at for event in on.scenario.timeline)
    assert [run.lr for run in on.scenario.runs] == [run.lr for run in off.scenario.runs]
    assert [run.lr for run in on.scenario.runs] == [0.3, 1, 3] and start == 0
    # "All three step sizes are going down, η = 3 included." (0.79 -> 0.066, 0.017, 0.025)
    for run in on.scenario.runs:
        loss = on.runs[run.name].loss
        assert loss[going_down] < 0.1 * loss[0] and np.all(np.diff(loss[going_down:]) < 0)
    # "η = 3, which blew up without batch norm, ends with the lowest loss." (0.0004; 0.0011 and
    # 0.0040 for η = 1 and 0.3) The description: all three "fit the data" (256 of 256 points).
    assert end == on.scenario.steps and min(finals, key=finals.get) == "GD, lr 3"
    for run in on.scenario.runs:
        assert correct_at_end(on.scenario, run.name) == (256, 256)
