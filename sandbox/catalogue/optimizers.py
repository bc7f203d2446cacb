"""The optimisers, from simple to complex: the run keys each one reads and their defaults.

One entry per optimiser. The schema takes the names from here, the scenario checks refuse a key
the run's optimiser does not read, the control panel offers the names and shows a momentum slider
where momentum means something, and a scenario edited to another optimiser keeps only the keys
it reads. `sandbox.optim.registry` builds the torch.optim object of each entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Run keys that only some optimisers read, in the order the checks report them.
OPTIONAL_KEYS = ("momentum", "dampening", "rho", "alpha", "betas", "eps")


@dataclass(frozen=True)
class Optimizer:
    """An optimiser as a scenario file knows it.

    `keys`: the optional run keys (`OPTIONAL_KEYS`) it reads; `defaults`: where it differs from
    the schema's default of such a key (momentum 0.9 for heavy ball), or where the schema has
    none because the readers differ (betas: adam's (0.9, 0.999), lion's (0.9, 0.99));
    `positive`: keys that must not be 0 (Nesterov without momentum is plain GD), given their
    default when an edit would leave them unset or 0.
    """

    name: str
    keys: tuple[str, ...] = ()
    defaults: Mapping[str, float | tuple[float, float]] = field(default_factory=dict)
    positive: tuple[str, ...] = ()


ADAM_BETAS = (0.9, 0.999)

CATALOGUE: tuple[Optimizer, ...] = (
    Optimizer("gd", ("momentum", "dampening")),
    # The same update as gd: the name users give it when minibatches make the gradient stochastic.
    Optimizer("sgd", ("momentum", "dampening")),
    Optimizer("momentum", ("momentum", "dampening"), {"momentum": 0.9}),
    Optimizer("nesterov", ("momentum",), {"momentum": 0.9}, positive=("momentum",)),
    # Sharpness-aware minimisation: SGD (with momentum) on the gradient at θ + rho·g/‖g‖.
    Optimizer("sam", ("momentum", "rho")),
    Optimizer("adagrad", ("eps",)),
    Optimizer("rmsprop", ("momentum", "alpha", "eps")),
    Optimizer("adam", ("betas", "eps"), {"betas": ADAM_BETAS}),
    Optimizer("adamw", ("betas", "eps"), {"betas": ADAM_BETAS}),
    # Steps of size lr along the sign of a momentum; its paper's betas (Chen et al. 2023).
    Optimizer("lion", ("betas",), {"betas": (0.9, 0.99)}),
    # SGD on the gradient multiplied by the damped inverse Hessian (sandbox.optim.precondition).
    Optimizer("newton"),
)
OPTIMIZERS: dict[str, Optimizer] = {optimizer.name: optimizer for optimizer in CATALOGUE}
NAMES = tuple(OPTIMIZERS)
# A run's `precondition` by name (it may also be a fixed 2x2 matrix, on analytic surfaces).
PRECONDITIONERS = ("none", "diag", "newton")
# Which optional run key means something for which optimisers, in catalogue order.
KEYS_FOR_OPTIMIZER: dict[str, tuple[str, ...]] = {
    key: tuple(o.name for o in CATALOGUE if key in o.keys) for key in OPTIONAL_KEYS
}


def reads(optimizer: str, key: str) -> bool:
    """Whether `optimizer` reads the optional run key `key`."""
    return key in OPTIMIZERS[optimizer].keys


def default(optimizer: str, key: str, otherwise: Any = None) -> Any:
    """The optimiser's own default of `key`, or `otherwise` (the schema's)."""
    return OPTIMIZERS[optimizer].defaults.get(key, otherwise)
