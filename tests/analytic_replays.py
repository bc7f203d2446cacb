"""Replays of bundled analytic scenarios and the exact surface facts their tests compare with."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

import sandbox
from sandbox.landscape.analytic import SURFACES
from sandbox.resources import find_scenario


def replay(source):
    """Replay a bundled name or a Scenario; any warning is a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return sandbox.replay(find_scenario(source) if isinstance(source, str) else source)


def surface_of(scenario):
    """The scenario's analytic surface and its complete parameters."""
    surface = SURFACES[scenario.landscape.surface]
    return surface, {**surface.defaults, **scenario.landscape.params}


def critical(scenario, kind: str) -> list[tuple[float, float]]:
    """The surface's listed critical points of one kind ("min", "saddle", "max")."""
    surface, params = surface_of(scenario)
    return [c.xy for c in surface.critical(params) if c.kind == kind]


def minima(scenario) -> list[tuple[float, float]]:
    return critical(scenario, "min")


def gradients(scenario, run) -> np.ndarray:
    """The exact gradient of the scenario's surface at every recorded position, shape (steps, 2)."""
    surface, params = surface_of(scenario)
    xy = torch.tensor(np.stack([run.x, run.y], 1), requires_grad=True)
    (grad,) = torch.autograd.grad(surface.fn(xy, params).sum(), xy)
    return grad.numpy()


def hessian_eigenvalues(scenario, xy: tuple[float, float]) -> np.ndarray:
    surface, params = surface_of(scenario)
    point = torch.tensor(xy, dtype=torch.float64)
    h = torch.autograd.functional.hessian(lambda t: surface.fn(t, params), point)
    return torch.linalg.eigvalsh(h).numpy()


def first(mask: np.ndarray) -> float:
    """The first step where `mask` holds, or inf."""
    hits = np.nonzero(mask)[0]
    return int(hits[0]) if len(hits) else math.inf
