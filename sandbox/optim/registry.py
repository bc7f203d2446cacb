"""Optimisers by name, from simple to complex, all from torch.optim.

`newton` is plain SGD on a gradient that `precondition.py` has multiplied by the (damped) inverse
Hessian, so the step is lr·H⁻¹∇f. `gd` and `sgd` are the same update; `sgd` is the name users
give it when minibatches make the gradient stochastic.
"""

from __future__ import annotations

import torch

from sandbox.scenario.schema import Run

DEFAULT_MOMENTUM = {"momentum": 0.9, "nesterov": 0.9}


def make_optimizer(run: Run, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """The torch.optim optimiser a run asks for, over `params`."""
    momentum = (
        run.momentum if run.momentum is not None else DEFAULT_MOMENTUM.get(run.optimizer, 0.0)
    )
    wd = run.weight_decay
    match run.optimizer:
        case "gd" | "sgd" | "momentum" | "newton":
            return torch.optim.SGD(
                params, lr=run.lr, momentum=momentum, dampening=run.dampening, weight_decay=wd
            )
        case "nesterov":
            return torch.optim.SGD(
                params, lr=run.lr, momentum=momentum, nesterov=True, weight_decay=wd
            )
        case "adagrad":
            return torch.optim.Adagrad(params, lr=run.lr, eps=run.eps, weight_decay=wd)
        case "rmsprop":
            return torch.optim.RMSprop(
                params, lr=run.lr, alpha=run.alpha, eps=run.eps, momentum=momentum, weight_decay=wd
            )
        case "adam":
            return torch.optim.Adam(
                params, lr=run.lr, betas=run.betas, eps=run.eps, weight_decay=wd
            )
        case "adamw":
            return torch.optim.AdamW(
                params, lr=run.lr, betas=run.betas, eps=run.eps, weight_decay=wd
            )
    raise ValueError(f"unknown optimizer {run.optimizer!r}")
