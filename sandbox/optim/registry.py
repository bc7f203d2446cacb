"""Optimisers by name, from simple to complex: one case per entry of the optimiser catalogue
(sandbox/catalogue/optimizers.py), which says which run keys each one reads. All are torch.optim's
except `sam` and `lion`, which it lacks (sandbox/optim/extra.py).

`newton` is plain SGD on a gradient that `precondition.py` has multiplied by the (damped) inverse
Hessian, so the step is lr·H⁻¹∇f. `gd` and `sgd` are the same update; `sgd` is the name users
give it when minibatches make the gradient stochastic.
"""

from __future__ import annotations

import torch

from sandbox.catalogue import optimizers
from sandbox.optim.extra import SAM, Lion
from sandbox.scenario.schema import Run


def make_optimizer(run: Run, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """The torch.optim optimiser a run asks for, over `params`."""
    momentum = (
        run.momentum
        if run.momentum is not None
        else optimizers.default(run.optimizer, "momentum", 0.0)
    )
    # None: the optimiser's own default (adam's (0.9, 0.999), lion's (0.9, 0.99)).
    betas = run.betas if run.betas is not None else optimizers.default(run.optimizer, "betas")
    # foreach=False is what torch picks for CPU tensors anyway; saying so skips making that
    # choice again on every step (a few per cent of a 2-parameter step).
    common = {"weight_decay": run.weight_decay, "foreach": False}
    match run.optimizer:
        case "gd" | "sgd" | "momentum" | "newton":
            return torch.optim.SGD(
                params, lr=run.lr, momentum=momentum, dampening=run.dampening, **common
            )
        case "nesterov":
            return torch.optim.SGD(params, lr=run.lr, momentum=momentum, nesterov=True, **common)
        case "adagrad":
            return torch.optim.Adagrad(params, lr=run.lr, eps=run.eps, **common)
        case "rmsprop":
            return torch.optim.RMSprop(
                params, lr=run.lr, alpha=run.alpha, eps=run.eps, momentum=momentum, **common
            )
        case "sam":
            return SAM(params, rho=run.rho, lr=run.lr, momentum=momentum, **common)
        case "adam":
            return torch.optim.Adam(params, lr=run.lr, betas=betas, eps=run.eps, **common)
        case "adamw":
            return torch.optim.AdamW(params, lr=run.lr, betas=betas, eps=run.eps, **common)
        case "lion":
            return Lion(params, lr=run.lr, betas=betas, weight_decay=run.weight_decay)
    raise ValueError(f"unknown optimizer {run.optimizer!r}")
