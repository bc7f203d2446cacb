"""Datasets, each against an oracle: deterministic per seed, shapes, and the geometry that
defines it.
"""

from __future__ import annotations

import math

import pytest
import torch

from sandbox.landscape.data import make_dataset
from sandbox.scenario.schema import DataSpec

DATASETS = ("moons", "spirals", "circles", "xor", "gaussians", "sine")


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_deterministic_per_seed_and_differ_between_seeds(name):
    spec = DataSpec(name=name, n=101, classes=3)
    a, b, c = make_dataset(spec, 0), make_dataset(spec, 0), make_dataset(spec, 1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    # The spec's own seed wins over the scenario's.
    seeded = DataSpec(name=name, n=101, classes=3, seed=7)
    assert torch.equal(make_dataset(seeded, 0).x, make_dataset(seeded, 1).x)


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_shapes_and_balanced_classes(name):
    data = make_dataset(DataSpec(name=name, n=101, classes=3), 0)
    assert data.x.dtype == torch.float32 and data.x.shape == (101, data.input_dim)
    assert data.x.abs().max() < 5  # order-one inputs (measured at most 3.13: the sine's π)
    if name == "sine":
        assert (data.task, data.n_classes, data.input_dim) == ("regression", 0, 1)
        assert data.y.shape == (101, 1) and data.y.dtype == torch.float32
        return
    k = 3 if name in ("spirals", "gaussians") else 2
    assert (data.task, data.n_classes, data.input_dim) == ("classification", k, 2)
    assert data.y.shape == (101,) and data.y.dtype == torch.int64
    counts = torch.bincount(data.y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1


def test_sine_fits_its_formula():
    data = make_dataset(DataSpec(name="sine", n=500, noise=0.0), 0)
    assert data.x.min() >= -math.pi and data.x.max() <= math.pi
    assert torch.allclose(data.y, torch.sin(data.x), atol=1e-6)  # float32 (measured exact)


def test_moons_without_noise_lie_on_two_half_circles():
    data = make_dataset(DataSpec(name="moons", n=200, noise=0.0), 0)
    centres = {0: torch.tensor([-0.5, -0.25]), 1: torch.tensor([0.5, 0.25])}
    for label, centre in centres.items():
        radius = torch.linalg.vector_norm(data.x[data.y == label] - centre, dim=1)
        assert torch.allclose(radius, torch.ones_like(radius), atol=1e-5)  # measured 1.2e-7
    # The upper moon is class 0, the lower class 1, at their tips (measured exactly ∓0.25; 1e-6
    # allows float32 rounding).
    assert data.x[data.y == 0, 1].min() >= -0.25 - 1e-6
    assert data.x[data.y == 1, 1].max() <= 0.25 + 1e-6


def test_circles_classes_separate_by_radius():
    data = make_dataset(DataSpec(name="circles", n=200, noise=0.05), 0)
    radius = torch.linalg.vector_norm(data.x, dim=1)
    assert radius[data.y == 0].min() > radius[data.y == 1].max()


def test_xor_labels_follow_the_quadrant_sign():
    data = make_dataset(DataSpec(name="xor", n=200, noise=0.1), 0)
    same_sign = (data.x[:, 0] * data.x[:, 1] > 0).long()
    # Noise 0.1 may push a point near an axis across it: measured 200 of 200 on their side.
    assert (same_sign == 1 - data.y).float().mean() > 0.99


def test_gaussian_blobs_are_nearest_to_their_own_centre():
    data = make_dataset(DataSpec(name="gaussians", n=300, classes=5, noise=0.1), 0)
    centres = torch.stack([data.x[data.y == c].mean(0) for c in range(5)])
    nearest = torch.cdist(data.x, centres).argmin(1)
    assert torch.equal(nearest, data.y)


@pytest.mark.parametrize("arms", [2, 3, 5])
def test_spirals_have_the_requested_number_of_arms(arms):
    data = make_dataset(DataSpec(name="spirals", n=50 * arms, classes=arms, noise=0.0), 0)
    # Each arm starts at angle 2πc/k: its innermost point points that way (float32 rounding:
    # measured 1.6e-7 rad at most).
    for c in range(arms):
        pts = data.x[data.y == c]
        inner = pts[torch.linalg.vector_norm(pts, dim=1).argmin()]
        angle = math.atan2(inner[1], inner[0]) % (2 * math.pi)
        expected = (2 * math.pi * c / arms + 0.25 * math.pi) % (2 * math.pi)
        assert abs(math.remainder(angle - expected, 2 * math.pi)) < 1e-5
