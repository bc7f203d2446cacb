"""The Hessian's trace and spectral density, from Hessian-vector products only (issue 20).

Trace: Hutchinson's estimator tr H = E[zᵀHz] over Rademacher vectors z, as PyHessian does, with
the variance reduction of Hutch++ (Meyer, Musco, Musco & Woodruff 2021): a third of the products
find the top of H by a sketch, whose trace is taken exactly, and Hutchinson's probes only see the
rest. Plain Hutchinson is unbiased but its error is √(2/m)·‖H‖_F off the diagonal; on a network
Hessian, with a few dominant (or negative) eigenvalues, that is large: on tests' 2-8-1 network,
60 plain probes missed the trace by 10 % (median of 30 seeds), 60 Hutch++ products by 0.6 %.

Density: stochastic Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019; PyHessian's `density`).
From a random unit vector v, k Lanczos steps give Ritz values θᵢ and weights wᵢ = (first
component of the i-th eigenvector of the tridiagonal matrix)², a Gauss quadrature for
vᵀ g(H) v; averaged over probes it estimates (1/P)·Σ g(λ). The nodes and weights are recorded;
`sandbox.instruments.spectral_density` smooths them into a curve.

Each measurement draws its vectors from its own generator (seeded by the run and the step): the
run's own randomness and path are untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from sandbox.optim.sharpness import HVP, lanczos

Tensor = torch.Tensor

TRACE_PRODUCTS = 60  # Hessian-vector products per trace estimate (see the module doc)
SLQ_PROBES = 4  # random start vectors per spectral density
SLQ_STEPS = 30  # Lanczos steps per start vector (capped at P)


def hessian_trace(
    loss_fn: Callable[[Tensor], Tensor],
    theta: Tensor,
    products: int = TRACE_PRODUCTS,
    seed: int = 0,
) -> float:
    """tr H of the loss at θ, from `products` Hessian-vector products (Hutch++)."""
    hvp = HVP(loss_fn, theta)
    gen = torch.Generator().manual_seed(seed)
    dim, sketch = theta.numel(), max(1, products // 3)

    def apply(vectors: Tensor) -> Tensor:  # H·V for the columns of V
        return torch.stack([hvp(v) for v in vectors.T], dim=1).to(torch.float64)

    basis, _ = torch.linalg.qr(apply(_rademacher(dim, sketch, gen).to(theta)))
    exact = float((basis * apply(basis.to(theta))).sum())  # tr(QᵀHQ)
    probes = _rademacher(dim, max(1, products - 2 * sketch), gen).to(basis.device)
    rest = probes - basis @ (basis.T @ probes)  # Hutchinson on (I − QQᵀ) H (I − QQᵀ)
    return exact + float((rest * apply(rest.to(theta))).sum()) / probes.shape[1]


def spectral_density(
    loss_fn: Callable[[Tensor], Tensor],
    theta: Tensor,
    probes: int = SLQ_PROBES,
    steps: int = SLQ_STEPS,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """SLQ nodes and weights of the Hessian's eigenvalue density at θ, each (probes, m) float64
    with m = min(steps, P); each row's weights sum to 1 (to rounding)."""
    hvp = HVP(loss_fn, theta)
    gen = torch.Generator().manual_seed(seed)
    dim = theta.numel()
    nodes, weights = [], []
    for j in range(probes):
        start = _rademacher(dim, 1, gen)[:, 0]
        start = (start / torch.linalg.vector_norm(start)).to(theta)
        values, vectors = lanczos(
            hvp, dim, k=steps, v0=start, seed=seed + j, dtype=theta.dtype, device=theta.device
        )
        nodes.append(values.double())
        # Ritz vector yᵢ = Q·sᵢ with Q's first column the start: yᵢ·start = sᵢ[0] (up to sign).
        weights.append((vectors.double() @ start.double()) ** 2)
    return torch.stack(nodes).cpu(), torch.stack(weights).cpu()


def _rademacher(dim: int, count: int, gen: torch.Generator) -> Tensor:
    """(dim, count) float64 of ±1, drawn on the CPU (the same numbers on any device)."""
    return torch.randint(0, 2, (dim, count), generator=gen).to(torch.float64) * 2 - 1


def hessian_probes(loss_fn, run, k: int, theta: Tensor, seed: int) -> tuple:
    """The probes `trace` and `spectrum` that run `run` asks for at step k (`trace_every`,
    `density_every`): ("trace", (tr H,)) and ("spectrum", (nodes…, weights…)) flattened."""
    found = []
    if run.trace_every and k % run.trace_every == 0:
        found.append(("trace", (hessian_trace(loss_fn, theta, seed=seed + k),)))
    if run.density_every and k % run.density_every == 0:
        nodes, weights = spectral_density(loss_fn, theta, seed=seed + k)
        found.append(("spectrum", tuple(nodes.flatten().tolist() + weights.flatten().tolist())))
    return tuple(found)
