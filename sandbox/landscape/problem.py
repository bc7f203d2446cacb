"""Landscapes as optimisation problems over one flat parameter vector θ.

An analytic surface has θ = (x, y) in float64; a network has θ = all its weights in float32 and
shows (x, y) as θ's projection onto the slice plane through the initial weights. The optimiser
loop (`sandbox.optim.run`) only ever sees this interface, so both kinds share one code path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sandbox.catalogue.convnets import IMAGE_SHAPES
from sandbox.catalogue.networks import GIVEN_LOSS, n_classes_of, output_width
from sandbox.landscape import analytic
from sandbox.landscape.cnn import FlatCNN
from sandbox.landscape.data import Dataset, make_dataset
from sandbox.landscape.mlp import FlatMLP, LossFn, make_loss
from sandbox.landscape.module import FlatModule, user_loss
from sandbox.landscape.slicing import Plane
from sandbox.scenario.schema import AnalyticLandscape, NetworkLandscape, Run, Scenario


@dataclass
class AnalyticProblem:
    """A closed-form surface f(x, y); θ is the point itself. `formula` is the function of
    surface = "formula"."""

    surface: str
    params: dict[str, float]
    dtype: torch.dtype = torch.float64
    formula: str | None = None

    @property
    def definition(self) -> analytic.Surface:
        """The surface's function, default start and known critical points."""
        return analytic.surface(self.surface, self.formula)

    def initial_theta(self, run: Run) -> torch.Tensor:
        start = run.start if run.start is not None else self.definition.start
        return torch.tensor(start, dtype=self.dtype)

    def loss(self, theta: torch.Tensor, batch=None, generator=None) -> torch.Tensor:
        return self.definition.fn(theta, self.params)

    def full_loss(self, theta: torch.Tensor) -> torch.Tensor:
        return self.loss(theta)

    def batch_is_full(self, batch) -> bool:
        return True

    def sample_batch(self, batch_size: int | None, generator: torch.Generator):
        return None

    def project(self, theta: torch.Tensor) -> tuple[float, float, float | None]:
        x, y = theta.tolist()
        return x, y, None

    @property
    def is_network(self) -> bool:
        return False


@dataclass(frozen=True, eq=False)
class Network:
    """A network landscape's data, model, loss and initial weights: what every plane shares."""

    spec: NetworkLandscape
    seed: int
    data: Dataset
    model: FlatMLP | FlatCNN | FlatModule
    loss_fn: LossFn
    theta_init: torch.Tensor  # shape (P,)

    @property
    def has_dropout(self) -> bool:
        return self.spec.model.dropout > 0


def make_network(spec: NetworkLandscape, seed: int) -> Network:
    """The data set, the model and its initial weights that a network landscape describes."""
    data = make_dataset(spec.data, seed)
    model = make_model(spec)
    if spec.loss == GIVEN_LOSS:  # handed over with the module (sandbox.show)
        loss_fn = user_loss(spec.model.user.loss)
    else:
        loss_fn = make_loss(spec.loss, data, output_width(spec.model, spec.data))
    # A handed-over module starts from its owner's weights, not from a seeded initialisation.
    theta = model.given_params() if isinstance(model, FlatModule) else model.init_params(seed)
    return Network(spec, seed, data, model, loss_fn, theta)


def make_model(spec: NetworkLandscape) -> FlatMLP | FlatCNN | FlatModule:
    """The network of the landscape's model kind: an mlp, a cnn sized to its images, or the
    module handed over from Python."""
    if spec.model.kind == "module":
        return FlatModule(spec.model.user)
    if spec.model.kind == "cnn":
        return FlatCNN(spec.model, IMAGE_SHAPES[spec.data.name], n_classes_of(spec.data))
    return FlatMLP(spec.model)


