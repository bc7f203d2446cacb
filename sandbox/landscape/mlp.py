"""A multilayer perceptron written as a pure function of one flat parameter vector θ.

Optimisers act on a single tensor θ of shape (P,); the forward pass slices it into weight views.
That makes trajectories (one ``copy_`` per step), slicing planes (θc + a·d₁ + b·d₂) and
Hessian-vector products (autograd on one leaf) trivial. ``forward_batched`` evaluates many θ at
once for surface grids.

Layout of θ, layer by layer: ``layer{i}.weight`` (out, in), ``layer{i}.bias`` (out,), then for
hidden layers with batchnorm ``layer{i}.bn.weight`` and ``layer{i}.bn.bias`` (out,).

BatchNorm here always uses the statistics of the batch it is given and keeps no running
statistics, so the loss is a deterministic function of θ and the batch alone; surfaces are drawn on
one fixed evaluation batch (the full dataset), so every grid point sees the same normalisation rule.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sandbox.catalogue.networks import loss_problems
from sandbox.landscape.data import Dataset
from sandbox.scenario.schema import ModelSpec

BN_EPS = 1e-5  # as torch.nn.BatchNorm1d

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ParamBlock:
    """One weight or bias tensor inside the flat parameter vector θ."""

    name: str  # "layer0.weight", "layer0.bias", "layer1.bn.weight", "layer1.bn.bias"
    layer: int
    shape: tuple[int, ...]
    offset: int

    @property
    def numel(self) -> int:
        """Number of entries of θ this block occupies."""
        return math.prod(self.shape)

    @property
    def is_weight(self) -> bool:
        """Whether this is a Linear layer's weight matrix (not a bias or a BatchNorm parameter)."""
        return self.name == f"layer{self.layer}.weight"

    def view(self, theta: torch.Tensor) -> torch.Tensor:
        """This block of θ (shape (P,)) as a tensor of its own shape; a view, not a copy."""
        return theta[self.offset : self.offset + self.numel].view(self.shape)

    def view_batched(self, thetas: torch.Tensor) -> torch.Tensor:
        """This block of each row of ``thetas`` (shape (G, P)), shape (G, *self.shape)."""
        return thetas[:, self.offset : self.offset + self.numel].view(-1, *self.shape)


class WeightLayers:
    """Which layer's weight each entry of θ belongs to (n_layers for biases and norm layers'
    vectors): per-layer gradient norms in three tensor ops, whatever the depth. Shared by every
    flat model (mlp, cnn, a handed-over module)."""

    def __init__(self, blocks: tuple[ParamBlock, ...], n_params: int, n_layers: int):
        self.n_layers = n_layers
        self.index = torch.full((n_params,), n_layers, dtype=torch.long)
        for block in blocks:
            if block.is_weight:
                self.index[block.offset : block.offset + block.numel] = block.layer

    def norms(self, grad: torch.Tensor) -> torch.Tensor:
        """Norm of each layer's weight gradient, shape (n_layers,), from a flat gradient."""
        squares = torch.zeros(self.n_layers + 1, dtype=grad.dtype, device=grad.device)
        squares.index_add_(0, self.index.to(grad.device), grad * grad)
        return squares[:-1].sqrt()


@dataclass(frozen=True)
class _Layer:
    """The blocks of one Linear layer and what follows it."""

    weight: ParamBlock
    bias: ParamBlock
    bn: tuple[ParamBlock, ParamBlock] | None  # BatchNorm scale and shift, hidden layers only
    hidden: bool  # an activation follows (every layer but the last)
    skip: bool  # residual: h + act(W h + b)

    @property
    def blocks(self) -> tuple[ParamBlock, ...]:
        """This layer's blocks in their order inside θ."""
        return (self.weight, self.bias, *(self.bn or ()))


def _make_layer(spec: ModelSpec, i: int, fan_in: int, fan_out: int, offset: int) -> _Layer:
    hidden = i < len(spec.widths) - 2
    names = [(f"layer{i}.weight", (fan_out, fan_in)), (f"layer{i}.bias", (fan_out,))]
    if spec.batchnorm and hidden:
        names += [(f"layer{i}.bn.weight", (fan_out,)), (f"layer{i}.bn.bias", (fan_out,))]
    blocks = []
    for name, shape in names:
        blocks.append(ParamBlock(name, i, shape, offset))
        offset += blocks[-1].numel
    bn = (blocks[2], blocks[3]) if len(blocks) == 4 else None
    skip = spec.skip and hidden and i > 0 and fan_in == fan_out
    return _Layer(blocks[0], blocks[1], bn, hidden, skip)


