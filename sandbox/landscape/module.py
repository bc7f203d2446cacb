"""A user's own torch module as a landscape: the flat-θ interface of `FlatMLP` over any
``torch.nn.Module`` (`sandbox.show`, `sandbox.replay_model`).

`hand_over` makes the sandbox's private copy once: deep-copied (the caller's module is never
touched, not even moved or put in eval mode), float32 on the CPU, in eval mode, and made portable
to the background worker's process. A module whose class lives in a notebook cannot be unpickled
there (pickle stores classes by name), so the copy is traced with ``torch.fx``: the traced
module's code is generated and pickled as text, its submodules are torch's own. A module that fx
cannot trace (control flow on tensor values) is handed over as it is when its class can be
imported elsewhere; otherwise the error says what to change.

`FlatModule` evaluates the copy as a pure function of one flat vector θ with
``torch.func.functional_call``, never by writing weights into it, and many θ at once with
``torch.func.vmap`` (a surface's chunk of grid points). It is always in eval mode: dropout off
and BatchNorm normalising with the running statistics the module had when it was handed over,
so the loss is a function of θ alone, the same in training, surfaces and Hessians.
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sandbox.landscape.mlp import LossFn, ParamBlock, WeightLayers


@dataclass(frozen=True, eq=False)
class UserModel:
    """The sandbox's copy of a user's module, with the facts the scenario checks and the cost
    estimate read without torch (input shape, output width, sizes)."""

    module: nn.Module  # eval mode, float32, CPU: a torch.fx GraphModule or the module itself
    name: str  # the module's class name, for titles and messages
    input_shape: tuple[int, ...]  # one sample's shape (the data's rows are flattened)
    outputs: int  # width of the module's output for one sample
    n_params: int
    macs: int  # multiply-adds of one sample's forward pass (torch's FLOP counter / 2)
    units: int  # values the leaf modules output per sample (what autograd keeps)
    # The caller's module's parameter names in its own order: θ's layout, so that θ is what
    # torch.nn.utils.parameters_to_vector(model.parameters()) gives (fx may list them otherwise).
    parameter_names: tuple[str, ...]
    loss: Callable | None = None  # a callable loss(outputs, targets), handed over the same way

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)


def hand_over(module: nn.Module, example: torch.Tensor, loss: Callable | None = None) -> UserModel:
    """The sandbox's portable copy of `module`, measured on `example` (a batch of inputs in the
    module's own shape). Raises ValueError when the module cannot be evaluated or handed over."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(module).__name__}")
    own = copy.deepcopy(module).float().cpu().eval()
    for parameter in own.parameters():
        parameter.requires_grad_(False)  # θ carries the gradients, never the copy's tensors
    portable = _portable(own, type(module))
    one = example[:1].float().cpu()
    with torch.no_grad():
        try:
            out = portable(one)
        except Exception as exc:  # noqa: BLE001 - any failure of the user's code, said plainly
            raise ValueError(f"the model fails on one sample of the data: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must return a (samples, outputs) tensor, got {shape}")
    portable_loss = None if loss is None else _portable(loss, loss)
    for submodule in portable.modules():
        if isinstance(submodule, nn.MaxPool2d):  # as the cnn kind's pooling (cnn.max_pool)
            submodule.register_forward_pre_hook(_pool_channels_last)
            submodule.register_forward_hook(_back_to_contiguous)
    return UserModel(
        portable,
        type(module).__name__,
        tuple(one.shape[1:]),
        out.shape[1],
        sum(p.numel() for p in portable.parameters()),
        _macs(portable, one),
        _units(portable, one),
        parameter_names=tuple(name for name, _ in own.named_parameters()),
        loss=portable_loss,
    )


def _portable(thing, origin) -> Callable:
    """`thing` traced by torch.fx when it can be, else itself when pickle can find its class
    (or function) by name in another process."""
    try:
        traced = torch.fx.symbolic_trace(thing)
        pickle.dumps(traced)
        return traced
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds; the reason is reported
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    where = getattr(origin, "__module__", None)
    if where not in (None, "__main__"):
        try:
            pickle.dumps(thing)
            return thing
        except Exception as exc:  # noqa: BLE001
            reason += f"; pickling it failed too ({type(exc).__name__}: {exc})"
    what = getattr(origin, "__name__", type(origin).__name__)
    raise ValueError(
        f"{what} cannot be handed to the background process: torch.fx could not trace it "
        f"({reason}), and it is not defined in an importable module. Define it in a .py file "
        "and import it, or avoid control flow that depends on tensor values."
    )


def _pool_channels_last(module: nn.Module, args: tuple) -> tuple | None:
    """Without autograd, a max pooling's images go in channels-last: the same numbers, 3.4x
    faster on this CPU (see `sandbox.landscape.cnn.max_pool`, which says why not with autograd).
    Hooks are functions of this module, so the copy still pickles."""
    if torch.is_grad_enabled() or not args or getattr(args[0], "dim", lambda: 0)() != 4:
        return None
    return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])


def _back_to_contiguous(module: nn.Module, args: tuple, out):
    if torch.is_grad_enabled() or not isinstance(out, torch.Tensor):
        return None
    return out.contiguous()


