"""Learning-rate schedules as pure functions of the step (deterministic, easy to test)."""

from __future__ import annotations

import math

from sandbox.scenario.schema import Schedule


def lr_factor(schedule: Schedule, step: int, total_steps: int) -> float:
    """The factor multiplying the base learning rate at `step` (0-based) of `total_steps`."""
    if schedule.warmup and step < schedule.warmup:
        return (step + 1) / schedule.warmup
    if schedule.kind == "step":
        return schedule.gamma ** (step // schedule.every)
    if schedule.kind == "cosine":
        span = max(total_steps - schedule.warmup, 1)
        progress = min((step - schedule.warmup) / span, 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return schedule.min_factor + (1 - schedule.min_factor) * cosine
    return 1.0  # "constant", and "warmup" after its ramp