@dataclass(frozen=True, eq=False)
class NetworkProblem:
    """A small MLP on a generated dataset; θ is its flat weight vector, shown on `plane`.

    Built finished and never changed: the plane that (x, y) are read on comes with it
    (`sandbox.pipeline.prepare` chooses it) and `view_center` is the weights the 3D view centres
    on. Without a plane it still has its losses, but no (x, y).
    """

    network: Network
    plane: Plane | None = None
    view_center: torch.Tensor | None = None
    dtype: torch.dtype = torch.float32

    spec = property(lambda self: self.network.spec)
    seed = property(lambda self: self.network.seed)
    data = property(lambda self: self.network.data)
    model = property(lambda self: self.network.model)
    loss_fn = property(lambda self: self.network.loss_fn)
    theta_init = property(lambda self: self.network.theta_init)
    has_dropout = property(lambda self: self.network.has_dropout)

    def initial_theta(self, run: Run) -> torch.Tensor:
        if run.start is not None:  # a point of the slice plane through θ₀ (scenario rules)
            return self.plane.point(*run.start).clone()
        if run.init_seed is None:
            return self.theta_init.clone()
        return self.model.init_params(run.init_seed)

    def loss(self, theta: torch.Tensor, batch=None, generator=None) -> torch.Tensor:
        """Training loss on a minibatch (indices) or the full data, dropout active."""
        x, y = (
            (self.data.x, self.data.y)
            if batch is None
            else (self.data.x[batch], self.data.y[batch])
        )
        out = self.model.forward(theta, x, train=self.has_dropout, generator=generator)
        return self.loss_fn(out, y)

    def full_loss(self, theta: torch.Tensor) -> torch.Tensor:
        """The landscape's loss: full data, no dropout (what the surface shows)."""
        return self.loss_fn(self.model.forward(theta, self.data.x), self.data.y)

    def batch_is_full(self, batch) -> bool:
        # The training loss equals the landscape's loss: no need to evaluate it twice.
        return batch is None and not self.has_dropout

    def sample_batch(self, batch_size: int | None, generator: torch.Generator):
        if batch_size is None or batch_size >= len(self.data.x):
            return None
        # randperm indexing, not DataLoader: a third faster per step (DESIGN.md).
        return torch.randperm(len(self.data.x), generator=generator)[:batch_size]

    def activation_norms(self, theta: torch.Tensor) -> list[float]:
        """RMS of each hidden layer's output over the full data (signal propagation with depth)."""
        hidden: list[torch.Tensor] = []
        with torch.no_grad():
            self.model.forward(theta, self.data.x, record=hidden)
        return [h.pow(2).mean().sqrt().item() for h in hidden]

    def margin(self, theta: torch.Tensor) -> float | None:
        """The smallest classification margin over the data (None for regression).

        One output: min ỹ·f(x) with labels ỹ = ±1; k outputs: min f_y(x) − max_{j≠y} f_j(x).
        Positive means every point is classified correctly; divide by ‖θ‖^depth to normalise.
        """
        if self.data.task != "classification":
            return None
        with torch.no_grad():
            out = self.model.forward(theta, self.data.x)
        y = self.data.y
        if out.shape[-1] == 1:
            return (out[:, 0] * (2 * y.to(out.dtype) - 1)).min().item()
        true = out.gather(1, y[:, None])[:, 0]
        others = out.scatter(1, y[:, None], float("-inf")).max(dim=1).values
        return (true - others).min().item()

    def project(self, theta: torch.Tensor) -> tuple[float, float, float | None]:
        if self.plane is None:
            raise ValueError("this network problem has no slice plane (sandbox.pipeline.prepare)")
        return self.plane.project(theta.detach())

    @property
    def is_network(self) -> bool:
        return True


def make_problem(
    scenario: Scenario, plane: Plane | None = None, view_center: torch.Tensor | None = None
) -> AnalyticProblem | NetworkProblem:
    """The problem a scenario's landscape describes; a network's is read on `plane` (chosen by
    `sandbox.pipeline.prepare`, which builds the problems that runs go through)."""
    land = scenario.landscape
    if isinstance(land, AnalyticLandscape):
        params = analytic.resolve_params(land.surface, land.params)
        return AnalyticProblem(land.surface, params, formula=land.formula)
    return NetworkProblem(make_network(land, scenario.seed), plane, view_center)
