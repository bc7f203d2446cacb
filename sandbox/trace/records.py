"""Immutable records that optimiser runs produce, one per step."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    """The state of one run at one step (step 0 is the start).

    `loss`, `grad_norm` and `position` describe the parameters *before* the update of this step;
    `lr` is the learning rate the update from this step uses. Network runs also carry their
    off-plane distance, weight norm and per-layer gradient norms.
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
