"""Grading a scenario's challenge from step records: the one place a goal is judged.

`sandbox replay` (summary.json's "challenge") and the app (its progress line and result banner)
both feed a `ChallengeGrader` the records of the runs as they arrive, so the two cannot disagree.
The goals (docs/scenarios.md, Challenges), with D the deadline step (`within`, else `steps`):

- loss_below: the graded run's loss drops below `loss` at some step <= D;
- escape: its distance from `point` exceeds `radius` at some step <= D;
- end_near: at step D it is within `radius` of `point`;
- beat: at step D its loss is below the `rival` run's (a rival that diverged is beaten).

A run that diverges before meeting its goal misses it at the step it diverged: blowing up is
not escaping, and its NaN loss is below nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.trace.records import Step

if TYPE_CHECKING:  # the scenario layer sits above this one: only its shape is used here
    from sandbox.scenario.schema import Challenge


@dataclass(frozen=True)
class Verdict:
    """The challenge's result: met or missed, at which step, and the value measured there
    (loss, or distance from the point; for a missed loss_below / escape, the best reached)."""

    passed: bool
    step: int
    value: float
    rival_value: float | None = None  # beat: the rival's loss at the deadline (inf: diverged)


class ChallengeGrader:
    """Judges `challenge` for run `graded` of a scenario of `steps` steps, record by record."""

    def __init__(self, challenge: Challenge, graded: str, steps: int):
        self.challenge, self.graded = challenge, graded
        self.deadline = challenge.within if challenge.within is not None else steps
        self.verdict: Verdict | None = None
        self.best = math.nan  # lowest loss / farthest distance so far (loss_below, escape)
        self.last: Step | None = None  # the graded run's latest record
        self.graded_at_deadline: Step | None = None
        self.rival_at_deadline: float | None = None

    def measure(self, step: Step) -> float:
        """What the goal watches at `step`: the loss, or the distance from the point."""
        return self.value_at(step.loss, step.x, step.y)

    def value_at(self, loss: float, x: float, y: float) -> float:
        """What the goal watches at a point of loss `loss`."""
        point = self.challenge.point
        return loss if point is None else math.hypot(x - point[0], y - point[1])

    def add(self, run: str, step: Step) -> None:
        """Take one record of run `run` (records of other runs are ignored)."""
        if run == self.challenge.rival:
            self._add_rival(step)
        if run != self.graded or self.verdict is not None or step.step > self.deadline:
            return
        self.last = step
        value, goal = self.measure(step), self.challenge.goal
        if goal in ("loss_below", "escape"):
            self._add_reaching(step, value)
        elif step.diverged:
            self.verdict = Verdict(False, step.step, value)
        elif step.step == self.deadline and goal == "end_near":
            self.verdict = Verdict(value <= self.challenge.radius, step.step, value)
        elif step.step == self.deadline:
            self.graded_at_deadline = step
            self._judge_beat()

    def _add_reaching(self, step: Step, value: float) -> None:
        """loss_below / escape: met at the first step past the target."""
        below = self.challenge.goal == "loss_below"
        if math.isfinite(value) and not (value >= self.best if below else value <= self.best):
            self.best = value
        met = value < self.challenge.loss if below else value > self.challenge.radius
        if met and not step.diverged:
            self.verdict = Verdict(True, step.step, value)
        elif step.diverged or step.step == self.deadline:
            self.verdict = Verdict(False, step.step, self.best)

    def _add_rival(self, step: Step) -> None:
        if self.rival_at_deadline is not None or step.step > self.deadline:
            return
        if step.diverged:
            self.rival_at_deadline = math.inf
        elif step.step == self.deadline:
            self.rival_at_deadline = step.loss
        self._judge_beat()

    def _judge_beat(self) -> None:
        mine, theirs = self.graded_at_deadline, self.rival_at_deadline
        if mine is not None and theirs is not None and self.verdict is None:
            self.verdict = Verdict(mine.loss < theirs, mine.step, mine.loss, theirs)

    def result(self) -> Verdict:
        """The verdict; if the records ended before it was reached (an interrupted stream),
        missed at the graded run's last step."""
        if self.verdict is not None:
            return self.verdict
        last = self.last.step if self.last is not None else 0
        value = self.best if self.challenge.goal in ("loss_below", "escape") else math.nan
        return Verdict(False, last, value)

    def words(self) -> str:
        """The goal in words, e.g. "reach loss < 1e-06 within 200 steps"."""
        c, d = self.challenge, self.deadline
        if c.goal == "loss_below":
            return f"reach loss < {c.loss:g} within {d} steps"
        if c.goal == "beat":
            return f"end with a lower loss than {c.rival} at step {d}"
        where = f"({c.point[0]:g}, {c.point[1]:g})"
        where = f"{c.place} {where}" if c.place else where
        if c.goal == "escape":
            return f"get farther than {c.radius:g} from {where} within {d} steps"
        return f"be within {c.radius:g} of {where} at step {d}"

    def summary(self) -> dict:
        """summary.json's "challenge" entry (non-finite numbers as null)."""
        c, verdict = self.challenge, self.result()
        entry = {
            "run": self.graded,
            "goal": c.goal,
            "text": self.words(),
            "passed": verdict.passed,
            "step": verdict.step,
            "value": _finite_or_none(verdict.value),
            "target": c.loss if c.goal == "loss_below" else c.radius,
            "within": self.deadline,
            "unlocks": list(c.unlocks),
        }
        if c.goal == "beat":
            entry["rival"] = c.rival
            entry["target"] = _finite_or_none(verdict.rival_value)
        return entry


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
