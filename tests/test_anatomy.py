"""The anatomy of a step (issue 19): each record's update taken apart, against hand computation
and against torch.optim's own state after k steps of a plain torch loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from builders import analytic_toml, network_toml, run

from sandbox.pipeline import prepare as pipeline
from sandbox.scenario.load import parse_scenario

L1, L2 = 2.0, 0.5  # f = ½(l1 x² + l2 y²): ∇f = (l1 x, l2 y)
START = (-1.2, 1.0)


def quadratic(steps: int, **keys) -> str:
    runs = [run("r", start=list(START), **keys)]
    return analytic_toml("quadratic", steps=steps, params={"l1": L1, "l2": L2}, runs=runs)


def records(text: str, anatomy: bool = True) -> list:
    scenario = parse_scenario(text)
    prepared = pipeline.prepare(scenario)
    return list(pipeline.steps(prepared, scenario.runs[0], anatomy=anatomy))


def test_gd_step_is_minus_lr_times_the_gradient():
    lr = 0.3
    steps = records(quadratic(5, lr=lr))
    for s, following in zip(steps, steps[1:], strict=False):
        gradient = (L1 * s.x, L2 * s.y)
        descent = (-lr * gradient[0], -lr * gradient[1])
        assert s.anatomy.descent == pytest.approx(descent, rel=1e-15)
        # GD's update is −lr·∇f: the step taken is that vector (to float64 rounding of θ)
        assert s.anatomy.step == pytest.approx(descent, rel=1e-12)
        assert s.anatomy.step == pytest.approx((following.x - s.x, following.y - s.y), rel=1e-12)
        assert s.anatomy.momentum is None and s.anatomy.offplane == (None, None, None)
    assert steps[-1].anatomy is None  # no update leaves the last step


def test_momentum_buffer_is_torchs_sum_of_past_gradients():
    # torch.optim.SGD: b₁ = g₀, b_{k+1} = μ b_k + g_k (dampening 0), θ_{k+1} = θ_k − lr b_{k+1}
    lr, mu = 0.1, 0.9
    steps = records(quadratic(6, optimizer="momentum", lr=lr, momentum=mu))
    buffer = np.zeros(2)
    for s in steps[:-1]:
        buffer = mu * buffer + [L1 * s.x, L2 * s.y] if s.step else np.array([L1 * s.x, L2 * s.y])
        np.testing.assert_allclose(s.anatomy.momentum, -lr * buffer, rtol=1e-12)
        np.testing.assert_allclose(s.anatomy.step, -lr * buffer, rtol=1e-12)
        np.testing.assert_allclose(s.anatomy.number("momentum_buffer"), buffer, rtol=1e-12)


def test_records_without_anatomy_are_the_same_records():
    text = quadratic(20, optimizer="adam", lr=0.05)
    with_ = records(text)
    without = records(text, anatomy=False)
    assert [s.anatomy is None for s in without] == [True] * 21
    assert [(s.x, s.y, s.loss) for s in with_] == [(s.x, s.y, s.loss) for s in without]


def bare_loop_state(make_opt, theta0: torch.Tensor, steps: int) -> tuple[torch.Tensor, dict]:
    """The oracle: `steps` updates of the textbook torch.optim loop on the quadratic."""
    theta = theta0.clone().requires_grad_(True)
    opt = make_opt([theta])
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (L1 * theta[0] ** 2 + L2 * theta[1] ** 2)).backward()
        opt.step()
    return theta.detach(), opt.state[theta]


STATE_ORACLES = [
    (
        {"optimizer": "momentum", "lr": 0.05, "momentum": 0.9},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        ("momentum_buffer",),
    ),
    (
        {"optimizer": "adam", "lr": 0.05, "betas": [0.8, 0.99]},
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99)),
        ("step", "exp_avg", "exp_avg_sq"),
    ),
    (
        {"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.5},
        lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, eps=1e-8),
        ("step", "square_avg", "momentum_buffer"),
    ),
]


@pytest.mark.parametrize(("keys", "make_opt", "names"), STATE_ORACLES, ids=["sgd", "adam", "rms"])
@pytest.mark.parametrize("k", [1, 7])
def test_numbers_are_torch_optims_state_after_k_steps(keys, make_opt, names, k):
    # record k−1 carries the update k−1 -> k, read after torch's k-th step: exactly its state
    anatomy = records(quadratic(k, **keys))[k - 1].anatomy
    theta, state = bare_loop_state(make_opt, torch.tensor(START, dtype=torch.float64), k)
    for name in names:
        expected = (float(state[name]),) if name == "step" else tuple(state[name].tolist())
        assert anatomy.number(name) == expected, name
    if "exp_avg" in names:  # Adam's preconditioner and bias corrections, as torch computes them
        beta1, beta2 = keys["betas"]
        assert anatomy.number("bias_correction") == (1 - beta1**k, 1 - beta2**k)
        v_hat = state["exp_avg_sq"] / (1 - beta2**k)
        np.testing.assert_allclose(anatomy.number("preconditioner"), 1 / (v_hat.sqrt() + 1e-8),
                                   rtol=1e-15)  # fmt: skip


def test_adam_step_is_the_preconditioned_momentum_not_the_gradient():
    # Adam scales each coordinate: the step and −η∇f point in different directions
    steps = records(quadratic(3, optimizer="adam", lr=0.05))
    anatomy = steps[1].anatomy
    m_hat = -np.array(anatomy.momentum) / 0.05  # the bias-corrected first moment
    step = m_hat * np.array(anatomy.number("preconditioner")) * -0.05
    np.testing.assert_allclose(anatomy.step, step, rtol=1e-12)
    cosine = np.dot(anatomy.step, anatomy.descent) / (
        np.linalg.norm(anatomy.step) * np.linalg.norm(anatomy.descent)
    )
    assert cosine < 0.95  # measured 0.84 (33° apart): visibly different directions


def test_network_vectors_split_into_plane_and_off_plane_parts():
    text = network_toml(steps=5, seed=3, runs=[run("r", optimizer="momentum", lr=0.2)])
    scenario = parse_scenario(text)
    prepared = pipeline.prepare(scenario)
    plane = prepared.problem.plane
    thetas: list[torch.Tensor] = []
    steps = list(
        pipeline.steps(prepared, scenario.runs[0], lambda k, t: thetas.append(t.clone()), True)
    )
    basis = torch.stack([plane.d1, plane.d2]).double()
    for s, theta, following in zip(steps, thetas, thetas[1:], strict=False):
        full = (following - theta).double()
        a, b = s.anatomy.step
        in_plane = a * basis[0] + b * basis[1]
        share = s.anatomy.offplane[2]
        # ‖in-plane‖² + ‖off-plane‖² = ‖v‖² (orthogonal projection); a random plane misses
        # most of a step (measured: 96-97 % off-plane here)
        norm = full.norm().item()
        assert math.hypot(in_plane.norm().item(), share * norm) == pytest.approx(norm, rel=1e-9)
        assert 0.0 <= share <= 1.0 and (full - in_plane).norm().item() == pytest.approx(
            share * norm, rel=1e-9
        )
    for s, following in zip(steps, steps[1:], strict=False):
        # the step's projection moves the ball from (x_k, y_k) to (x_{k+1}, y_{k+1}): the
        # plane is affine; float32 weights, measured 2e-9 apart
        assert s.anatomy.step == pytest.approx((following.x - s.x, following.y - s.y), abs=1e-6)
        # networks get norms, not every coordinate; ∇f's is the record's own gradient norm
        assert s.anatomy.number("grad") == pytest.approx((s.grad_norm,), rel=1e-6)
        assert len(s.anatomy.number("momentum_buffer")) == 1
