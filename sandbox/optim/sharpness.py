"""Sharpness: the top eigenvalues of the loss Hessian, from Hessian-vector products only.

The Hessian is never formed. ``HVP`` builds the gradient graph once at θ and then each product
H·v is one double-backward pass (about 1 ms for 4k parameters on our CPUs); ``lanczos`` turns
k products into the top eigenpairs. Everything runs in θ's dtype: float32 for networks, float64
for the 2-parameter analytic surfaces. The small tridiagonal eigenproblem is solved in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor


class HVP:
    """Hessian-vector products of a loss at a fixed point θ.

    Parameters
    ----------
    loss_fn
        Maps θ (P,) to a scalar loss; differentiable twice with autograd.
    theta
        The point; copied, so later in-place updates of the caller's tensor do not matter.

    Attributes
    ----------
    loss, grad
        The loss value and its gradient at θ (detached), computed on the way.
    """

    def __init__(self, loss_fn: Callable[[Tensor], Tensor], theta: Tensor):
        self.theta = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn(self.theta)
            (self._grad,) = torch.autograd.grad(loss, self.theta, create_graph=True)
        self.loss = loss.detach()
        self.grad = self._grad.detach()

    def __call__(self, v: Tensor) -> Tensor:
        """H·v for a vector v (P,), via d(g·v)/dθ."""
        if not self._grad.requires_grad:  # the loss is linear in θ: H = 0
            return torch.zeros_like(self.grad)
        (hv,) = torch.autograd.grad(
            self._grad,
            self.theta,
            grad_outputs=v.to(self.grad.dtype),
            retain_graph=True,
            allow_unused=True,
        )
        return torch.zeros_like(self.grad) if hv is None else hv


def lanczos(
    hvp: Callable[[Tensor], Tensor],
    dim: int,
    k: int = 20,
    v0: Tensor | None = None,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """Top eigenpairs of a symmetric operator from k Lanczos steps with full reorthogonalisation.

    Parameters
    ----------
    hvp
        The operator v -> A·v on vectors of length ``dim``.
    k
        Number of steps (operator applications), capped at ``dim``.
    v0
        Starting vector (e.g. the previous top eigenvector, to warm-start); random from ``seed``
        when None. If the Krylov space closes early (v0 an eigenvector), the iteration restarts
        from a random vector orthogonal to the basis, so every step still adds information.
    dtype
        Working dtype; defaults to v0's, else torch's default dtype.
    device
        Where the basis lives (the operator's device); defaults to v0's, else the CPU.

    Returns
    -------
    eigenvalues, vectors
        Ritz values (m,) in descending order and the unit Ritz vectors (m, dim) as rows, m = min(k,
        dim). The extreme ones converge first: the top values are accurate long before k = dim.
    """
    dtype = dtype or (v0.dtype if v0 is not None else torch.get_default_dtype())
    device = device or (v0.device if v0 is not None else "cpu")
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same start vector on any device
    k = min(k, dim)
    basis = torch.zeros(k, dim, dtype=dtype, device=device)
    q = _random(dim, dtype, gen).to(device)
    if v0 is not None and torch.linalg.vector_norm(v0) > 0:
        q = v0.detach().to(dtype).flatten()
    alphas, betas = [], []
    for j in range(k):
        basis[j] = q / torch.linalg.vector_norm(q)
        w = hvp(basis[j]).detach().to(dtype).flatten()
        alphas.append(float(basis[j] @ w))
        if j + 1 == k:
            break
        q = _orthogonalise(w, basis[: j + 1])
        betas.append(float(torch.linalg.vector_norm(q)))
        scale = max(max(abs(a) for a in alphas), max(betas), 1e-30)
        if betas[-1] <= 100 * torch.finfo(dtype).eps * scale:
            # Invariant subspace found: restart, with no coupling to the old basis.
            fresh = _random(dim, dtype, gen).to(device)
            q, betas[-1] = _orthogonalise(fresh, basis[: j + 1]), 0.0
    return _ritz(alphas, betas, basis)


def _random(dim: int, dtype: torch.dtype, gen: torch.Generator) -> Tensor:
    return torch.randn(dim, generator=gen, dtype=torch.float64).to(dtype)


def _orthogonalise(w: Tensor, basis: Tensor) -> Tensor:
    # Classical Gram-Schmidt twice ("twice is enough"): keeps the basis orthogonal to working
    # precision, which stops spurious copies of converged eigenvalues from appearing.
    for _ in range(2):
        w = w - basis.T @ (basis @ w)
    return w


def _ritz(alphas: list[float], betas: list[float], basis: Tensor) -> tuple[Tensor, Tensor]:
    tri = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if betas:
        off = torch.tensor(betas, dtype=torch.float64)
        tri += torch.diag(off, 1) + torch.diag(off, -1)
    values, vectors = torch.linalg.eigh(tri)  # ascending
    order = torch.arange(len(alphas) - 1, -1, -1)
    ritz = vectors[:, order].T.to(basis.dtype).to(basis.device) @ basis  # shape (m, dim)
    ritz = ritz / torch.linalg.vector_norm(ritz, dim=1, keepdim=True)
    return values[order].to(basis.dtype), ritz


def top_eigenvalue(
    loss_fn: Callable[[Tensor], Tensor],
    theta: Tensor,
    k: int = 20,
    v0: Tensor | None = None,
    seed: int = 0,
) -> tuple[float, Tensor]:
    """Largest algebraic eigenvalue λ_max of the loss Hessian at θ, and its unit eigenvector.

    Parameters
    ----------
    k
        Lanczos steps (Hessian-vector products).
    v0
        Warm start, e.g. the vector returned at the previous step.
    """
    hvp = HVP(loss_fn, theta)
    values, vectors = lanczos(
        hvp, theta.numel(), k=k, v0=v0, seed=seed, dtype=theta.dtype, device=theta.device
    )
    return float(values[0]), vectors[0]
