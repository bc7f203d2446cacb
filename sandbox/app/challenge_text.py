"""What the challenge bar says at the shown step: the goal and the run's progress towards it, or
the result once the grader (sandbox/trace/challenge.py, the same one the replay uses) decided.

A scrub back to before the verdict shows the progress at that step again.
"""

from __future__ import annotations

import math

from sandbox.render.numbers import human
from sandbox.trace.challenge import ChallengeGrader, Verdict


def challenge_line(grader: ChallengeGrader, step: int, now: float, rival: float) -> tuple[str, str]:
    """(text, result) for the bar at `step`: `now` is what the goal watches (loss or distance)
    for the graded run at that step, `rival` the rival's loss there (beat; else NaN); result is
    "" while the challenge is open, "met" or "missed" from the verdict's step on."""
    verdict = grader.verdict
    if verdict is not None and verdict.step <= step:
        return result_text(grader, verdict), "met" if verdict.passed else "missed"
    left = max(grader.deadline - step, 0)
    return f"Goal: {goal_phrase(grader)}  ·  now {_now(grader, now, rival)}  ·  {left} left", ""


def goal_phrase(grader: ChallengeGrader) -> str:
    """The goal in a few words for the bar, e.g. "loss < 1e-6 by step 100"."""
    c, d = grader.challenge, grader.deadline
    if c.goal == "loss_below":
        return f"loss < {human(c.loss)} by step {d}"
    if c.goal == "beat":
        return f"lower loss than {c.rival} at step {d}"
    if c.goal == "escape":
        return f"farther than {human(c.radius)} from {_place(grader)} by step {d}"
    return f"within {human(c.radius)} of {_place(grader)} at step {d}"


def _place(grader: ChallengeGrader) -> str:
    c = grader.challenge
    return c.place or f"({c.point[0]:g}, {c.point[1]:g})"


def _now(grader: ChallengeGrader, now: float, rival: float) -> str:
    goal = grader.challenge.goal
    if goal == "beat":
        return f"{human(now)} vs {human(rival)}"
    return f"loss {human(now)}" if goal == "loss_below" else f"{human(now)} away"


def result_text(grader: ChallengeGrader, verdict: Verdict) -> str:
    """The verdict in words, e.g. "Goal met at step 57: loss 7.6e-7 < 1e-6"."""
    c, k, value = grader.challenge, verdict.step, verdict.value
    head = f"Goal {'met' if verdict.passed else 'missed'} at step {k}"
    last = grader.last
    if not verdict.passed and last is not None and last.diverged:
        return f"{head}: the run diverged"
    if c.goal == "loss_below":
        lowest = "loss" if verdict.passed else "lowest loss"
        return f"{head}: {lowest} {human(value)}, goal < {human(c.loss)}"
    place = _place(grader) if c.point is not None else ""
    if c.goal == "escape":
        farthest = "" if verdict.passed else "at most "
        return f"{head}: {farthest}{human(value)} from {place}, goal > {human(c.radius)}"
    if c.goal == "end_near":
        return f"{head}: {human(value)} from {place}, goal ≤ {human(c.radius)}"
    theirs = verdict.rival_value
    shown = "diverged" if theirs is None or not math.isfinite(theirs) else human(theirs)
    return f"{head}: loss {human(value)} vs {c.rival} {shown}"
