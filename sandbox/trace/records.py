"""Immutable records that flow from the optimiser side to the writers and the view (no torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Probes that run keys ask for (trace_every, density_every), not [view] plots: the replay's CSVs
# keep the contract's columns without them; summary.json gains `trace` when a run measures it.
HESSIAN_PROBES = ("trace", "spectrum")


@dataclass(frozen=True, slots=True)
class Step:
    """The state of one run at one step (step 0 is the start).

    `loss`, `grad_norm` and `position` describe the parameters *before* the update of this step;
    `lr` is the learning rate the update from this step uses. Network runs also carry their
    off-plane distance, weight norm and per-layer gradient norms, and, every few steps, the
    probes the scenario's plots ask for (`sandbox.landscape.probes`): (name, values) pairs.
    """

    step: int
    loss: float
    x: float
    y: float
    grad_norm: float
    lr: float
    sharpness: float | None = None
    offplane: float | None = None
    weight_norm: float | None = None
    layer_grad_norms: tuple[float, ...] | None = None
    diverged: bool = False
    init_distance: float | None = None  # ‖θ − θ₀‖ (network runs in the app; not written to CSV)
    probes: tuple[tuple[str, tuple[float, ...]], ...] = ()
    anatomy: Anatomy | None = None  # the update from this step, taken apart (app only; no CSV)

    def probe(self, name: str) -> tuple[float, ...] | None:
        """The values of probe `name` at this step, or None when it was not measured."""
        return next((values for key, values in self.probes if key == name), None)


Vector = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Anatomy:
    """The update θ_k -> θ_{k+1} taken apart, in the drawn plane's coordinates (x, y), or the
    slice's (α, β) for networks, where each vector is its least-squares projection on the plane.

    `descent` is −lr·∇f(θ_k), `momentum` −lr·(the optimiser's momentum buffer after the update;
    Adam's bias-corrected first moment), None without one, `step` θ_{k+1} − θ_k: three
    displacements of one scale. `offplane` is each one's share of its norm off the plane
    (‖v − proj v‖ / ‖v‖; None for analytic runs and missing vectors). `numbers` are the update's
    figures as (name, values) pairs, from the torch.optim state (`sandbox.optim.anatomy`):
    every coordinate for 2-parameter runs, norms for networks.
    """

    descent: Vector
    momentum: Vector | None
    step: Vector
    offplane: tuple[float | None, float | None, float | None] = (None, None, None)
    numbers: tuple[tuple[str, tuple[float, ...]], ...] = ()

    def number(self, name: str) -> tuple[float, ...] | None:
        """The values of figure `name`, or None when this optimiser has none."""
        return next((values for key, values in self.numbers if key == name), None)


@dataclass(frozen=True)
class SurfaceSample:
    """Loss on a grid: row i is y = y0 + i·(y1 − y0)/(H − 1), column j likewise x; float32 (H, W).

    `step` is the step whose weights centre a moving network surface (0 for fixed surfaces).
    """

    bounds: tuple[tuple[float, float], tuple[float, float]]
    heights: np.ndarray
    step: int = 0
