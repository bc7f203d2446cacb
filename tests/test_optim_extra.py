"""SAM and Lion (sandbox/optim/extra.py) against their published update rules, computed by hand.

The oracles below are the papers' equations written out in numpy on closed-form gradients, not
our classes: SAM (Foret et al. 2021, eq. 2-3, p = 2) with SGD-momentum as the base step, Lion
(Chen et al. 2023, Algorithm 2) with decoupled weight decay. Analytic runs are float64, so the
tolerance is float64 rounding over a few steps.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import analytic_toml, network_toml, run

from sandbox.cli import main
from sandbox.pipeline import prepare as pipeline
from sandbox.scenario.load import parse_scenario

START = (-1.2, 1.0)
QUADRATIC = {"l1": 1.0, "l2": 10.0}


def rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def quadratic_grad(p: np.ndarray) -> np.ndarray:
    return np.array([QUADRATIC["l1"], QUADRATIC["l2"]]) * p  # f = ½(l1·x² + l2·y²)


SURFACES = {"rosenbrock": ({}, rosenbrock_grad), "quadratic": (QUADRATIC, quadratic_grad)}


def positions(surface: str, steps: int, start=START, **keys) -> np.ndarray:
    """The recorded (x, y) of one run `r` from `start`, shape (steps + 1, 2)."""
    params = SURFACES[surface][0]
    text = analytic_toml(
        surface, params=params, steps=steps, runs=[run("r", start=list(start), **keys)]
    )
    scenario = parse_scenario(text)
    records = list(pipeline.steps(pipeline.prepare(scenario), scenario.runs[0]))
    return np.array([(s.x, s.y) for s in records])


def sam_by_hand(grad, start, steps, lr, rho, momentum) -> np.ndarray:
    """ε = ρ·g/‖g‖; g_SAM = ∇f(θ + ε); v ← μ·v + g_SAM (v₁ = g_SAM, torch's SGD); θ ← θ − η·v."""
    theta, velocity, out = np.array(start, float), None, [np.array(start, float)]
    for _ in range(steps):
        g = grad(theta)
        g_sam = grad(theta + rho * g / (np.linalg.norm(g) + 1e-12))
        velocity = g_sam if velocity is None else momentum * velocity + g_sam
        theta = theta - lr * velocity
        out.append(theta)
    return np.array(out)


def lion_by_hand(grad, start, steps, lr, betas, decay) -> np.ndarray:
    """c = β₁m + (1−β₁)g; θ ← θ − η(sign(c) + λθ); m ← β₂m + (1−β₂)g (m₀ = 0)."""
    theta, m, out = np.array(start, float), np.zeros(2), [np.array(start, float)]
    for _ in range(steps):
        g = grad(theta)
        c = betas[0] * m + (1 - betas[0]) * g
        theta = theta - lr * (np.sign(c) + decay * theta)
        m = betas[1] * m + (1 - betas[1]) * g
        out.append(theta)
    return np.array(out)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(("momentum", "rho"), [(0.0, 0.05), (0.9, 0.3)])
def test_sam_follows_its_published_update(surface, momentum, rho):
    lr = 0.0005 if surface == "rosenbrock" else 0.05
    ours = positions(surface, 8, optimizer="sam", lr=lr, momentum=momentum, rho=rho)
    oracle = sam_by_hand(SURFACES[surface][1], START, 8, lr, rho, momentum)
    np.testing.assert_allclose(ours, oracle, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(("betas", "decay"), [(None, 0.0), ((0.5, 0.8), 0.1)])
def test_lion_follows_its_published_update(surface, betas, decay):
    keys = {"betas": list(betas)} if betas else {}
    ours = positions(surface, 8, optimizer="lion", lr=0.01, weight_decay=decay, **keys)
    oracle = lion_by_hand(SURFACES[surface][1], START, 8, 0.01, betas or (0.9, 0.99), decay)
    np.testing.assert_allclose(ours, oracle, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sam_with_rho_0_is_its_base_sgd_exactly(momentum):
    """ε = 0·g/(‖g‖ + 10⁻¹²) is exactly 0, so the second gradient is the first: bit-equal."""
    sam = positions("rosenbrock", 50, optimizer="sam", lr=0.001, momentum=momentum, rho=0.0)
    gd = positions("rosenbrock", 50, optimizer="gd", lr=0.001, momentum=momentum)
    assert np.array_equal(sam, gd)
    assert not np.array_equal(
        sam, positions("rosenbrock", 50, optimizer="sam", lr=0.001, momentum=momentum)
    )  # the default rho, 0.05, does move it


def test_sam_with_rho_0_on_a_network_is_its_base_sgd_exactly():
    def losses(**keys) -> list[float]:
        scenario = parse_scenario(network_toml(steps=20, runs=[run("r", lr=0.5, **keys)]))
        return [s.loss for s in pipeline.steps(pipeline.prepare(scenario), scenario.runs[0])]

    assert losses(optimizer="sam", rho=0.0, momentum=0.5) == losses(momentum=0.5)
    assert losses(optimizer="sam", momentum=0.5)[-1] != losses(momentum=0.5)[-1]


def test_lion_moves_every_coordinate_by_exactly_lr():
    """sign(c) is ±1 per coordinate (c is never exactly 0 here): each step is lr in x and in y."""
    steps = np.abs(np.diff(positions("rosenbrock", 100, optimizer="lion", lr=0.003), axis=0))
    np.testing.assert_allclose(steps, 0.003, rtol=1e-12)  # float64: measured 2·10⁻¹⁶ relative


def test_sam_records_theta_k_and_clips_the_gradient_it_steps_with():
    """The record of step k is the loss and gradient at θ_k; the clip bounds the perturbed one."""
    text = analytic_toml(
        "rosenbrock",
        steps=5,
        runs=[run("r", "sam", 0.001, start=list(START), rho=0.1, clip=1.0)],
    )
    scenario = parse_scenario(text)
    records = list(pipeline.steps(pipeline.prepare(scenario), scenario.runs[0]))
    for record in records:
        grad = rosenbrock_grad(np.array([record.x, record.y]))
        assert record.grad_norm == pytest.approx(np.linalg.norm(grad), rel=1e-12)
    moves = np.hypot(np.diff([r.x for r in records]), np.diff([r.y for r in records]))
    # ‖∇f‖ ≈ 200 around the start, so the clip (1.0) binds: every step is lr·1.0 long.
    np.testing.assert_allclose(moves, 0.001, rtol=1e-9)


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        (
            {"optimizer": "gd", "rho": 0.1},
            "runs[0].rho: has no effect with optimizer 'gd' (it applies to sam)",
        ),
        (
            {"optimizer": "sam", "rho": -0.1},
            "runs[0].rho: Input should be greater than or equal to 0 (got -0.1)",
        ),
        (
            {"optimizer": "lion", "eps": 0.1},
            "runs[0].eps: has no effect with optimizer 'lion' (it applies to adagrad, adam, "
            "adamw, rmsprop)",
        ),
    ],
    ids=["rho-on-gd", "negative-rho", "eps-on-lion"],
)
def test_check_refuses_bad_rho_and_keys_lion_does_not_read(tmp_path, capsys, keys, fragment):
    # The builders' layout: title, steps, [landscape] (3 lines), [[runs]] name, optimizer, lr, and
    # the key under test on line 12.
    path = tmp_path / "s.toml"
    path.write_text(analytic_toml(runs=[run("r", lr=0.1, **keys)]), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert f"{path}:12: {fragment}" in out + err, out + err
    assert "Traceback" not in out + err


def test_the_budget_counts_sams_second_gradient():
    """SAM's step takes two gradients of 6·b·P operations each (budget.py's model); the rest of
    the estimate (surfaces, the full-data loss) is the same as its base optimiser's."""
    from sandbox.scenario.budget import count_parameters, estimate

    def work(**keys) -> float:
        return estimate(parse_scenario(network_toml(steps=100, runs=[run("r", **keys)]))).work_flops

    scenario = parse_scenario(network_toml(steps=100))
    p, n = count_parameters(scenario.landscape.model), scenario.landscape.data.n
    assert work(optimizer="sam") - work(optimizer="gd") == pytest.approx(100 * 6 * n * p)