def _macs(module: nn.Module, one: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(one)
    return max(counter.get_total_flops() // 2, sum(p.numel() for p in module.parameters()))


def _units(module: nn.Module, one: torch.Tensor) -> int:
    sizes: list[int] = []
    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_hook(lambda _m, _i, o: sizes.append(_numel(o))) for m in leaves]
    try:
        with torch.no_grad():
            module(one)
    finally:
        for hook in hooks:
            hook.remove()
    return max(sum(sizes), 1)


def _numel(output) -> int:
    return output.numel() if isinstance(output, torch.Tensor) else 0


class ModuleBlock(ParamBlock):
    """One parameter of a handed-over module; its name is the module's own (``conv1.weight``)."""

    @property
    def is_weight(self) -> bool:
        """A weight matrix or filter bank (two axes or more): what filter normalisation rescales
        row by row, as Li et al. do (biases and norm layers' vectors are left out)."""
        return len(self.shape) >= 2


class FlatModule:
    """A handed-over module whose parameters all live in one flat vector θ, with `FlatMLP`'s
    interface (``blocks``, ``n_params``, ``n_layers``, ``init_params``, ``forward``,
    ``forward_batched``, ``layer_grad_norms``)."""

    def __init__(self, user: UserModel):
        self.user = user
        self._module = user.module
        params = dict(user.module.named_parameters())
        named = [(name, params[name]) for name in user.parameter_names]
        owners = list(dict.fromkeys(name.rpartition(".")[0] for name, p in named if p.dim() >= 2))
        blocks, offset = [], 0
        for name, p in named:
            owner = name.rpartition(".")[0]
            layer = owners.index(owner) if owner in owners else len(owners)
            blocks.append(ModuleBlock(name, layer, tuple(p.shape), offset))
            offset += p.numel()
        self.blocks: tuple[ParamBlock, ...] = tuple(blocks)
        self.n_params: int = offset
        self.n_layers = len(owners)  # modules with a weight matrix or filter bank
        self._buffers = dict(user.module.named_buffers())  # running statistics: constants
        self._weight_layers = WeightLayers(self.blocks, offset, self.n_layers)
        self._vmap_works: bool | None = None

    def given_params(self) -> torch.Tensor:
        """θ of the module as it was handed over (the caller's own weights), shape (P,)."""
        return self._flatten(self._module)

    def init_params(self, seed: int) -> torch.Tensor:
        """Fresh weights, deterministic from ``seed``: every submodule's own
        ``reset_parameters`` (torch's default initialisation) under a seeded generator."""
        fresh = copy.deepcopy(self._module)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for submodule in fresh.modules():
                if callable(getattr(submodule, "reset_parameters", None)):
                    submodule.reset_parameters()
        return self._flatten(fresh)

    def _flatten(self, module: nn.Module) -> torch.Tensor:
        params = dict(module.named_parameters())
        return torch.cat([params[b.name].detach().reshape(-1) for b in self.blocks]).float()

    def forward(
        self,
        theta: torch.Tensor,
        x: torch.Tensor,
        *,
        train: bool = False,
        generator: torch.Generator | None = None,
        record: list | None = None,
    ) -> torch.Tensor:
        """Outputs (n, outputs) with parameters θ (P,) on inputs x (n, input size), flattened
        rows reshaped to the module's input shape. Always eval mode (see the module docstring):
        ``train`` and ``generator`` are accepted for FlatMLP's interface; ``record`` gets
        nothing (a module's hidden layers are not known)."""
        tensors = {b.name: b.view(theta) for b in self.blocks} | self._buffers
        inputs = x.to(theta.dtype).view(-1, *self.user.input_shape)
        return torch.func.functional_call(self._module, tensors, (inputs,))

    def forward_batched(self, thetas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Outputs (G, n, outputs) for G parameter vectors ``thetas`` (G, P).

        One vmapped call, except for a module that convolves or has an operation vmap cannot
        batch: then one call per θ. vmap turns G convolutions into one grouped convolution,
        which on this project's CPU was 2.6x slower than G plain ones (1,898 and 21,386
        parameters, 16 points on 1,024 digits: 375 against 144 ms, 1,750 against 669 ms), as
        for the cnn kind; for Linear layers the two were equal (17 ms).
        """
        if self._vmap_works is None and _convolves(self._module):
            self._vmap_works = False
        if self._vmap_works is not False:
            try:
                out = torch.func.vmap(lambda theta: self.forward(theta, x))(thetas)
                self._vmap_works = True
                return out
            except Exception:  # noqa: BLE001 - an operation without a batching rule
                if self._vmap_works:
                    raise
                self._vmap_works = False
        return torch.stack([self.forward(theta, x) for theta in thetas])

    def layer_grad_norms(self, grad: torch.Tensor) -> torch.Tensor:
        """Norm of each weight-carrying module's weight gradient, shape (n_layers,)."""
        return self._weight_layers.norms(grad)


def _convolves(module: nn.Module) -> bool:
    """Whether the module has a convolution layer, or (traced) calls one as a function."""
    if any(isinstance(m, nn.modules.conv._ConvNd) for m in module.modules()):
        return True
    graph = getattr(module, "graph", None)
    return graph is not None and any("conv" in str(node.target) for node in graph.nodes)


def user_loss(loss: Callable) -> LossFn:
    """A handed-over ``loss(outputs, targets)`` (a scalar mean, as torch's losses) that also
    takes a batch of outputs (G, B, out) and returns (G,): one call per network."""

    def batched(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if out.dim() == 2:
            return loss(out, y)
        return torch.stack([loss(one, y) for one in out])

    return batched
