"""Two-dimensional planes through a network's parameter space, and the loss surface on them.

A plane is θ(a, b) = θc + a·d₁ + b·d₂. Directions come from a seeded Gaussian with filter
normalisation (Li et al. 2018), from PCA of a trajectory, or from the top-2 Hessian eigenvectors
(chosen in `sandbox.pipeline.slices`, which trains the runs a PCA plane needs first). The iterate
is generally off the plane, so ``Plane.project`` also returns how far off it is. Surfaces are
evaluated on one fixed batch, never mutate anything, and recompute every θ(a, b)
from scratch per chunk (no incremental stepping, whose error would drift across the grid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from sandbox.landscape.mlp import FlatMLP, LossFn

if TYPE_CHECKING:
    from sandbox.landscape.cnn import FlatCNN

Tensor = torch.Tensor


@dataclass(frozen=True, eq=False)
class Plane:
    """The plane θ(a, b) = origin + a·d₁ + b·d₂ in parameter space (d₁ ⟂ d₂ not required)."""

    origin: Tensor  # shape (P,)
    d1: Tensor  # shape (P,)
    d2: Tensor  # shape (P,)
    _basis: Tensor = field(init=False, repr=False)  # shape (2, P)
    _basis64: Tensor = field(init=False, repr=False)  # float64 copies, for projections
    _origin64: Tensor = field(init=False, repr=False)
    _gram_inv: Tensor = field(init=False, repr=False)  # shape (2, 2), float64

    def __post_init__(self) -> None:
        basis = torch.stack([self.d1, self.d2]).to(self.origin.dtype)
        basis64 = basis.double()
        # pinv, not inv: a degenerate plane (d₂ ∥ d₁) still projects, onto its line.
        object.__setattr__(self, "_basis", basis)
        object.__setattr__(self, "_basis64", basis64)
        object.__setattr__(self, "_origin64", self.origin.double())
        object.__setattr__(self, "_gram_inv", torch.linalg.pinv(basis64 @ basis64.T))

    def point(self, a: float, b: float) -> Tensor:
        """θ(a, b), shape (P,)."""
        return self.origin + a * self._basis[0] + b * self._basis[1]

    def points(self, ab: Tensor) -> Tensor:
        """θ(a, b) for each row of ``ab`` (G, 2), shape (G, P)."""
        return torch.addmm(
            self.origin.unsqueeze(0), ab.to(self.origin.device, self.origin.dtype), self._basis
        )

    def project(self, theta: Tensor) -> tuple[float, float, float]:
        """Least-squares plane coordinates (a, b) of θ and the off-plane residual ‖θ − θ(a, b)‖."""
        # float64: the residual of a float32 θ near the plane is a small difference of large terms.
        return self.components(theta.detach().double() - self._origin64)

    def components(self, v: Tensor) -> tuple[float, float, float]:
        """Least-squares coefficients (a, b) of a displacement v on (d₁, d₂) and the norm of
        what is left, ‖v − a·d₁ − b·d₂‖ (orthogonal to the plane: the two parts' squared norms
        add up to ‖v‖²)."""
        basis = self._basis64
        v = v.detach().double()
        a, b = (self._gram_inv @ (basis @ v)).tolist()
        residual = v - a * basis[0] - b * basis[1]
        return a, b, float(torch.linalg.vector_norm(residual))


def random_directions(model: FlatMLP | FlatCNN, theta: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """Two seeded Gaussian directions, filter-normalised to θ (Li et al. 2018).

    Each output row (neuron) of every weight matrix is rescaled to the norm of that row of θ, so a
    step of 1 along the direction changes every neuron by about its own size, whatever the layer's
    scale. Bias and BatchNorm entries are zero, as in Li et al.'s experiments (their code's
    ``ignore="biasbn"``): a bias "filter" is a single number, so normalising it would leave only a
    random sign times |b|, and at the initial weights biases are 0 anyway; BatchNorm scales and
    shifts have no comparable per-neuron scale.
    """
    gen = torch.Generator().manual_seed(seed)
    theta = theta.detach()
    directions = []
    for _ in range(2):
        raw = torch.randn(model.n_params, generator=gen, dtype=torch.float64).to(theta.dtype)
        d = torch.zeros_like(theta)
        for block in model.blocks:
            if block.is_weight:
                block.view(d).copy_(_filter_normalise(block.view(raw), block.view(theta)))
        directions.append(d)
    return directions[0], directions[1]


def _filter_normalise(rows: Tensor, reference: Tensor) -> Tensor:
    # Each row (one neuron's incoming weights; a convolution's whole filter, in × 3 × 3) gets the
    # norm of the same row of θ.
    dims = tuple(range(1, rows.dim()))
    scale = torch.linalg.vector_norm(reference, dim=dims) / torch.linalg.vector_norm(rows, dim=dims)
    return rows * scale.nan_to_num(0.0).view(-1, *[1] * len(dims))


def pca_directions(
    snapshots: Tensor, origin: Tensor, chunk: int = 1 << 16
) -> tuple[Tensor, Tensor, tuple[float, float]]:
    """Top-2 principal directions of a trajectory and their explained-variance ratios.

    As Li et al. (2018): PCA of the displacements ``snapshots − origin`` (T, P), centred at their
    mean. Centring makes the result independent of the origin in exact arithmetic; subtracting it
    first keeps float32 snapshots from cancelling. The T×T Gram matrix is accumulated in float64
    over chunks of parameters, so memory stays O(T² + chunk·T) for any P.

    Returns
    -------
    d1, d2, (ratio1, ratio2)
        Unit vectors in origin's dtype. Sign convention: the trajectory moves forwards along each
        direction (first to last snapshot ≥ 0); a tie falls back to the largest entry being
        positive. Ratios are (0, 0) when the snapshots do not move.
    """
    n, dim = snapshots.shape
    if n < 2 or dim < 2:
        raise ValueError(f"PCA directions need 2+ snapshots of 2+ parameters, got {n} of {dim}")
    disp = snapshots.detach() - origin.detach()
    mean = disp.double().mean(0)
    gram = torch.zeros(n, n, dtype=torch.float64)
    for s in range(0, dim, chunk):
        block = disp[:, s : s + chunk].double() - mean[s : s + chunk]
        gram += block @ block.T
    values, vectors = torch.linalg.eigh(gram)  # ascending; values are squared singular values
    values = values.clamp_min(0).flip(0)
    vectors = vectors.flip(1)
    total = float(values.sum())
    dirs = [_principal_axis(disp, mean, vectors[:, i], chunk, i) for i in range(2)]
    dirs = [_orient(d, disp[-1].double() - disp[0].double()).to(origin.dtype) for d in dirs]
    ratios = (float(values[0]) / total, float(values[1]) / total) if total > 0 else (0.0, 0.0)
    return dirs[0], dirs[1], ratios


def _principal_axis(disp: Tensor, mean: Tensor, u: Tensor, chunk: int, i: int) -> Tensor:
    # Right singular vector from a left one: v ∝ Xᵀu (X the centred displacements). A trajectory
    # that never moved has no principal axes: fall back to coordinate axis i.
    v = torch.cat(
        [
            (disp[:, s : s + chunk].double() - mean[s : s + chunk]).T @ u
            for s in range(0, disp.shape[1], chunk)
        ]
    )
    norm = torch.linalg.vector_norm(v)
    return v / norm if norm > 0 else _unit(disp.shape[1], i)


def _unit(dim: int, i: int) -> Tensor:
    e = torch.zeros(dim, dtype=torch.float64)
    e[i] = 1.0
    return e


def _orient(d: Tensor, progress: Tensor) -> Tensor:
    """``d`` or ``−d``: the one along which ``progress`` is positive (else by the largest entry)."""
    along = float(d @ progress)
    if abs(along) > 1e-12 * float(torch.linalg.vector_norm(progress)):
        return d if along > 0 else -d
    return largest_entry_positive(d)


def largest_entry_positive(d: Tensor) -> Tensor:
    """``d`` or ``−d``: the one whose largest-magnitude entry is positive (a sign convention)."""
    return d if float(d[d.abs().argmax()]) > 0 else -d


def grid_axis(span: float, resolution: int) -> Tensor:
    """Coordinates of a surface grid along one plane axis: ``resolution`` values in ±span."""
    return torch.linspace(-span, span, resolution, dtype=torch.float64)


def surface_grid(
    model: FlatMLP | FlatCNN,
    loss_fn: LossFn,
    plane: Plane,
    span: float,
    resolution: int,
    x: Tensor,
    y: Tensor,
    chunk: int = 16,
) -> Tensor:
    """Loss on a resolution² grid of the plane, a and b in [−span, span] (see ``grid_axis``).

    Row i holds b = axis[i], column j holds a = axis[j], so ``grid[i, j]`` is the loss at
    θ(axis[j], axis[i]): the array reads like an image with a to the right and b along the rows.
    ``x``, ``y`` is the one fixed evaluation batch; ``loss_fn(outputs, y)`` is a ``make_loss``
    function. Points are evaluated ``chunk`` at a time with ``model.forward_batched``.
    """
    axis = grid_axis(span, resolution)
    b, a = torch.meshgrid(axis, axis, indexing="ij")
    ab = torch.stack([a.flatten(), b.flatten()], 1)  # shape (res², 2), row-major over (b, a)
    losses = []
    with torch.no_grad():
        for s in range(0, len(ab), chunk):
            thetas = plane.points(ab[s : s + chunk])  # shape (G, P), from scratch every chunk
            losses.append(loss_fn(model.forward_batched(thetas, x), y))
    return torch.cat(losses).view(resolution, resolution)
