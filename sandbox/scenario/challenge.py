"""Checks of a scenario's [challenge] table, and of a student's copy against the original.

A challenge names a goal for one run (docs/scenarios.md, Challenges); the grading itself is
sandbox/trace/challenge.py. Here: every key the goal needs is there, no key it ignores is (a
user who writes it believes it does something), the runs and run keys it names exist, and the
deadline is inside the scenario. `locked_changes` compares a student's file with the teacher's:
only the graded run's unlocked keys may differ.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from sandbox.scenario.schema import Challenge, Run, Scenario
from sandbox.trace.challenge import ChallengeGrader

Found = Iterator[tuple[tuple, str]]

# What each goal reads besides run, within and unlocks; "place" names the point in words.
NEEDS = {
    "loss_below": ("loss",),
    "escape": ("point", "radius"),
    "end_near": ("point", "radius"),
    "beat": ("rival",),
}
WHY = {
    "loss": "the loss to get under",
    "point": "the point, [x, y]",
    "radius": "the distance from the point",
    "rival": "the name of the run to beat",
}
OPTIONAL = {"place": ("escape", "end_near")}
# Run keys a challenge may unlock: every key but the name, which the goal and timeline refer to.
UNLOCKABLE = tuple(key for key in Run.model_fields if key != "name")


def problems(scenario: Scenario) -> Found:
    """(key path, reason) for each problem of the scenario's challenge (none without one)."""
    challenge = scenario.challenge
    if challenge is None:
        return
    yield from _keys(challenge)
    yield from _runs(scenario, challenge)
    yield from _escape_from_outside(scenario, challenge)
    if challenge.within is not None and challenge.within > scenario.steps:
        yield (
            ("challenge", "within"),
            f"step {challenge.within} is after the last step {scenario.steps} (steps)",
        )
    for i, key in enumerate(challenge.unlocks):
        if key not in UNLOCKABLE:
            yield ("challenge", "unlocks", i), f"{key!r} is not a run key ({', '.join(UNLOCKABLE)})"
        elif key in challenge.unlocks[:i]:
            yield ("challenge", "unlocks", i), f"{key!r} is listed twice"


def _keys(challenge: Challenge) -> Found:
    goal, given = challenge.goal, challenge.model_fields_set
    for key in NEEDS[goal]:
        if key not in given:
            yield ("challenge", key), f'goal = "{goal}" needs {key}: {WHY[key]}'
    for key in WHY:  # every key some goal needs, in a fixed order
        if key in given and key not in NEEDS[goal]:
            users = " and ".join(f'"{g}"' for g, need in NEEDS.items() if key in need)
            yield ("challenge", key), f"applies to goal = {users} only"
    for key, goals in OPTIONAL.items():
        if key in given and goal not in goals:
            yield ("challenge", key), f"applies to goal = {' and '.join(goals)} only"


def _runs(scenario: Scenario, challenge: Challenge) -> Found:
    names = [run.name for run in scenario.runs]
    known = ", ".join(repr(name) for name in names)
    for key in ("run", "rival"):
        name = getattr(challenge, key)
        if name is not None and name not in names:
            yield ("challenge", key), f"no run named {name!r} (runs: {known})"
    if challenge.goal == "beat" and challenge.rival == graded_run(scenario):
        yield ("challenge", "rival"), f"{challenge.rival!r} is the graded run; name another run"


def _escape_from_outside(scenario: Scenario, challenge: Challenge) -> Found:
    """An escape whose run starts outside the radius would be met at step 0."""
    run = next((r for r in scenario.runs if r.name == graded_run(scenario)), None)
    if challenge.goal != "escape" or None in (run, challenge.point, challenge.radius):
        return
    if run.start is not None:
        distance = math.dist(run.start, challenge.point)
        if distance > challenge.radius:
            yield (
                ("challenge", "radius"),
                f"run {run.name!r} starts {distance:g} from the point, already farther than "
                f"{challenge.radius:g}: the goal would be met at step 0",
            )


