"""λ_max from Hessian-vector products and Lanczos, against dense float64 eigenvalues."""

from __future__ import annotations

import math

import pytest
import torch

from sandbox.landscape.data import make_dataset
from sandbox.landscape.mlp import FlatMLP, make_loss
from sandbox.optim.sharpness import HVP, lanczos, top_eigenvalue
from sandbox.pipeline.slices import hessian_directions
from sandbox.scenario.schema import DataSpec, ModelSpec


def _tiny_network_loss():
    """A 2-6-6-1 tanh network on moons (67 parameters) as a float64 function of θ."""
    data = make_dataset(DataSpec(name="moons", n=64, noise=0.1), 0)
    model = FlatMLP(ModelSpec(widths=(2, 6, 6, 1), activation="tanh"))
    loss = make_loss("bce", data, 1)
    x = data.x.double()
    theta = model.init_params(0).double()
    return (lambda th: loss(model.forward(th, x), data.y)), theta


def _dense_eigenvalues(loss_fn, theta):
    hessian = torch.autograd.functional.hessian(loss_fn, theta)
    return torch.linalg.eigvalsh(hessian)  # ascending


def test_top_eigenvalue_of_a_tiny_network_matches_dense_eigvalsh():
    loss_fn, theta = _tiny_network_loss()
    assert theta.numel() == 67
    dense = _dense_eigenvalues(loss_fn, theta)
    value, vector = top_eigenvalue(loss_fn, theta, k=20)
    assert abs(value - dense[-1].item()) <= 1e-3 * abs(dense[-1].item())
    # The vector is the eigenvector: H v = λ v.
    hv = HVP(loss_fn, theta)(vector)
    assert torch.linalg.vector_norm(hv - value * vector) <= 1e-3 * abs(value)


def test_top_eigenvalue_in_float32_is_close_too():
    loss_fn, theta = _tiny_network_loss()
    dense = _dense_eigenvalues(loss_fn, theta)[-1].item()
    value, vector = top_eigenvalue(loss_fn, theta.float(), k=20)
    assert vector.dtype == torch.float32
    assert value == pytest.approx(dense, rel=1e-3)


def test_hessian_directions_are_the_top_two_eigenvectors():
    loss_fn, theta = _tiny_network_loss()
    hessian = torch.autograd.functional.hessian(loss_fn, theta)
    values, vectors = torch.linalg.eigh(hessian)
    d1, d2, (l1, l2) = hessian_directions(loss_fn, theta, iters=30)
    assert (l1, l2) == pytest.approx((values[-1].item(), values[-2].item()), rel=1e-3)
    assert abs(float(d1 @ vectors[:, -1])) == pytest.approx(1.0, abs=1e-4)
    assert abs(float(d2 @ vectors[:, -2])) == pytest.approx(1.0, abs=1e-3)
    assert d1[d1.abs().argmax()] > 0  # the sign convention


def test_a_rotated_quadratic_has_its_known_eigenvalues():
    angle = math.radians(30)
    rotation = torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
        dtype=torch.float64,
    )
    hessian = rotation @ torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64)) @ rotation.T

    def loss_fn(theta):
        return 0.5 * theta @ hessian @ theta

    theta = torch.tensor([0.3, -1.2], dtype=torch.float64)
    value, vector = top_eigenvalue(loss_fn, theta)
    assert value == pytest.approx(10.0, rel=1e-12)
    assert abs(float(vector @ rotation[:, 1])) == pytest.approx(1.0, rel=1e-12)
    # A saddle: the largest *algebraic* eigenvalue, not the largest in magnitude.
    saddle_value, _ = top_eigenvalue(lambda t: t[0] ** 2 - 3 * t[1] ** 2, theta)
    assert saddle_value == pytest.approx(2.0, rel=1e-12)


def test_lanczos_finds_the_top_two_of_a_diagonal_operator():
    diagonal = torch.linspace(-5.0, 3.0, 200, dtype=torch.float64)
    diagonal[17], diagonal[101] = 9.0, 7.5
    values, vectors = lanczos(lambda v: diagonal * v, 200, k=40, dtype=torch.float64)
    assert values.shape == (40,) and vectors.shape == (40, 200)
    assert values[:2].tolist() == pytest.approx([9.0, 7.5], rel=1e-8)
    assert abs(vectors[0, 17].item()) == pytest.approx(1.0, rel=1e-6)
    assert abs(vectors[1, 101].item()) == pytest.approx(1.0, rel=1e-6)
    assert torch.all(values[:-1] >= values[1:])


def test_lanczos_caps_k_at_the_dimension_and_is_exact_there():
    matrix = torch.tensor([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]], dtype=torch.float64)
    values, vectors = lanczos(lambda v: matrix @ v, 3, k=20, dtype=torch.float64)
    assert values.tolist() == pytest.approx(torch.linalg.eigvalsh(matrix).flip(0).tolist())
    torch.testing.assert_close(vectors @ vectors.T, torch.eye(3, dtype=torch.float64))


def test_warm_start_gives_the_same_answer():
    loss_fn, theta = _tiny_network_loss()
    cold, vector = top_eigenvalue(loss_fn, theta, k=20)
    warm, warm_vector = top_eigenvalue(loss_fn, theta, k=20, v0=vector)
    assert warm == pytest.approx(cold, rel=1e-6)
    assert abs(float(warm_vector @ vector)) == pytest.approx(1.0, abs=1e-6)
    # Starting exactly on an eigenvector closes the Krylov space at once; Lanczos must restart
    # rather than report that eigenvector's eigenvalue (1, not 4) as the largest.
    diagonal = torch.tensor([1.0, 4.0, 2.0, 3.0], dtype=torch.float64)
    start = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    values, _ = lanczos(lambda v: diagonal * v, 4, k=4, v0=start)
    assert values.tolist() == pytest.approx([4.0, 3.0, 2.0, 1.0])


def test_hvp_does_not_follow_later_changes_to_theta():
    loss_fn, theta = _tiny_network_loss()
    hvp = HVP(loss_fn, theta)
    v = torch.ones_like(theta)
    before = hvp(v)
    theta.add_(0.5)
    torch.testing.assert_close(hvp(v), before)
    loss_value = loss_fn(theta - 0.5)
    torch.testing.assert_close(hvp.loss, loss_value.detach())
