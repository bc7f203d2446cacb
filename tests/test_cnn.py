"""The cnn model kind and the bundled digits (issue 20): the flat-θ cnn against torch.nn built
from the same weights (outputs and gradients), its batched surface path, filter-normalised
directions, init, and the 8×8 digits (1,797 images, 10 classes, deterministic subsets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sandbox.catalogue.convnets import cnn_macs, cnn_parameters
from sandbox.landscape.cnn import FlatCNN
from sandbox.landscape.data import make_dataset
from sandbox.landscape.slicing import random_directions
from sandbox.resources import data_dir
from sandbox.scenario.budget import count_parameters
from sandbox.scenario.schema import DataSpec, ModelSpec

IMAGE = (1, 8, 8)
ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}
POOLS = {"none": nn.Identity, "max": lambda: nn.MaxPool2d(2), "avg": lambda: nn.AvgPool2d(2)}


def reference(model: FlatCNN, theta: torch.Tensor) -> nn.Sequential:
    """The same cnn built from torch.nn layers, its weights copied from θ."""
    spec, values = model.spec, {b.name: b.view(theta) for b in model.blocks}
    layers: list[nn.Module] = [nn.Unflatten(1, IMAGE)]
    c_in = IMAGE[0]
    for i, c_out in enumerate(spec.channels):
        conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(values[f"layer{i}.weight"])
            conv.bias.copy_(values[f"layer{i}.bias"])
        layers += [conv, ACTIVATIONS[spec.activation](), POOLS[spec.pool]()]
        c_in = c_out
    last = model.n_layers - 1
    head = nn.Linear(*values[f"layer{last}.weight"].shape[::-1])
    with torch.no_grad():
        head.weight.copy_(values[f"layer{last}.weight"])
        head.bias.copy_(values[f"layer{last}.bias"])
    return nn.Sequential(*layers, nn.Flatten(), head).to(theta.dtype)


def cnn(channels=(4, 6), pool="max", activation="tanh", **keys) -> FlatCNN:
    spec = ModelSpec(kind="cnn", channels=channels, pool=pool, activation=activation, **keys)
    return FlatCNN(spec, IMAGE, 10)


def random_theta(model: FlatCNN, seed: int = 0) -> torch.Tensor:
    # Non-zero biases, so that every block is exercised.
    return torch.randn(model.n_params, generator=torch.Generator().manual_seed(seed)) * 0.3


def images(n: int = 32, dtype=torch.float64) -> torch.Tensor:
    return torch.rand(n, 64, generator=torch.Generator().manual_seed(1), dtype=dtype)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("pool", sorted(POOLS))
def test_forward_equals_torch_nn(activation, pool):
    model = cnn(channels=(3, 5, 4), pool=pool, activation=activation)
    theta = random_theta(model).double()
    x = images()
    torch.testing.assert_close(
        model.forward(theta, x), reference(model, theta)(x), rtol=1e-10, atol=1e-12
    )


def test_float32_forward_within_1e_6_of_torch_nn():
    model = cnn(channels=(8, 16), pool="avg")
    theta, x = random_theta(model), images(dtype=torch.float32)
    torch.testing.assert_close(
        model.forward(theta, x), reference(model, theta)(x), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_gradient_equals_torch_nn(pool):
    """Autograd through the views of θ gives the same gradient as torch.nn's parameters."""
    model = cnn(channels=(3, 4), pool=pool, activation="gelu")
    theta = random_theta(model).double().requires_grad_(True)
    x, y = images(), torch.arange(32) % 10
    loss = nn.functional.cross_entropy(model.forward(theta, x), y)
    (grad,) = torch.autograd.grad(loss, theta)
    ref = reference(model, theta.detach())
    nn.functional.cross_entropy(ref(x), y).backward()
    params = [p.grad.flatten() for p in ref.parameters()]  # conv w, b, ..., head w, b: θ's order
    torch.testing.assert_close(grad, torch.cat(params), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_batched_equals_a_loop_of_forward(pool, activation):
    model = cnn(channels=(4, 6), pool=pool, activation=activation)
    thetas = torch.stack([random_theta(model, seed) for seed in range(5)]).double()
    x = images()
    batched = model.forward_batched(thetas, x)
    looped = torch.stack([model.forward(t, x) for t in thetas])
    torch.testing.assert_close(batched, looped, rtol=1e-10, atol=1e-12)


def test_parameter_count_matches_the_catalogue_and_the_reference():
    model = cnn(channels=(8, 16, 16), pool="none")
    expected = sum(p.numel() for p in reference(model, random_theta(model)).parameters())
    assert model.n_params == expected == cnn_parameters((8, 16, 16), IMAGE, "none", 10)
    spec, data = model.spec, DataSpec(name="digits")
    assert count_parameters(spec, data) == expected
    # multiply-adds per sample: 9·(1·8 + 8·16 + 16·16)·64 pixels + the head's 1024·10
    assert cnn_macs((8, 16, 16), IMAGE, "none", 10) == 9 * (8 + 128 + 256) * 64 + 1024 * 10


def test_layer_grad_norms_cover_each_weight_block():
    model = cnn()
    grad = torch.arange(model.n_params, dtype=torch.float32)
    expected = [torch.linalg.vector_norm(b.view(grad)) for b in model.blocks if b.is_weight]
    assert model.n_layers == 3
    torch.testing.assert_close(
        model.layer_grad_norms(grad), torch.stack(expected), rtol=1e-6, atol=0
    )


def test_record_receives_each_convolution_output():
    model = cnn(channels=(4, 6), pool="max")
    hidden: list[torch.Tensor] = []
    model.forward(random_theta(model), images(5, torch.float32), record=hidden)
    assert [tuple(h.shape) for h in hidden] == [(5, 4, 4, 4), (5, 6, 2, 2)]


@pytest.mark.parametrize("init", ["he", "normal"])
def test_init_uses_the_filters_fan_in(init):
    """Weights std √(2/fan_in) (he) or 1/√fan_in (normal), fan_in = in-channels × 9; biases 0."""
    model = cnn(channels=(64, 64), init=init)
    theta = model.init_params(0)
    conv = model.blocks[2]  # layer1.weight: 64 filters of 64 × 3 × 3, fan_in 576
    std = float(conv.view(theta).std())
    expected = (2 / 576) ** 0.5 if init == "he" else (1 / 576) ** 0.5
    assert std == pytest.approx(expected, rel=0.02)  # 36,864 draws: std's error ~0.4 %
    assert all(float(b.view(theta).abs().max()) == 0 for b in model.blocks if not b.is_weight)
    assert torch.equal(theta, model.init_params(0))


def test_filter_normalised_directions_match_each_filter_norm():
    """Li et al.: each filter (out-channel) of the direction has the norm of θ's filter."""
    model = cnn(channels=(4, 6))
    theta = model.init_params(3)
    d1, d2 = random_directions(model, theta, seed=5)
    for block in model.blocks:
        d, t = block.view(d1), block.view(theta)
        if not block.is_weight:
            assert float(d.abs().max()) == 0
            continue
        norms = torch.linalg.vector_norm(d.flatten(1), dim=1)
        torch.testing.assert_close(norms, torch.linalg.vector_norm(t.flatten(1), dim=1))
    assert not torch.allclose(d1, d2)


# The digits ---------------------------------------------------------------------------------------


def test_digits_file_is_the_1797_images():
    with np.load(data_dir("assets") / "digits" / "digits.npz") as file:
        pixels, labels = file["pixels"], file["labels"]
    assert pixels.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert pixels.dtype == np.uint8 and pixels.max() == 16 and pixels.min() == 0
    # Class counts of the UCI test set (optdigits.tes), as its description lists them.
    counts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert np.bincount(labels).tolist() == counts
    assert (data_dir("assets") / "digits" / "LICENSE.md").is_file()


def test_digits_dataset_all_images_scaled_to_unit_range():
    data = make_dataset(DataSpec(name="digits", n=1797), seed=0)
    assert data.x.shape == (1797, 64) and data.x.dtype == torch.float32
    assert float(data.x.min()) == 0 and float(data.x.max()) == 1
    assert data.n_classes == 10 and data.input_dim == 64 and data.task == "classification"
    assert sorted(torch.bincount(data.y).tolist()) == sorted(
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    )
    # Every image once: multiplying pixels back by 16 gives integers, and no row repeats twice
    # more often than in the file.
    assert torch.equal(data.x * 16, (data.x * 16).round())


def test_digits_subsets_are_deterministic_per_seed():
    a = make_dataset(DataSpec(name="digits", n=100), seed=1)
    b = make_dataset(DataSpec(name="digits", n=100), seed=1)
    c = make_dataset(DataSpec(name="digits", n=100), seed=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    # data.seed overrides the scenario's seed
    d = make_dataset(DataSpec(name="digits", n=100, seed=2), seed=1)
    assert torch.equal(d.x, c.x)
    # a subset is the first n of the same seeded shuffle
    full = make_dataset(DataSpec(name="digits", n=1797), seed=1)
    assert torch.equal(full.x[:100], a.x)


def test_a_costly_networks_draft_surface_is_coarser_and_comes_first():
    """The view's first surface must not keep it blank for long: the ~100k-parameter cnn's draft
    is 5² points (1.75·10⁹ operations each at the cost model's 10¹⁰ a second), a small mlp's
    17²; the stream sends the draft first, then the scenario's own resolution."""
    from sandbox.bench.convnet import CNN_QUICK, CnnSizes, cnn_scenario_text
    from sandbox.pipeline.prepare import prepare
    from sandbox.pipeline.stream import first_surfaces
    from sandbox.resources import find_scenario
    from sandbox.scenario.budget import draft_resolution
    from sandbox.scenario.load import load_scenario, parse_scenario

    big = parse_scenario(cnn_scenario_text(CnnSizes(), steps=10, resolution=33))
    assert draft_resolution(big) == 5
    assert draft_resolution(load_scenario(find_scenario("landscape_plain"))) == 17
    small = parse_scenario(cnn_scenario_text(CNN_QUICK, steps=2, resolution=21))
    draft, refined = first_surfaces(prepare(small))
    assert draft.sample.heights.shape == (draft_resolution(small),) * 2 and not draft.refined
    assert refined.sample.heights.shape == (21, 21) and refined.refined
