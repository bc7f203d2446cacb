"""Small datasets generated in code, deterministic from a seed (nothing is downloaded); one
bundled real dataset, ``digits`` (`sandbox.landscape.digits`: a seeded subset of 8×8 images); or
a scenario's own file (``file = "points.csv"``), read and checked at load by
`sandbox.scenario.datafile`: its arrays are handed on as they are.

Every dataset is drawn with one seeded ``torch.Generator``, so the same spec and seed give the
same tensors on every machine torch's CPU generator is deterministic on. Inputs are built at a
fixed scale of order one (no data-dependent standardisation), so ``noise``, the standard
deviation of the Gaussian noise added to each coordinate (or to the target, for ``sine``), means
the same thing across datasets. Classes are balanced (counts differ by at most one) and the rows
are shuffled with the same generator.

``low_rank`` is a multi-output regression for the implicit low-rank bias (PHENOMENA 17): inputs
x ~ N(0, I_dim), targets y = W*·x + noise with W* = √(dim/rank)·U·Vᵀ of rank ``rank`` (U, V
random with orthonormal columns, so every nonzero singular value is √(dim/rank) and the targets
have unit variance per coordinate on average). ``noise`` is added to the targets, as for ``sine``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from sandbox.catalogue.networks import input_dim_of, n_classes_of
from sandbox.landscape.digits import load_digits
from sandbox.scenario.schema import DataSpec


@dataclass(frozen=True, eq=False)
class Dataset:
    """A generated dataset: inputs, targets and what kind of task they pose."""

    x: torch.Tensor  # shape (n, d) float32
    y: torch.Tensor  # shape (n,) int64 class labels, or (n, 1) float32 regression targets
    task: Literal["classification", "regression"]
    n_classes: int  # 0 for regression
    input_dim: int
    target_map: torch.Tensor | None = None  # low_rank: W* (dim, dim), float64


def make_dataset(spec: DataSpec, seed: int) -> Dataset:
    """Generate the dataset a DataSpec describes.

    Parameters
    ----------
    spec
        The validated data table of a scenario.
    seed
        Used when ``spec.seed`` is unset (normally the scenario's seed).
    """
    if spec.table is not None:
        return _from_file(spec)
    gen = torch.Generator().manual_seed(spec.seed if spec.seed is not None else seed)
    if spec.name == "sine":
        return _sine(spec.n, spec.noise, gen)
    if spec.name == "low_rank":
        return _low_rank(spec.n, spec.dim, spec.rank, spec.noise, gen)
    if spec.name == "digits":
        x, y = load_digits(spec.n, gen)
        return Dataset(x, y, "classification", n_classes_of(spec), input_dim_of(spec))
    k = n_classes_of(spec)
    counts = [spec.n // k + (c < spec.n % k) for c in range(k)]
    parts = [_GENERATORS[spec.name](c, m, k) for c, m in enumerate(counts)]
    x = torch.cat(parts) + spec.noise * torch.randn(spec.n, 2, generator=gen)
    y = torch.cat([torch.full((m,), c, dtype=torch.int64) for c, m in enumerate(counts)])
    order = torch.randperm(spec.n, generator=gen)
    return Dataset(x[order].float(), y[order], "classification", k, 2)


def _from_file(spec: DataSpec) -> Dataset:
    # The arrays read and checked when the scenario was validated (sandbox/scenario/datafile.py),
    # used as they are: no shuffling, no standardisation (what the student's notebook sees).
    table = spec.table
    x, y = torch.from_numpy(table.x.copy()), torch.from_numpy(table.y.copy())
    return Dataset(x, y, table.task, table.n_classes, table.input_dim)


def _sine(n: int, noise: float, gen: torch.Generator) -> Dataset:
    x = (2 * torch.rand(n, 1, generator=gen) - 1) * math.pi  # shape (n, 1), uniform on [-pi, pi]
    y = torch.sin(x) + noise * torch.randn(n, 1, generator=gen)
    return Dataset(x, y, "regression", 0, 1)


def _low_rank(n: int, dim: int, rank: int, noise: float, gen: torch.Generator) -> Dataset:
    x = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    u = torch.linalg.qr(torch.randn(dim, rank, generator=gen, dtype=torch.float64)).Q
    v = torch.linalg.qr(torch.randn(dim, rank, generator=gen, dtype=torch.float64)).Q
    w = math.sqrt(dim / rank) * u @ v.T  # shape (dim, dim), rank `rank`
    y = x @ w.T + noise * torch.randn(n, dim, generator=gen, dtype=torch.float64)
    return Dataset(x.float(), y.float(), "regression", 0, dim, target_map=w)


def _even(m: int) -> torch.Tensor:
    # Evenly spaced parameter in [0, 1): an even coverage of each curve, randomness from noise.
    return torch.arange(m, dtype=torch.float32) / max(m, 1)


def _moons(c: int, m: int, k: int) -> torch.Tensor:
    # The two interleaved half circles of sklearn's make_moons, centred near the origin.
    t = math.pi * _even(m)
    if c == 0:
        pts = torch.stack([torch.cos(t), torch.sin(t)], 1)
    else:
        pts = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    return pts - torch.tensor([0.5, 0.25])


def _spirals(c: int, m: int, k: int) -> torch.Tensor:
    # Arm c starts at angle 2πc/k and winds 1.25 turns outwards to radius 2.
    r = 0.1 + 0.9 * _even(m)
    angle = 2 * math.pi * c / k + 2.5 * math.pi * r
    return 2 * r[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], 1)


def _circles(c: int, m: int, k: int) -> torch.Tensor:
    # Class 0 on the outer circle (radius 1.4), class 1 on the inner one (radius 0.7).
    angle = 2 * math.pi * _even(m)
    radius = 1.4 if c == 0 else 0.7
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)


def _xor(c: int, m: int, k: int) -> torch.Tensor:
    # Class 0 around (1, 1) and (-1, -1), class 1 around (-1, 1) and (1, -1); noise is the spread.
    centres = [(1.0, 1.0), (-1.0, -1.0)] if c == 0 else [(-1.0, 1.0), (1.0, -1.0)]
    return torch.tensor([centres[i % 2] for i in range(m)]).reshape(m, 2)


def _gaussians(c: int, m: int, k: int) -> torch.Tensor:
    # k blobs centred on a circle of radius 1.5; noise is each blob's standard deviation.
    angle = 2 * math.pi * c / k
    return torch.tensor([math.cos(angle), math.sin(angle)]).mul(1.5).expand(m, 2)


_GENERATORS: dict[str, Callable[[int, int, int], torch.Tensor]] = {
    "moons": _moons,
    "spirals": _spirals,
    "circles": _circles,
    "xor": _xor,
    "gaussians": _gaussians,
}
