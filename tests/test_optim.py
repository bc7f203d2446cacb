"""Optimiser runs against oracles: a plain torch.optim loop, closed-form GD, Newton's one step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from builders import analytic_toml, network_toml, run

from sandbox.landscape.problem import make_problem
from sandbox.optim.schedule import lr_factor
from sandbox.pipeline import prepare as pipeline
from sandbox.scenario.load import parse_scenario
from sandbox.scenario.schema import Schedule


def analytic(surface: str, steps: int, params: dict | None = None, start=(-1.2, 1.0), **keys):
    """One run `r` from `start` (Rosenbrock's classic (-1.2, 1)) on an analytic surface."""
    runs = [run("r", start=list(start), **keys)]
    return analytic_toml(surface, steps=steps, params=params or {}, runs=runs)


def network(steps: int, **keys) -> str:
    """One run `r` of a 2-8-8-1 tanh net on moons (n = 64), BCE, seed 3."""
    model = {"activation": "tanh"}
    return network_toml(
        steps=steps, seed=3, widths=[2, 8, 8, 1], model=model, runs=[run("r", **keys)]
    )


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
    ({"optimizer": "gd", "lr": 0.001}, lambda p: torch.optim.SGD(p, lr=0.001)),
    (
        {"optimizer": "momentum", "lr": 0.0005},
        lambda p: torch.optim.SGD(p, lr=0.0005, momentum=0.9),
    ),
    (
        {"optimizer": "nesterov", "lr": 0.0005, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.0005, momentum=0.8, nesterov=True),
    ),
    ({"optimizer": "adagrad", "lr": 0.1}, lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-8)),
    ({"optimizer": "rmsprop", "lr": 0.01}, lambda p: torch.optim.RMSprop(p, lr=0.01, eps=1e-8)),
    (
        {"optimizer": "adam", "lr": 0.02, "betas": [0.8, 0.99]},
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99)),
    ),
    (
        {"optimizer": "adamw", "lr": 0.02, "weight_decay": 0.1},
        lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1),
    ),
]
IDS = [keys["optimizer"] for keys, _ in ORACLES]


@pytest.mark.parametrize(("keys", "make_opt"), ORACLES, ids=IDS)
def test_analytic_runs_equal_a_bare_torch_optim_loop(keys, make_opt):
    ours = [s.loss for s in steps_of(analytic("rosenbrock", 200, **keys))]
    oracle = bare_loop(make_opt, rosenbrock, torch.tensor([-1.2, 1.0], dtype=torch.float64), 200)
    np.testing.assert_allclose(ours, oracle, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("keys", "make_opt"), ORACLES[:1] + ORACLES[5:6], ids=IDS[:1] + IDS[5:6])
def test_network_runs_equal_a_bare_torch_optim_loop(keys, make_opt):
    if keys["optimizer"] == "gd":  # the net trains at lr 0.5, not Rosenbrock's 0.001
        keys, make_opt = {**keys, "lr": 0.5}, lambda p: torch.optim.SGD(p, lr=0.5)
    text = network(50, **keys)
    ours = steps_of(text)
    problem = make_problem(parse_scenario(text))
    oracle = bare_loop(make_opt, problem.full_loss, problem.theta_init, 50)
    # float32 network: same operations in the same order, so equal to float32 rounding
    # (measured: equal to the last bit, gd and adam).
    np.testing.assert_allclose([s.loss for s in ours], oracle, rtol=1e-6)


def test_gd_on_a_quadratic_is_the_closed_form():
    # f = ½(l1 x² + l2 y²): GD multiplies x by (1 − η l1) and y by (1 − η l2) every step.
    steps = steps_of(analytic("quadratic", 30, {"l1": 2.0, "l2": 0.5}, lr=0.3))
    k = np.arange(31)
    np.testing.assert_allclose([s.x for s in steps], -1.2 * (1 - 0.6) ** k, rtol=1e-12)
    np.testing.assert_allclose([s.y for s in steps], 1.0 * (1 - 0.15) ** k, rtol=1e-12)


@pytest.mark.parametrize("angle", [0.0, 37.0])
def test_newton_solves_a_quadratic_in_one_step(angle):
    params = {"kappa": 100.0, "angle": angle}
    steps = steps_of(analytic("canyon", 3, params, optimizer="newton", lr=1.0))
    # Measured: step 1's loss is 0 (angle 0) or 8e-29 (angle 37); |x|, |y| at most 1e-14.
    assert steps[0].loss > 1 and steps[1].loss < 1e-20
    assert abs(steps[1].x) < 1e-12 and abs(steps[1].y) < 1e-12


