"""One optimiser update taken apart, for the app's anatomy arrows and its single-step panel.

After torch.optim has taken the step θ_k -> θ_{k+1}, this reads what went into it: the raw
gradient, the optimiser's momentum buffer and second moments from `optimizer.state[θ]` (torch's
own numbers, not a re-derivation), and the displacement actually taken. Network vectors are
projected on the slice plane the ball is drawn on, with the share of each that the plane misses.
"""

from __future__ import annotations

import math

import torch

from sandbox.trace.records import Anatomy

# The torch.optim state entries shown, in this order, under torch's own names.
STATE_KEYS = (
    "step",
    "momentum_buffer",
    "exp_avg",
    "exp_avg_sq",
    "max_exp_avg_sq",
    "square_avg",
    "grad_avg",
    "sum",
)

Numbers = list[tuple[str, tuple[float, ...]]]


def take_apart(
    problem,
    optimizer: torch.optim.Optimizer,
    theta: torch.Tensor,
    before: torch.Tensor,
    grad: torch.Tensor,
    lr: float,
) -> Anatomy:
    """The update just taken from `before` (θ_k) to `theta` (θ_{k+1}): `grad` is ∇f(θ_k), as
    recorded; `theta.grad` still holds what the optimiser was fed (noise, clip, precondition)."""
    state, group = optimizer.state[theta], optimizer.param_groups[0]
    buffer = momentum_buffer(state, group)
    vectors = (-lr * grad, None if buffer is None else -lr * buffer, theta.detach() - before)
    planar, offplane = zip(*(_in_plane(problem, v) for v in vectors), strict=True)
    numbers = _numbers(problem, state, group, grad, theta.grad, lr)
    return Anatomy(*planar, offplane=offplane, numbers=tuple(numbers))


def momentum_buffer(state: dict, group: dict) -> torch.Tensor | None:
    """The optimiser's running direction: SGD's and RMSprop's `momentum_buffer`, or Adam's first
    moment bias-corrected (m / (1 − β₁ᵗ): at t = 1 it is the gradient itself, not a tenth of it,
    so −lr·m̂ is comparable with −lr·∇f); None for optimisers without one."""
    if "momentum_buffer" in state:
        return state["momentum_buffer"]
    if "exp_avg" in state:
        corrections = bias_corrections(state, group)
        return state["exp_avg"] / corrections[0] if corrections else state["exp_avg"]
    return None


def _in_plane(problem, v: torch.Tensor | None):
    """(a, b) of v in the drawn plane and the share of ‖v‖ off it (None: analytic, or no v)."""
    if v is None:
        return None, None
    if not problem.is_network:
        x, y = v.tolist()
        return (x, y), None
    a, b, residual = problem.plane.components(v)
    norm = float(torch.linalg.vector_norm(v.double()))
    return (a, b), residual / norm if norm > 0 else 0.0


def _numbers(problem, state: dict, group: dict, grad, fed, lr: float) -> Numbers:
    """The update's figures: every coordinate of a 2-parameter run, norms of a network's."""

    def values(t: torch.Tensor) -> tuple[float, ...]:
        return (float(torch.linalg.vector_norm(t)),) if problem.is_network else tuple(t.tolist())

    numbers: Numbers = [("grad", values(grad))]
    if fed is not None and fed is not grad:  # noise, clipping or a preconditioner changed it
        numbers.append(("update", values(fed)))
    numbers.append(("lr", (lr,)))
    for key in STATE_KEYS:
        if isinstance(state.get(key), torch.Tensor):
            numbers.append((key, (float(state[key]),) if key == "step" else values(state[key])))
    scale = preconditioner(state, group)
    if scale is not None:
        corrections = bias_corrections(state, group)
        if corrections is not None:
            numbers.append(("bias_correction", corrections))
        numbers.append(
            ("preconditioner_range", (scale.min().item(), scale.max().item()))
            if problem.is_network
            else ("preconditioner", tuple(scale.tolist()))
        )
    return numbers


def bias_corrections(state: dict, group: dict) -> tuple[float, float] | None:
    """Adam's (1 − β₁ᵗ, 1 − β₂ᵗ); None for optimisers without (an optimiser with a first
    moment but no second, or no step count, is not corrected)."""
    if not ("exp_avg" in state and "exp_avg_sq" in state and "step" in state):
        return None
    t = float(state["step"])
    beta1, beta2 = group["betas"]
    return 1 - beta1**t, 1 - beta2**t


def preconditioner(state: dict, group: dict) -> torch.Tensor | None:
    """The per-coordinate factor an adaptive optimiser multiplies its direction by, as torch.optim
    computes it: Adam 1/(√(v/(1 − β₂ᵗ)) + ε), RMSprop 1/(√v + ε) (centred: v − ḡ²), Adagrad
    1/(√Σg² + ε). None for SGD-like optimisers (no per-coordinate scaling)."""
    eps = group.get("eps")
    corrections = bias_corrections(state, group)
    if corrections is not None:
        v = state.get("max_exp_avg_sq", state["exp_avg_sq"])
        return 1 / (v.sqrt() / math.sqrt(corrections[1]) + eps)
    if "square_avg" in state:
        v = state["square_avg"]
        if "grad_avg" in state:
            v = v - state["grad_avg"] * state["grad_avg"]
        return 1 / (v.sqrt() + eps)
    if "sum" in state:
        return 1 / (state["sum"].sqrt() + eps)
    return None
