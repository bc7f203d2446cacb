"""Two optimisers that torch.optim lacks, as small torch.optim.Optimizer classes: SAM and Lion.

SAM (sharpness-aware minimisation; Foret, Kleiner, Mobahi & Neyshabur, ICLR 2021) minimises the
worst loss within a ball of radius ρ around θ. Its step, with the paper's p = 2 (eq. 2-3):

    ε  = ρ · g / ‖g‖₂,                 g = ∇f(θ)        (the ascent: worst point to first order)
    θ ← base_step(θ, ∇f(θ + ε))                           (descend with the gradient found there)

The base step here is SGD with the run's momentum (torch.optim.SGD), so `SAM` is SGD plus the
ascent: `ascent_point` gives θ + ε and `sandbox.optim.run.run_steps` evaluates the gradient there
before it calls `step()` (see the comment there for why the loop, not a closure, does it).

Lion (EvoLved Sign Momentum; Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms",
Algorithm 2), with decoupled weight decay λ:

    c ← β₁·m + (1 − β₁)·g
    θ ← θ − η·(sign(c) + λ·θ)
    m ← β₂·m + (1 − β₂)·g

Every coordinate moves by exactly η (plus the decay) whatever the gradient's size: only its
sign, smoothed by the momentum m, matters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

# Keeps ε finite where the gradient is exactly 0; the published implementation's constant. With
# ρ = 0, ε is 0 and SAM is exactly its base optimiser.
_NORM_FLOOR = 1e-12


class SAM(torch.optim.SGD):
    """SGD (with momentum) whose gradient is taken at the ascent point θ + ρ·g/‖g‖₂."""

    def __init__(self, params: Iterable[torch.Tensor], *, rho: float = 0.05, **sgd) -> None:
        if rho < 0:
            raise ValueError(f"rho must be ≥ 0, got {rho}")
        super().__init__(params, **sgd)
        self.defaults["rho"] = rho
        for group in self.param_groups:
            group["rho"] = rho

    @torch.no_grad()
    def ascent_point(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """θ + ρ·g/‖g‖₂: the first-order worst point within the radius-ρ ball (a new tensor)."""
        rho = self.param_groups[0]["rho"]
        return theta + (rho / (grad.norm() + _NORM_FLOOR)) * grad


class Lion(torch.optim.Optimizer):
    """Lion: a step of size lr along the sign of an interpolated momentum, then decay (above)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, decay = group["lr"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                state = self.state[param]
                if not state:
                    state["exp_avg"] = torch.zeros_like(param)
                momentum = state["exp_avg"]
                direction = (beta1 * momentum + (1 - beta1) * grad).sign()
                param.mul_(1 - lr * decay)  # decoupled: θ − ηλθ, independent of the gradient
                param.add_(direction, alpha=-lr)
                momentum.mul_(beta2).add_(grad, alpha=1 - beta2)
        return loss