def test_newton_is_damped_at_a_saddle():
    # On x² − y² the undamped Newton step jumps to the saddle; |H|⁻¹ instead moves away along y.
    steps = steps_of(analytic("saddle", 2, start=(0.5, 0.1), optimizer="newton", lr=0.5))
    assert math.isclose(steps[1].x, 0.25) and math.isclose(
        steps[1].y, 0.15
    )  # |H|⁻¹∇f = (0.5, −0.1)


def test_fixed_preconditioner_and_clip():
    precondition = [[0.5, 0.0], [0.0, 0.25]]
    params = {"l1": 1.0, "l2": 1.0}
    s = steps_of(analytic("quadratic", 1, params, lr=1.0, precondition=precondition))
    assert math.isclose(s[1].x, -1.2 * 0.5) and math.isclose(s[1].y, 1.0 * 0.75)
    clipped = steps_of(analytic("quadratic", 1, lr=1.0, clip=0.1))
    moved = math.hypot(clipped[1].x + 1.2, clipped[1].y - 1.0)
    assert math.isclose(moved, 0.1, rel_tol=1e-9)  # measured: 6e-13 off


def test_noise_is_seeded_and_changes_the_path():
    text = analytic("quadratic", 20, lr=0.05, noise=0.5)
    a, b = steps_of(text), steps_of(text)
    assert [s.x for s in a] == [s.x for s in b]
    c = steps_of(text.replace('title = "t"', 'title = "t"\nseed = 1'))
    assert [s.x for s in a] != [s.x for s in c]


def test_timeline_set_changes_lr_from_that_step():
    text = analytic("quadratic", 10, lr=0.1)
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
    steps = steps_of(analytic("quadratic", 500, {"l1": 2.0}, lr=1.05))
    assert steps[-1].diverged and len(steps) < 501
    assert all(not s.diverged for s in steps[:-1])


@pytest.mark.parametrize(
    ("surface", "diverges"), [("rosenbrock", True), ("quadratic", True), (None, False)]
)
def test_an_absurd_learning_rate_is_a_state_not_a_crash(surface, diverges):
    """lr = 1e9. The analytic surfaces overflow within a few steps: the run ends marked diverged,
    every earlier record finite. The tanh network saturates instead (its BCE loss grows only
    linearly, ~4e7 after 200 steps, below the contract's 1e12): it runs to the end, finite."""
    keys = {"optimizer": "gd", "lr": 1e9}
    steps = steps_of(analytic(surface, 200, **keys) if surface else network(200, **keys))
    assert all(math.isfinite(s.loss) and not s.diverged for s in steps[:-1])
    if diverges:
        assert steps[-1].diverged and len(steps) < 20, len(steps)  # measured: 2 records
    else:
        assert len(steps) == 201 and not steps[-1].diverged and math.isfinite(steps[-1].loss)


def test_minibatch_sgd_reports_the_full_batch_loss():
    steps = steps_of(network(5, optimizer="sgd", lr=0.1, batch_size=8))
    problem = make_problem(parse_scenario(network(5, optimizer="sgd", lr=0.1)))
    # Measured: equal to the last bit (the same float32 evaluation); rel_tol allows a reorder.
    assert math.isclose(steps[0].loss, problem.full_loss(problem.theta_init).item(), rel_tol=1e-7)


def test_newton_on_a_blown_up_hessian_marks_the_run_diverged(monkeypatch):
    """A run blowing up gave a Hessian eigh could not decompose ("eigh failed to converge" on a
    tiny relu cnn) and the worker failed. Now its Newton step is NaN and the run is marked
    diverged, as any run whose numbers stop being finite."""
    from sandbox.optim import precondition

    bad = torch.tensor([[1.0, float("inf")], [float("inf"), 2.0]])
    assert torch.isnan(precondition.damped_inverse(bad, 1e-3)).all()

    def no_convergence(matrix):
        raise torch.linalg.LinAlgError("linalg.eigh: The algorithm failed to converge")

    monkeypatch.setattr(torch.linalg, "eigh", no_convergence)
    assert torch.isnan(precondition.damped_inverse(torch.eye(2), 1e-3)).all()
    scenario = parse_scenario(analytic_toml(steps=5, runs=[run("N", optimizer="newton", lr=1.0)]))
    records = list(pipeline.steps(pipeline.prepare(scenario), scenario.runs[0]))
    assert records[-1].diverged and records[-1].step <= 2
