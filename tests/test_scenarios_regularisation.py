"""Noise and regularisation: PHENOMENA 12-15 (minibatch size, weight decay, dropout, batch
normalisation) on their bundled scenarios.

Each test replays bundled files (every replay must be warning-free) and asserts the signature of
its PHENOMENA entry on the replay's outputs, or through the problem API where the signature is
about gradients at one point. Every threshold was measured first; the measured value is in the
comment beside it. Where a signature as worded in docs/phenomena.md does not hold at laptop
scale, the test asserts the strongest statement that does and says so.
"""

from __future__ import annotations

import builders
import numpy as np
import pytest
import torch
from captions import says
from network_replays import replay

from sandbox.landscape.problem import NetworkProblem, make_network, make_problem
from sandbox.pipeline.runs import run_records
from sandbox.pipeline.slices import random_plane
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario, parse_scenario

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


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
    # "Sharpness so far: full batch has climbed from 2.7 to near 2/η = 4; batch 8 has dropped to
    # 1." (from 2.70 at the start: 3.43 at step 256 on both machines measured, then 4.48 at 512
    # on the earlier one and 3.66 here: at the edge of stability the runs part, so "near" is the
    # ±15 % of 2/η that docs/phenomena.md gives the edge of stability: +12 % and -8.5 %. Batch 8:
    # 0.93, 1.07 on both.)
    sharp = {name: result.runs[name].sharpness for name in names}
    assert round(sharp["full batch"][0], 1) == 2.7
    assert round(2 / lr) == 4 and abs(sharp["full batch"][so_far] * lr / 2 - 1) < 0.15
    assert sharp["full batch"][0] < sharp["full batch"][so_far // 2] < sharp["full batch"][so_far]
    assert round(sharp["batch 8"][so_far]) == 1 and sharp["batch 8"][0] > 2
    says(scenario, so_far, "from 2.7", "near 2/η = 4", "to 1")
    # "The smallest batch ends in the flattest spot (λ_max 1.0), full-batch GD in the sharpest
    # (4.0)." (1.01, 1.22, 3.06, 4.04)
    final = [sharp[name][end] for name in names]
    assert end == scenario.steps and final == sorted(final)
    assert round(final[0], 1) == 1.0 and round(final[-1], 1) == 4.0
    says(scenario, end, "λ_max 1.0", "(4.0)")


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


LRS = [round(10 ** (k / 4), 4) for k in range(-6, 7)]  # 0.0316 ... 31.6, four per decade


def lr_sweep(name: str) -> dict[float, bool]:
    """η -> stable (not diverged, final loss below the initial) for the file's network and steps."""
    text = find_scenario(name).read_text()
    text = text[: text.index("[[runs]]")]  # the landscape; runs and timeline replaced
    text += "".join(builders.table("[[runs]]", builders.run(f"lr {lr}", lr=lr)) for lr in LRS)
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
    # The edges: 10 vs 0.562 on the earlier machine measured, 5.62 vs 0.562 here.
    assert stability_edge(normed) >= 5 * stability_edge(plain)
    largest = lambda stable: max(lr for lr, ok in stable.items() if ok)  # noqa: E731
    # 10 (earlier machine) or 31.6 (here) vs 1.78 (that one stuck at chance)
    assert largest(normed) > 5 * largest(plain)
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
    # Its description: "the loss falls from 0.84 to under 0.03 and all but one of the 256 points
    # end on the right side" (final margin -0.21: one point is wrong). The final loss is 0.024 on
    # the earlier machine measured and 0.0250 here (float32 kernels differ): the bound leaves 0.005,
    # a fifth of the value, for further machines.
    assert round(small[0], 2) == 0.84 and small[-1] < 0.03
    assert correct_at_end(off.scenario, "GD, lr 0.3") == (255, 256)
    finals = {r["name"]: r["final_loss"] for r in on.summary["runs"] if not r["diverged"]}
    assert len(finals) == 3 and min(finals, key=finals.get) == "GD, lr 3"
    assert max(finals.values()) < 0.01  # 0.004 (η = 0.3)
    # batchnorm_on's header and title: "The largest stable step size is at least ten times that
    # of the plain network." (10 against 0.562 on the earlier machine measured; 5.62 against
    # 0.562 here and when first measured, so not "about ten": near the edge, whether η = 10 or
    # 17.8 survives is chaotic. The grid's ratios are powers of 10^¼, so > 9.99 means ≥ 10.)
    assert stability_edge(normed) / stability_edge(plain) > 9.99
    # Its captions, each at its own step (read from the timeline). "With batch norm. The same
    # three step sizes: 0.3, 1 and 3."
    start, going_down, end = (event.at for event in on.scenario.timeline)
    assert [run.lr for run in on.scenario.runs] == [run.lr for run in off.scenario.runs]
    assert [run.lr for run in on.scenario.runs] == [0.3, 1, 3] and start == 0
    # "All three step sizes are going down, η = 3 included." (0.79 -> 0.066, 0.017, 0.025 on
    # the earlier machine measured; 0.066, 0.017, 0.024 here)
    for run in on.scenario.runs:
        loss = on.runs[run.name].loss
        assert loss[going_down] < 0.1 * loss[0] and np.all(np.diff(loss[going_down:]) < 0)
    # "η = 3, which blew up without batch norm, ends with the lowest loss." (0.0004; 0.0011 and
    # 0.0040 for η = 1 and 0.3) The description: all three "fit the data" (256 of 256 points).
    assert end == on.scenario.steps and min(finals, key=finals.get) == "GD, lr 3"
    for run in on.scenario.runs:
        assert correct_at_end(on.scenario, run.name) == (256, 256)
