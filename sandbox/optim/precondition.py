"""Gradient transformations applied before the optimiser's update: noise and preconditioning.

Preconditioning multiplies the gradient by a matrix P so that plain (S)GD steps lr·P·g:
- "diag": P = diag(H)⁻¹ (exact on analytic surfaces; Hutchinson's estimate on networks),
- "newton": P = H⁻¹, with eigenvalues below `damping` in magnitude replaced by `damping` and
  negative ones by their magnitude, so that the step still points downhill at a saddle,
- a fixed 2x2 matrix from the scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

LossFn = Callable[[torch.Tensor], torch.Tensor]
HUTCHINSON_SAMPLES = 4


def dense_hessian(loss_fn: LossFn, theta: torch.Tensor) -> torch.Tensor:
    """The full Hessian of loss_fn at θ, shape (P, P)."""
    return torch.autograd.functional.hessian(loss_fn, theta.detach(), vectorize=True)


def damped_inverse(hessian: torch.Tensor, damping: float) -> torch.Tensor:
    """|H|⁻¹ with small eigenvalues raised to `damping` (saddle-free Newton).

    A Hessian that is not finite, or that eigh cannot decompose even in float64, belongs to a
    run that is blowing up: its inverse is NaN, so the step makes θ NaN and the next record
    marks the run diverged (eigh raised instead, and the worker failed: a tiny relu cnn)."""
    if not bool(torch.isfinite(hessian).all()):
        return torch.full_like(hessian, math.nan)
    try:
        eigenvalues, vectors = torch.linalg.eigh(hessian)
    except torch.linalg.LinAlgError:  # float32 did not converge: float64 usually does
        try:
            eigenvalues, vectors = (
                t.to(hessian.dtype) for t in torch.linalg.eigh(hessian.double())
            )
        except torch.linalg.LinAlgError:
            return torch.full_like(hessian, math.nan)
    safe = eigenvalues.abs().clamp_min(damping)
    return (vectors / safe) @ vectors.T


def hutchinson_diagonal(
    loss_fn: LossFn, theta: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Estimate of diag(H) as the mean of v ⊙ Hv over Rademacher vectors v."""
    theta = theta.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    total = torch.zeros_like(theta)
    for i in range(HUTCHINSON_SAMPLES):
        v = torch.randint(0, 2, theta.shape, generator=generator).to(theta.dtype) * 2 - 1
        (hv,) = torch.autograd.grad(grad, theta, v, retain_graph=i < HUTCHINSON_SAMPLES - 1)
        total += v * hv
    return total / HUTCHINSON_SAMPLES


def precondition(
    grad: torch.Tensor,
    kind: str | tuple,
    loss_fn: LossFn,
    theta: torch.Tensor,
    damping: float,
    exact_diagonal: bool,
    generator: torch.Generator,
) -> torch.Tensor:
    """The preconditioned gradient P·g for a run's `precondition` setting."""
    if kind == "none":
        return grad
    if isinstance(kind, tuple):
        return torch.tensor(kind, dtype=grad.dtype) @ grad
    if kind == "newton":
        return damped_inverse(dense_hessian(loss_fn, theta), damping) @ grad
    if exact_diagonal:
        diagonal = torch.diagonal(dense_hessian(loss_fn, theta))
    else:
        diagonal = hutchinson_diagonal(loss_fn, theta, generator)
    return grad / diagonal.abs().clamp_min(damping)
