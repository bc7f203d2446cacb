"""The flat-parameter MLP, its losses and slicing planes, each against an oracle.

Datasets: test_network_data.py.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sandbox.catalogue.networks import check_compatible
from sandbox.landscape.data import make_dataset
from sandbox.landscape.mlp import FlatMLP, make_loss
from sandbox.landscape.slicing import (
    Plane,
    grid_axis,
    pca_directions,
    random_directions,
    surface_grid,
)
from sandbox.scenario.schema import DataSpec, ModelSpec

# The network --------------------------------------------------------------------------------------


class Reference(nn.Module):
    """The same MLP built from torch.nn layers, weights copied from θ."""

    def __init__(self, model: FlatMLP, theta: torch.Tensor):
        super().__init__()
        spec = model.spec
        act = {
            "tanh": nn.Tanh(),
            "relu": nn.ReLU(),
            "sigmoid": nn.Sigmoid(),
            "gelu": nn.GELU(),
            "linear": nn.Identity(),
        }[spec.activation]
        self.linears = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(spec.widths[:-1], spec.widths[1:], strict=True)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in spec.widths[1:-1])
        self.act, self.spec = act, spec
        values = {b.name: b.view(theta) for b in model.blocks}
        with torch.no_grad():
            for i, lin in enumerate(self.linears):
                lin.weight.copy_(values[f"layer{i}.weight"])
                lin.bias.copy_(values[f"layer{i}.bias"])
                if f"layer{i}.bn.weight" in values:
                    self.norms[i].weight.copy_(values[f"layer{i}.bn.weight"])
                    self.norms[i].bias.copy_(values[f"layer{i}.bn.bias"])

    def forward(self, h):
        last = len(self.linears) - 1
        for i, lin in enumerate(self.linears):
            z = lin(h)
            if i == last:
                return z
            if self.spec.batchnorm:
                z = self.norms[i](z)
            skip = self.spec.skip and 0 < i and lin.in_features == lin.out_features
            h = h + self.act(z) if skip else self.act(z)


def _random_theta(model: FlatMLP, seed: int = 0) -> torch.Tensor:
    # Non-zero biases and BatchNorm parameters, so that every block is exercised.
    return torch.randn(model.n_params, generator=torch.Generator().manual_seed(seed)) * 0.5


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "gelu", "linear"])
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_forward_equals_torch_nn(activation, skip, batchnorm):
    spec = ModelSpec(
        widths=(2, 8, 8, 6, 6, 3), activation=activation, skip=skip, batchnorm=batchnorm
    )
    model = FlatMLP(spec)
    # float64: BatchNorm's division would turn float32 rounding into noisy mismatches.
    theta = _random_theta(model).double()
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = Reference(model, theta).double().train()  # batch statistics, as FlatMLP
    torch.testing.assert_close(model.forward(theta, x), ref(x), rtol=1e-10, atol=1e-12)


def test_parameter_count_and_layout():
    model = FlatMLP(ModelSpec(widths=(2, 5, 5, 1), batchnorm=True))
    assert model.n_layers == 3
    assert model.n_params == (2 * 5 + 5 + 10) + (5 * 5 + 5 + 10) + (5 + 1)
    offsets = [b.offset for b in model.blocks]
    ends = [b.offset + b.numel for b in model.blocks]
    assert offsets[0] == 0 and offsets[1:] == ends[:-1] and ends[-1] == model.n_params
    assert [b.name for b in model.blocks if b.layer == 2] == ["layer2.weight", "layer2.bias"]


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "gelu", "linear"])
@pytest.mark.parametrize("extras", [{}, {"skip": True}, {"batchnorm": True}])
def test_forward_batched_equals_a_loop_of_forward(activation, extras):
    model = FlatMLP(ModelSpec(widths=(2, 16, 16, 16, 2), activation=activation, **extras))
    thetas = torch.stack([_random_theta(model, s) for s in range(5)])
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(2))
    batched = model.forward_batched(thetas, x)
    looped = torch.stack([model.forward(t, x) for t in thetas])
    assert batched.shape == (5, 40, 2)
    # float32: the batched matmuls may sum in another order (measured: identical)
    assert ((batched - looped).abs().max() / looped.abs().max()) <= 1e-5


def test_forward_batched_leaves_its_inputs_alone():
    model = FlatMLP(ModelSpec(widths=(2, 8, 1)))
    thetas, x = torch.randn(3, model.n_params), torch.randn(10, 2)
    copies = thetas.clone(), x.clone()
    model.forward_batched(thetas, x)
    assert torch.equal(thetas, copies[0]) and torch.equal(x, copies[1])


def test_dropout_only_in_training_and_reproducible_with_a_generator():
    model = FlatMLP(ModelSpec(widths=(2, 256, 1), dropout=0.5))
    theta, x = model.init_params(0), torch.randn(32, 2)
    assert torch.equal(model.forward(theta, x), model.forward(theta, x, train=False))
    runs = [
        model.forward(theta, x, train=True, generator=torch.Generator().manual_seed(3))
        for _ in range(2)
    ]
    assert torch.equal(*runs) and not torch.allclose(runs[0], model.forward(theta, x))
    record: list = []
    model.forward(theta, x, train=True, generator=torch.Generator().manual_seed(3), record=record)
    zero_fraction = (record[0] == 0).float().mean()
    # p = 0.5 over 32 x 256 units: standard deviation 0.0055, so ±0.1 is 18σ (measured 0.498)
    assert 0.4 < zero_fraction < 0.6


def test_record_receives_each_hidden_activation():
    model = FlatMLP(ModelSpec(widths=(2, 4, 4, 4, 1), skip=True))
    record: list = []
    model.forward(model.init_params(0), torch.randn(7, 2), record=record)
    assert [tuple(r.shape) for r in record] == [(7, 4)] * 3


def test_init_is_deterministic_and_zeroes_biases():
    model = FlatMLP(ModelSpec(widths=(2, 8, 8, 1), batchnorm=True))
    a, b = model.init_params(3), model.init_params(3)
    assert torch.equal(a, b) and not torch.equal(a, model.init_params(4))
    for block in model.blocks:
        expected = 1.0 if block.name.endswith("bn.weight") else 0.0
        if not block.is_weight:
            assert torch.all(block.view(a) == expected)


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_init_gives_scaled_orthonormal_rows(gain):
    model = FlatMLP(ModelSpec(widths=(2, 16, 16, 1), init="orthogonal", gain=gain))
    w = model.blocks[2].view(model.init_params(0))  # layer1.weight, 16 x 16
    # float32 rounding (measured 3.6e-7)
    torch.testing.assert_close(w @ w.T, gain**2 * torch.eye(16), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("init", "std"),
    [
        ("he", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
        ("xavier", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
        ("normal", lambda fan_in, fan_out: 1 / math.sqrt(fan_in)),
    ],
)
def test_init_standard_deviations(init, std):
    gain = 1.5
    model = FlatMLP(ModelSpec(widths=(2, 200, 100, 1), init=init, gain=gain))
    w = model.blocks[2].view(model.init_params(0))  # 100 x 200: 20k samples
    # Sampling error over N = 20k: the std to 1/√(2N) = 0.5 % (bound 6σ; measured 0.44 %), the mean
    # to σ/√N = 0.7 % of σ (bound 7σ; measured 1.4 %).
    assert w.std().item() == pytest.approx(gain * std(200, 100), rel=0.03)
    assert abs(w.mean().item()) < 0.05 * gain * std(200, 100)


def test_layer_grad_norms():
    model = FlatMLP(ModelSpec(widths=(2, 3, 4, 1), batchnorm=True))
    grad = torch.arange(model.n_params, dtype=torch.float32)
    norms = model.layer_grad_norms(grad)
    expected = [torch.linalg.vector_norm(b.view(grad)) for b in model.blocks if b.is_weight]
    # Float rounding apart: vector_norm's own reduction order differs by CPU (on this session's
    # machine 7.4161987 vs the sum of squares' 7.4161983), so bitwise equality held on some
    # hosts only; the test is about which entries make up each layer
    torch.testing.assert_close(norms, torch.stack(expected), rtol=1e-6, atol=0)


# Losses -------------------------------------------------------------------------------------------


def _data(name: str, classes: int = 2):
    return make_dataset(DataSpec(name=name, n=48, classes=classes), 0)


def _check_batched(loss, out, y):
    batched = loss(torch.stack([out, 2 * out, out - 1]), y)
    looped = torch.stack([loss(out, y), loss(2 * out, y), loss(out - 1, y)])
    torch.testing.assert_close(batched, looped)


def test_bce_matches_torch():
    data = _data("moons")
    out = torch.randn(48, 1)
    loss = make_loss("bce", data, 1)
    expected = F.binary_cross_entropy_with_logits(out[:, 0], data.y.float())
    torch.testing.assert_close(loss(out, data.y), expected)
    _check_batched(loss, out, data.y)


def test_cross_entropy_matches_torch():
    data = _data("spirals", classes=3)
    out = torch.randn(48, 3)
    loss = make_loss("cross_entropy", data, 3)
    torch.testing.assert_close(loss(out, data.y), F.cross_entropy(out, data.y))
    _check_batched(loss, out, data.y)


TORCH_LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_losses_match_torch(name):
    data = _data("sine")
    out = 2 * torch.randn(48, 1)
    loss = make_loss(name, data, 1)
    torch.testing.assert_close(loss(out, data.y), TORCH_LOSSES[name](out, data.y))
    _check_batched(loss, out, data.y)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_losses_on_classes_use_signed_or_one_hot_targets(name):
    data = _data("gaussians", classes=4)
    out = torch.randn(48, 4)
    loss = make_loss(name, data, 4)
    one_hot = F.one_hot(data.y, 4).float()
    torch.testing.assert_close(loss(out, data.y), TORCH_LOSSES[name](out, one_hot))
    _check_batched(loss, out, data.y)
    binary = _data("moons")
    out = torch.randn(48, 1)
    signed = (2 * binary.y - 1).float().unsqueeze(1)
    loss = make_loss(name, binary, 1)
    torch.testing.assert_close(loss(out, binary.y), TORCH_LOSSES[name](out, signed))


@pytest.mark.parametrize(
    ("loss", "data", "out", "message"),
    [
        ("bce", ("spirals", 3), 1, "2-class"),
        ("bce", ("moons", 2), 2, "output width 1"),
        ("bce", ("sine", 2), 1, "classification"),
        ("cross_entropy", ("moons", 2), 1, "number of classes 2"),
        ("cross_entropy", ("sine", 2), 1, "classification"),
        ("mse", ("sine", 2), 2, "regression data needs output width 1"),
        ("mse", ("spirals", 3), 1, "3-class data needs output width 3"),
    ],
)
def test_impossible_losses_are_refused(loss, data, out, message):
    with pytest.raises(ValueError, match=message):
        make_loss(loss, _data(*data), out)


def _problems(widths, data, loss):
    return check_compatible(ModelSpec(widths=widths), DataSpec(**data), loss)


def test_check_compatible_accepts_good_combinations():
    assert _problems((2, 8, 1), {"name": "moons"}, "bce") == []
    assert _problems((2, 8, 1), {"name": "moons"}, "mse") == []
    assert _problems((2, 8, 2), {"name": "moons"}, "cross_entropy") == []
    assert _problems((2, 8, 5), {"name": "gaussians", "classes": 5}, "huber") == []
    assert _problems((1, 8, 1), {"name": "sine"}, "mae") == []


def test_check_compatible_flags_every_bad_combination():
    widths = ("landscape", "model", "widths")
    loss = ("landscape", "loss")
    found = _problems((2, 8, 1), {"name": "sine"}, "bce")
    assert [key for key, _ in found] == [widths, loss]
    assert "input dimension 1" in found[0][1]
    found = _problems((2, 8, 1), {"name": "spirals", "classes": 3}, "cross_entropy")
    assert [key for key, _ in found] == [widths] and "number of classes 3" in found[0][1]
    found = _problems((2, 8, 1), {"name": "moons", "classes": 3}, "bce")
    assert [key for key, _ in found] == [("landscape", "data", "classes")]
    found = _problems((2, 8, 10), {"name": "gaussians", "classes": 10, "n": 8}, "mse")
    assert [key for key, _ in found] == [("landscape", "data", "n")]


# Slicing ------------------------------------------------------------------------------------------


def _plane(dim: int = 50, seed: int = 0) -> Plane:
    gen = torch.Generator().manual_seed(seed)
    return Plane(*(torch.randn(dim, generator=gen, dtype=torch.float64) for _ in range(3)))


def test_project_recovers_plane_coordinates():
    plane = _plane()
    a, b, residual = plane.project(plane.point(0.3, -1.7))
    assert (a, b) == pytest.approx((0.3, -1.7), abs=1e-12) and residual < 1e-12
    torch.testing.assert_close(plane.points(torch.tensor([[0.3, -1.7]]))[0], plane.point(0.3, -1.7))


def test_project_reports_the_off_plane_distance():
    plane = _plane()
    basis = torch.stack([plane.d1, plane.d2])
    # A vector orthogonal to both directions.
    normal = torch.randn(50, dtype=torch.float64)
    normal -= basis.T @ torch.linalg.lstsq(basis.T, normal).solution
    off = plane.point(1.0, 2.0) + 0.25 * normal / torch.linalg.vector_norm(normal)
    a, b, residual = plane.project(off)
    assert (a, b, residual) == pytest.approx((1.0, 2.0, 0.25), abs=1e-10)


def test_random_directions_are_filter_normalised_and_seeded():
    model = FlatMLP(ModelSpec(widths=(2, 8, 8, 1), batchnorm=True))
    theta = _random_theta(model)
    d1, d2 = random_directions(model, theta, seed=4)
    assert torch.equal(d1, random_directions(model, theta, seed=4)[0])
    assert not torch.allclose(d1, d2)
    for block in model.blocks:
        for d in (d1, d2):
            if block.is_weight:
                torch.testing.assert_close(
                    torch.linalg.vector_norm(block.view(d), dim=1),
                    torch.linalg.vector_norm(block.view(theta), dim=1),
                )
            else:
                assert torch.all(block.view(d) == 0)


def test_pca_recovers_the_plane_of_a_planar_trajectory():
    dim = 300
    gen = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(dim, 2, generator=gen, dtype=torch.float64))
    t = torch.linspace(0, 1, 40, dtype=torch.float64)
    coords = torch.stack([3 * t, 0.5 * torch.sin(6 * t)], 1)  # spread mostly along basis[:, 0]
    origin = torch.randn(dim, generator=gen, dtype=torch.float64)
    snapshots = origin + coords @ basis.T
    d1, d2, (r1, r2) = pca_directions(snapshots, origin)
    # Oracle: the principal axes of the 2D coordinates, mapped into parameter space.
    variances, axes = torch.linalg.eigh(torch.cov(coords.T, correction=0))
    ratios = (variances / variances.sum()).tolist()
    assert (r1, r2) == pytest.approx((ratios[1], ratios[0]))
    expected = basis @ axes[:, 1]
    expected *= torch.sign(expected @ (snapshots[-1] - snapshots[0]))  # forwards along the path
    torch.testing.assert_close(d1, expected)
    assert abs(float(d2 @ (basis @ axes[:, 0]))) == pytest.approx(1.0)
    d1_small_chunks, _, _ = pca_directions(snapshots, origin, chunk=7)
    torch.testing.assert_close(d1, d1_small_chunks)


def test_surface_grid_equals_a_naive_loop_and_mutates_nothing():
    data = make_dataset(DataSpec(name="moons", n=64), 0)
    model = FlatMLP(ModelSpec(widths=(2, 16, 16, 1), batchnorm=True))
    loss = make_loss("bce", data, 1)
    theta = model.init_params(0)
    plane = Plane(theta, *random_directions(model, theta, seed=1))
    before = [t.clone() for t in (theta, plane.origin, plane.d1, plane.d2)]
    grid = surface_grid(model, loss, plane, span=1.5, resolution=7, x=data.x, y=data.y, chunk=5)
    axis = grid_axis(1.5, 7).tolist()
    naive = torch.tensor(
        [
            [loss(model.forward(plane.point(a, b), data.x), data.y).item() for a in axis]
            for b in axis
        ]
    )
    assert grid.shape == (7, 7)
    assert ((grid - naive).abs() / naive.abs()).max() <= 1e-5  # float32 (measured 2.2e-7)
    after = (theta, plane.origin, plane.d1, plane.d2)
    assert all(torch.equal(x, y) for x, y in zip(before, after, strict=True))
    assert grid[3, 3].item() == pytest.approx(loss(model.forward(theta, data.x), data.y).item())
