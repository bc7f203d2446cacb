"""Optimiser runs against oracles: a plain torch.optim loop, closed-form GD, Newton's one step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sandbox.landscape.problem import make_problem
from sandbox.optim.schedule import lr_factor
from sandbox.pipeline import prepare as pipeline
from sandbox.scenario.load import parse_scenario
from sandbox.scenario.schema import Schedule

ANALYTIC = """
title = "t"
steps = {steps}
[landscape]
kind = "analytic"
surface = "{surface}"
params = {params}
[[runs]]
name = "r"
start = [-1.2, 1.0]
{run}
"""

NETWORK = """
title = "t"
steps = {steps}
seed = 3
[landscape]
kind = "network"
loss = "bce"
[landscape.data]
name = "moons"
n = 64
[landscape.model]
widths = [2, 8, 8, 1]
activation = "tanh"
[[runs]]
name = "r"
{run}
"""


def steps_of(text: str) -> list:
    scenario = parse_scenario(text)
    return list(pipeline.steps(pipeline.prepare(scenario), scenario.runs[0]))


def bare_loop(make_opt, loss_fn, theta0: torch.Tensor, steps: int) -> list[float]:
    """The oracle: the textbook torch.optim loop, recording the loss before each step."""
    theta = theta0.clone().requires_grad_(True)
    opt = make_opt([theta])
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(theta)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    losses.append(loss_fn(theta).item())
    return losses


def rosenbrock(theta):
    x, y = theta
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


ORACLES = [
    ('optimizer = "gd"\nlr = 0.001', lambda p: torch.optim.SGD(p, lr=0.001)),
    ('optimizer = "momentum"\nlr = 0.0005', lambda p: torch.optim.SGD(p, lr=0.0005, momentum=0.9)),
    (
        'optimizer = "nesterov"\nlr = 0.0005\nmomentum = 0.8',
        lambda p: torch.optim.SGD(p, lr=0.0005, momentum=0.8, nesterov=True),
    ),
    ('optimizer = "adagrad"\nlr = 0.1', lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-8)),
    ('optimizer = "rmsprop"\nlr = 0.01', lambda p: torch.optim.RMSprop(p, lr=0.01, eps=1e-8)),
    (
        'optimizer = "adam"\nlr = 0.02\nbetas = [0.8, 0.99]',
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99)),
    ),
    (
        'optimizer = "adamw"\nlr = 0.02\nweight_decay = 0.1',
        lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1),
    ),
]


@pytest.mark.parametrize(("run", "make_opt"), ORACLES, ids=[o[0].split('"')[1] for o in ORACLES])
def test_analytic_runs_equal_a_bare_torch_optim_loop(run, make_opt):
    text = ANALYTIC.format(steps=200, surface="rosenbrock", params="{}", run=run)
    ours = [s.loss for s in steps_of(text)]
    oracle = bare_loop(make_opt, rosenbrock, torch.tensor([-1.2, 1.0], dtype=torch.float64), 200)
    np.testing.assert_allclose(ours, oracle, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("run", "make_opt"), ORACLES[:1] + ORACLES[5:6])
def test_network_runs_equal_a_bare_torch_optim_loop(run, make_opt):
    text = NETWORK.format(steps=50, run=run.replace("0.001", "0.5"))
    ours = steps_of(text)
    scenario = parse_scenario(text)
    problem = make_problem(scenario)
    fixed = run.replace("0.001", "0.5")
    make = (lambda p: torch.optim.SGD(p, lr=0.5)) if "gd" in fixed else make_opt
    oracle = bare_loop(make, problem.full_loss, problem.theta_init, 50)
    # float32 network: same operations in the same order, so equal to float32 rounding.
    np.testing.assert_allclose([s.loss for s in ours], oracle, rtol=1e-6)


def test_gd_on_a_quadratic_is_the_closed_form():
    # f = ½(l1 x² + l2 y²): GD multiplies x by (1 − η l1) and y by (1 − η l2) every step.
    text = ANALYTIC.format(
        steps=30,
        surface="quadratic",
        params="{ l1 = 2.0, l2 = 0.5 }",
        run='optimizer = "gd"\nlr = 0.3',
    )
    steps = steps_of(text)
    k = np.arange(31)
    np.testing.assert_allclose([s.x for s in steps], -1.2 * (1 - 0.6) ** k, rtol=1e-12)
    np.testing.assert_allclose([s.y for s in steps], 1.0 * (1 - 0.15) ** k, rtol=1e-12)


@pytest.mark.parametrize("angle", [0.0, 37.0])
def test_newton_solves_a_quadratic_in_one_step(angle):
    text = ANALYTIC.format(
        steps=3,
        surface="canyon",
        params=f"{{ kappa = 100.0, angle = {angle} }}",
        run='optimizer = "newton"\nlr = 1.0',
    )
    steps = steps_of(text)
    assert steps[0].loss > 1 and steps[1].loss < 1e-20
    assert abs(steps[1].x) < 1e-12 and abs(steps[1].y) < 1e-12


def test_newton_is_damped_at_a_saddle():
    # On x² − y² the undamped Newton step jumps to the saddle; |H|⁻¹ instead moves away along y.
    text = ANALYTIC.format(
        steps=2, surface="saddle", params="{}", run='optimizer = "newton"\nlr = 0.5'
    ).replace("[-1.2, 1.0]", "[0.5, 0.1]")
    steps = steps_of(text)
    assert math.isclose(steps[1].x, 0.25) and math.isclose(
        steps[1].y, 0.15
    )  # |H|⁻¹∇f = (0.5, −0.1)


def test_fixed_preconditioner_and_clip():
    text = ANALYTIC.format(
        steps=1,
        surface="quadratic",
        params="{ l1 = 1.0, l2 = 1.0 }",
        run='optimizer = "gd"\nlr = 1.0\nprecondition = [[0.5, 0.0], [0.0, 0.25]]',
    )
    s = steps_of(text)
    assert math.isclose(s[1].x, -1.2 * 0.5) and math.isclose(s[1].y, 1.0 * 0.75)
    clipped = steps_of(
        ANALYTIC.format(
            steps=1, surface="quadratic", params="{}", run='optimizer = "gd"\nlr = 1.0\nclip = 0.1'
        )
    )
    moved = math.hypot(clipped[1].x + 1.2, clipped[1].y - 1.0)
    assert math.isclose(moved, 0.1, rel_tol=1e-9)


def test_noise_is_seeded_and_changes_the_path():
    run = 'optimizer = "gd"\nlr = 0.05\nnoise = 0.5'
    text = ANALYTIC.format(steps=20, surface="quadratic", params="{}", run=run)
    a, b = steps_of(text), steps_of(text)
    assert [s.x for s in a] == [s.x for s in b]
    c = steps_of(text.replace('title = "t"', 'title = "t"\nseed = 1'))
    assert [s.x for s in a] != [s.x for s in c]


def test_timeline_set_changes_lr_from_that_step():
    text = ANALYTIC.format(
        steps=10, surface="quadratic", params="{}", run='optimizer = "gd"\nlr = 0.1'
    )
    text += '[[timeline]]\nat = 4\nset = { run = "r", lr = 0.5 }\n'
    lrs = [s.lr for s in steps_of(text)]
    assert lrs[:4] == [0.1] * 4 and lrs[4:] == [0.5] * 7


def test_schedules():
    assert lr_factor(Schedule(kind="step", every=10, gamma=0.5), 25, 100) == 0.25
    cosine = Schedule(kind="cosine", min_factor=0.1)
    assert lr_factor(cosine, 0, 100) == 1.0 and math.isclose(lr_factor(cosine, 100, 100), 0.1)
    assert math.isclose(lr_factor(cosine, 50, 100), 0.55)
    warm = Schedule(kind="warmup", warmup=4)
    assert [lr_factor(warm, k, 10) for k in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    # Oracle: torch's own schedulers give the same factors.
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=0.1)
    for k in range(100):
        assert math.isclose(opt.param_groups[0]["lr"], lr_factor(cosine, k, 100), rel_tol=1e-9)
        opt.step()
        sched.step()


def test_divergence_stops_the_run_and_is_marked():
    text = ANALYTIC.format(
        steps=500, surface="quadratic", params="{ l1 = 2.0 }", run='optimizer = "gd"\nlr = 1.05'
    )
    steps = steps_of(text)
    assert steps[-1].diverged and len(steps) < 501
    assert all(not s.diverged for s in steps[:-1])


@pytest.mark.parametrize(
    ("template", "surface", "diverges"),
    [(ANALYTIC, "rosenbrock", True), (ANALYTIC, "quadratic", True), (NETWORK, "", False)],
)
def test_an_absurd_learning_rate_is_a_state_not_a_crash(template, surface, diverges):
    """lr = 1e9. The analytic surfaces overflow within a few steps: the run ends marked diverged,
    every earlier record finite. The tanh network saturates instead (its BCE loss grows only
    linearly, ~4e7 after 200 steps, below the contract's 1e12): it runs to the end, finite."""
    run = 'optimizer = "gd"\nlr = 1e9'
    steps = steps_of(template.format(steps=200, surface=surface, params="{}", run=run))
    assert all(math.isfinite(s.loss) and not s.diverged for s in steps[:-1])
    if diverges:
        assert steps[-1].diverged and len(steps) < 20, len(steps)
    else:
        assert len(steps) == 201 and not steps[-1].diverged and math.isfinite(steps[-1].loss)


def test_minibatch_sgd_reports_the_full_batch_loss():
    steps = steps_of(NETWORK.format(steps=5, run='optimizer = "sgd"\nlr = 0.1\nbatch_size = 8'))
    scenario = parse_scenario(NETWORK.format(steps=5, run='optimizer = "sgd"\nlr = 0.1'))
    problem = make_problem(scenario)
    assert math.isclose(steps[0].loss, problem.full_loss(problem.theta_init).item(), rel_tol=1e-7)