def graded_run(scenario: Scenario) -> str:
    """The name of the run a challenge grades: its `run`, else the first."""
    challenge = scenario.challenge
    named = challenge.run if challenge is not None else None
    return named or scenario.runs[0].name


def is_locked(scenario: Scenario, run: str | None, key: str) -> bool:
    """Whether the scenario's challenge locks `key` of run `run` (None: a key outside the runs,
    such as the network's shape): every key but the graded run's unlocked ones, whose change
    `--original` refuses; False without a challenge."""
    challenge = scenario.challenge
    if challenge is None:
        return False
    return run != graded_run(scenario) or key not in challenge.unlocks


def grader(scenario: Scenario) -> ChallengeGrader | None:
    """A grader of the scenario's challenge, to feed its runs' records; None without one."""
    if scenario.challenge is None:
        return None
    return ChallengeGrader(scenario.challenge, graded_run(scenario), scenario.steps)


def locked_changes(original: Scenario, student: Scenario) -> list[tuple[tuple, str]]:
    """(key path in the student's file, reason) for each difference from the original that the
    original's challenge does not unlock: anything but the graded run's unlocked keys, set in
    the run or from a step on in the timeline (the app's live changes are timeline events)."""
    if original.challenge is None:
        return [((), "the original scenario has no [challenge]; there is nothing to grade")]
    name = graded_run(original)
    unlocked = set(original.challenge.unlocks)
    theirs = _without_unlocked(original, name, unlocked)
    mine = _without_unlocked(student, name, unlocked)
    found = list(_differences(theirs, mine, ()))
    # events are matched in order once both sides dropped the graded run's unlocked changes; a
    # student's event is named by its number in their file
    events, own = theirs["timeline"], mine["timeline"]
    for (_, a), (i, b) in zip(events, own, strict=False):
        found += _differences(a, b, ("timeline", i))
    for i, _ in own[len(events) :]:  # the student's own events
        found.append((("timeline", i), "locked by the challenge: the original has no such event"))
    if len(own) < len(events):
        found.append((("timeline",), "locked by the challenge: an event of the original is gone"))
    return found


def _without_unlocked(scenario: Scenario, name: str, unlocked: set[str]) -> dict[str, Any]:
    """The scenario's data without the graded run's unlocked keys, its timeline as (event's
    number in the file, event) for the events left with a caption or a locked change."""
    data = scenario.model_dump(mode="python")
    for run in data["runs"]:
        if run["name"] == name:
            for key in unlocked:
                run.pop(key, None)
    events = []
    for i, event in enumerate(data.pop("timeline")):
        change = event.get("set")
        if change is not None and change["run"] == name:
            kept = {k: v for k, v in change.items() if k not in unlocked and v is not None}
            event["set"] = kept if set(kept) != {"run"} else None
        if event["caption"] or event["set"] is not None:
            events.append((i, event))
    return data | {"timeline": events}


def _differences(original: Any, student: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """The first difference under each key, as (path, reason): tables and lists of tables
    (runs, timeline) key by key, any other value as a whole (a start point is one value)."""
    if isinstance(original, dict) and isinstance(student, dict):
        for key in [k for k in original if path or k != "timeline"]:  # timeline: above
            yield from _differences(original[key], student.get(key), (*path, key))
        return
    if _of_tables(original) and _of_tables(student):
        for i, (a, b) in enumerate(zip(original, student, strict=False)):
            yield from _differences(a, b, (*path, i))
        for i in range(len(original), len(student)):  # the student's own events, say
            yield (*path, i), "locked by the challenge: the original has no such entry"
        if len(student) < len(original):
            yield path, f"locked by the challenge: the original has {len(original)} entries"
        return
    if original != student:
        yield path, f"locked by the challenge: the original has {_shown(original)}"


def _of_tables(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, dict) for v in value)


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else f"{value}"
