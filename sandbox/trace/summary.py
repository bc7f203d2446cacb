"""A run's entry of summary.json, kept up to date step by step (without keeping the steps)."""

from __future__ import annotations

import math

from sandbox.trace.names import file_safe
from sandbox.trace.records import Step


class SummaryTracker:
    """Running summary of a run's steps (min loss, last step, ...) without keeping them."""

    def __init__(self, name: str):
        self.name = name
        self.min_loss: float | None = None
        self.last: Step | None = None
        self.sharpness: float | None = None
        self.trace: float | None = None  # the last Hessian trace estimate (trace_every)

    def add(self, step: Step) -> None:
        self.last = step
        if math.isfinite(step.loss) and (self.min_loss is None or step.loss < self.min_loss):
            self.min_loss = step.loss
        if step.sharpness is not None:
            self.sharpness = step.sharpness
        trace = step.probe("trace") if step.probes else None
        if trace is not None:
            self.trace = trace[0]

    def summary(self) -> dict:
        last = self.last
        assert last is not None
        entry = {
            "name": self.name,
            "steps_done": last.step,
            "final_loss": last.loss,
            "min_loss": self.min_loss,
            "diverged": last.diverged,
            "diverged_at": last.step if last.diverged else None,
            "final_position": [last.x, last.y],
            "sharpness": self.sharpness,
            "file": f"runs/{file_safe(self.name)}.csv",
        }
        if self.trace is not None:  # only for runs that ask for it: other summaries unchanged
            entry["trace"] = self.trace
        if last.offplane is not None:
            entry["final_offplane"] = last.offplane
            entry["final_weight_norm"] = last.weight_norm
        return entry
