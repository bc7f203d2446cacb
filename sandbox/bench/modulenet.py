"""The module section of `sandbox bench`: the cnn section's network written as a plain torch
module and handed over as a user's would be (`sandbox.own_model.model_scenario`), measured by
the cnn section's own functions (`bench_model`), against the baselines such a user has:

- the per-point loop a user writes (θ into a copy of the module with
  ``torch.nn.utils.vector_to_parameters``, forward, loss), and loss-landscapes' ``point`` on the
  same copy when that library is installed, for the surfaces;
- a bare torch.optim loop on the module's own parameters, for training;
- the project's own cnn of the same shape, its refined surface timed beside the module's
  (`surface_vs_cnn`: what handing a module over costs against the built-in kind).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import metadata

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import vector_to_parameters

from sandbox.bench.convnet import (
    CNN_QUICK,
    FIRST,
    REFINED,
    CnnSizes,
    bench_model,
    cnn_scenario_text,
    on_one_thread,
    refined_surface_s,
    seconds_per_point,
    sgd_steps_per_s,
)
from sandbox.catalogue.convnets import IMAGE_SHAPES, head_inputs

IMAGE = IMAGE_SHAPES["digits"]  # (1, 8, 8)
GD = ({"name": "gd", "optimizer": "gd", "lr": 0.1},)  # the cnn section's run


class DigitsConvNet(nn.Module):
    """The cnn section's network as a user writes it: 3×3 convolutions (padding 1), tanh and
    2×2 max pooling for each entry of `channels`, then a Linear head to the ten digits."""

    def __init__(self, channels: tuple[int, ...], classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in zip((IMAGE[0], *channels), channels, strict=False):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(head_inputs(channels, IMAGE, "max"), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def bench_module(quick: bool = False) -> dict:
    """Every module figure with its baselines, on one torch thread as the cnn section."""
    return on_one_thread(lambda: _bench_module(CNN_QUICK if quick else CnnSizes()))


def _bench_module(sizes: CnnSizes) -> dict:
    from sandbox.landscape.digits import load_digits
    from sandbox.own_model import model_scenario
    from sandbox.pipeline.prepare import prepare
    from sandbox.scenario.load import parse_scenario

    torch.manual_seed(0)  # the module's own initial weights
    model = DigitsConvNet(sizes.channels)
    x, y = load_digits(sizes.data_n, torch.Generator().manual_seed(0))
    data = (x.view(-1, *IMAGE), y)

    def scenario_for(steps: int, resolution: int = FIRST):
        plane = {"resolution": resolution}
        return model_scenario(model, data, "cross_entropy", GD, steps, slice=plane)

    def bare_steps_per_s(_problem, steps: int) -> float:
        return _bare_module_steps_per_s(model, data, steps)

    user_loop = _user_loop(model, _torch_loss)
    problem, figures = bench_model(scenario_for, sizes, user_loop, bare_steps_per_s)
    cnn = prepare(parse_scenario(cnn_scenario_text(sizes, steps=10))).problem
    figures["surface_vs_cnn"] = figures["surface_33_s"] / refined_surface_s(cnn)
    figures["loss_landscapes"] = _installed("loss-landscapes")
    if figures["loss_landscapes"] is not None:
        per_point = _user_loop(model, _library_loss)(problem, sizes.naive_points)
        figures["surface_33_point_s"] = per_point * REFINED**2
    return figures


def _user_loop(model: nn.Module, loss_at_weights: Callable) -> Callable:
    """Seconds per grid point of the loop a user writes: each point's θ written into a copy of
    the module, then `loss_at_weights(copy, x, y)`."""

    def per_point(problem, points: int) -> float:
        own = copy.deepcopy(model).eval()

        def loss_at(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
            vector_to_parameters(theta, own.parameters())
            return loss_at_weights(own, x.view(-1, *IMAGE), y)

        return seconds_per_point(problem, points, loss_at)

    return per_point


def _torch_loss(own: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return F.cross_entropy(own(x), y).item()


def _library_loss(own: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """loss-landscapes' ``point`` with its ``Loss`` metric (it turns the copy's gradients off)."""
    import loss_landscapes
    from loss_landscapes.metrics import Loss

    return loss_landscapes.point(own, Loss(F.cross_entropy, x, y))


def _bare_module_steps_per_s(model: nn.Module, data: tuple, steps: int) -> float:
    """Full-batch steps/s of torch.optim.SGD on a copy of the module itself."""
    own = copy.deepcopy(model).eval()
    x, y = data
    return sgd_steps_per_s(own.parameters(), lambda: F.cross_entropy(own(x), y), steps)


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