def init_weight(spec: ModelSpec, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """A weight (out, in) or a conv filter bank (out, in, k, k) as `spec.init` and `spec.gain`
    draw it; fan-in is everything but the first axis (in·k·k for a filter)."""
    w, gain, init = torch.empty(shape), spec.gain, spec.init
    if init == "orthogonal":
        return torch.nn.init.orthogonal_(w, gain=gain, generator=gen)
    if init == "xavier":
        return torch.nn.init.xavier_normal_(w, gain=gain, generator=gen)
    if init == "he":
        torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=gen)
        return w.mul_(gain)
    fan_in = math.prod(shape[1:])
    return torch.nn.init.normal_(w, std=gain / math.sqrt(fan_in), generator=gen)


class FlatMLP:
    """An MLP whose parameters all live in one flat vector θ.

    Parameters
    ----------
    spec
        Widths from input to output, activation, residual connections, init, batchnorm, dropout.
        Residual connections join hidden layers whose input and output widths are equal; the
        first and the last Linear layer never have one.
    """

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.n_layers = len(spec.widths) - 1
        self._act = _ACTIVATIONS[spec.activation]
        self._layers: list[_Layer] = []
        offset = 0
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(spec.widths)):
            layer = _make_layer(spec, i, fan_in, fan_out, offset)
            self._layers.append(layer)
            offset += sum(b.numel for b in layer.blocks)
        self.blocks: tuple[ParamBlock, ...] = tuple(b for ly in self._layers for b in ly.blocks)
        self.n_params: int = offset
        self._weight_layers = WeightLayers(self.blocks, offset, self.n_layers)

    def init_params(self, seed: int) -> torch.Tensor:
        """Initial θ (shape (P,), float32), deterministic from ``seed``.

        Weights follow ``spec.init``, each scaled by ``spec.gain``: ``he`` is Kaiming normal with
        fan-in and the ReLU gain √2, std gain·√(2/fan_in), whatever the activation; ``xavier`` is
        Glorot normal, std gain·√(2/(fan_in + fan_out)); ``orthogonal`` gives W Wᵀ = gain²·I (or
        Wᵀ W, whichever is smaller); ``normal`` is LeCun normal, std gain/√fan_in. Biases start at
        0, BatchNorm scales at 1 and shifts at 0.
        """
        gen = torch.Generator().manual_seed(seed)
        theta = torch.zeros(self.n_params)
        for layer in self._layers:
            layer.weight.view(theta).copy_(init_weight(self.spec, layer.weight.shape, gen))
            if layer.bn is not None:
                layer.bn[0].view(theta).fill_(1.0)
        return theta

    def forward(
        self,
        theta: torch.Tensor,
        x: torch.Tensor,
        *,
        train: bool = False,
        generator: torch.Generator | None = None,
        record: list | None = None,
    ) -> torch.Tensor:
        """Outputs (n, out) of the network with parameters θ (P,) on inputs x (n, d).

        Parameters
        ----------
        train
            Apply dropout (after each hidden activation, inverted scaling) with ``generator``
            (torch's global generator when None). BatchNorm uses batch statistics either way.
        record
            If a list, receives each hidden layer's output h (after the residual sum and dropout),
            for activation norms through depth.
        """
        h = x.to(theta.dtype)
        for layer in self._layers:
            z = torch.addmm(layer.bias.view(theta), h, layer.weight.view(theta).T)
            if not layer.hidden:
                return z
            if layer.bn is not None:
                z = _batchnorm(z, layer.bn[0].view(theta), layer.bn[1].view(theta), dim=0)
            a = self._act(z)
            if train and self.spec.dropout > 0:
                a = _dropout(a, self.spec.dropout, generator)
            h = h + a if layer.skip else a
            if record is not None:
                record.append(h)
        raise AssertionError("unreachable: the last layer returns")

    def forward_batched(self, thetas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Outputs (G, n, out) for G parameter vectors ``thetas`` (G, P) at once, no dropout.

        Stacked weights and ``torch.baddbmm`` keep the matrix units busy (chunks of ~16 points
        stay in cache on a 2-core CPU).
        Activations are applied in place unless autograd needs the intermediate values.
        """
        inplace = not (torch.is_grad_enabled() and (thetas.requires_grad or x.requires_grad))
        h = x.to(thetas.dtype).expand(thetas.shape[0], *x.shape)  # shape (G, n, d)
        for layer in self._layers:
            weight = layer.weight.view_batched(thetas).transpose(1, 2)  # shape (G, in, out)
            z = torch.baddbmm(layer.bias.view_batched(thetas).unsqueeze(1), h, weight)
            if not layer.hidden:
                return z
            if layer.bn is not None:
                scale, shift = (b.view_batched(thetas).unsqueeze(1) for b in layer.bn)
                z = _batchnorm(z, scale, shift, dim=1)
            a = activate_batched(z, self.spec.activation, inplace)
            h = h + a if layer.skip else a
        raise AssertionError("unreachable: the last layer returns")

    def layer_grad_norms(self, grad: torch.Tensor) -> torch.Tensor:
        """Norm of each Linear layer's weight gradient, shape (n_layers,), from a flat gradient."""
        return self._weight_layers.norms(grad)


def _batchnorm(z: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, dim: int) -> torch.Tensor:
    # Batch statistics with the biased variance, as nn.BatchNorm1d in training mode.
    var, mean = torch.var_mean(z, dim=dim, keepdim=True, correction=0)
    return (z - mean) * torch.rsqrt(var + BN_EPS) * scale + shift


def _dropout(a: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    keep = torch.rand(a.shape, generator=generator, dtype=a.dtype) >= p
    return a * keep / (1 - p)


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The catalogue's activation of that name, as a function (shared with the cnn)."""
    return _ACTIVATIONS[name]


def activate_batched(z: torch.Tensor, name: str, inplace: bool) -> torch.Tensor:
    """The activation on a batched pre-activation, in place when autograd does not need it."""
    if name == "tanh":
        # torch.tanh measured 1.7x faster than the exact 2σ(2z) − 1 rewrite on this AVX-512
        # Xeon (DESIGN.md found the opposite on AMD EPYC); see benchmarks in the issue notes.
        return z.tanh_() if inplace else torch.tanh(z)
    if inplace and name in ("relu", "sigmoid"):
        return z.relu_() if name == "relu" else z.sigmoid_()
    return _ACTIVATIONS[name](z)


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "gelu": F.gelu,  # the exact erf form, as nn.GELU()
    "linear": lambda z: z,
}


# Losses ---------------------------------------------------------------------------------------


def make_loss(name: str, dataset: Dataset, out_dim: int) -> LossFn:
    """The mean loss ``loss(outputs, y)`` for a dataset and a network's output width.

    ``outputs`` is (B, out) or batched (G, B, out); the result is a scalar or (G,). ``bce`` is
    BCE-with-logits on labels {0, 1} (2 classes, width 1); ``cross_entropy`` needs width equal to
    the number of classes; ``mse``, ``mae`` and ``huber`` (δ = 1) take regression targets as they
    are, and for classification ±1 targets (2 classes, width 1) or one-hot targets (width equal to
    the number of classes). The mean runs over samples and output units, as torch's own losses.

    Raises
    ------
    ValueError
        If the loss cannot be used with that dataset and output width.
    """
    target_dim = dataset.y.shape[-1] if dataset.task == "regression" else 0
    problems = loss_problems(name, dataset.task, dataset.n_classes, out_dim, target_dim)
    if problems:
        raise ValueError("; ".join(reason for _, reason in problems))
    if name == "bce":
        return _bce
    if name == "cross_entropy":
        return _cross_entropy
    targets = _regression_targets(dataset.task, out_dim, dataset.n_classes)
    elementwise = _ELEMENTWISE[name]
    return lambda out, y: elementwise(out, targets(y, out.dtype)).flatten(-2).mean(-1)


def _bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = out[..., 0]  # shape (..., B)
    target = y.to(out.dtype).expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    index = y.expand(*out.shape[:-1]).unsqueeze(-1)  # shape (..., B, 1)
    return -out.log_softmax(-1).gather(-1, index).squeeze(-1).mean(-1)


def _regression_targets(task: str, out_dim: int, n_classes: int):
    if task == "regression":
        return lambda y, dtype: y.to(dtype)
    if out_dim == 1:
        return lambda y, dtype: (2 * y - 1).to(dtype).unsqueeze(-1)  # labels {0, 1} -> ±1
    return lambda y, dtype: F.one_hot(y, n_classes).to(dtype)


_ELEMENTWISE: dict[str, LossFn] = {
    "mse": lambda out, t: (out - t).square(),
    "mae": lambda out, t: (out - t).abs(),
    "huber": lambda out, t: F.huber_loss(out, t.expand_as(out), reduction="none", delta=1.0),
}
