"""Lecture helpers: caption navigation for a presenter's clicker, scenario lists and decks.

A deck is a small TOML file naming scenarios in order (bundled names or paths relative to the
deck), so a lecture is one command: ``sandbox present deck.toml``.

    title = "Optimisation, lecture 3"
    scenarios = ["learning_rate", "saddle", "my_scenarios/canyon.toml"]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.resources import bundled_scenarios, find_scenario
from sandbox.scenario.lines import key_lines, line_of
from sandbox.scenario.load import Problem, ScenarioError, read_text
from sandbox.scenario.schema import Scenario

# A caption counts as "the current one" for this many steps after it, so that PageUp right after
# a jump goes to the caption before it rather than back to the same one.
CAPTION_GRACE = 1


def caption_steps(scenario: Scenario) -> list[tuple[int, str]]:
    """(step, caption) of every timeline caption, in step order."""
    return sorted((e.at, e.caption) for e in scenario.timeline if e.caption)


def next_caption(scenario: Scenario, step: int) -> int | None:
    """The step of the first caption after `step`, or None when there is none."""
    later = [at for at, _ in caption_steps(scenario) if at > step]
    return min(later) if later else None


def previous_caption(scenario: Scenario, step: int) -> int | None:
    """The step of the caption before the one being shown, or None at the first."""
    earlier = [at for at, _ in caption_steps(scenario) if at < step - CAPTION_GRACE]
    return max(earlier) if earlier else None


def scenario_choices(user_dir: Path, current: Path | None = None) -> list[tuple[str, Path]]:
    """The picker's entries: the bundled scenarios, the user's folder, and the open file."""
    choices = [(path.stem, path) for path in bundled_scenarios()]
    if user_dir.is_dir():
        choices += [(f"{user_dir.name}/{p.name}", p) for p in sorted(user_dir.glob("*.toml"))]
    if current is not None and all(path.name != current.name for _, path in choices):
        choices.append((current.name, current))
    return choices


class Deck(BaseModel):
    """A deck file: scenarios to present in order."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    title: str = ""
    scenarios: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


def playlist(arguments: list[str]) -> list[Path]:
    """Scenario files to present: the arguments themselves, or a deck file's list (a deck is a
    .toml file with a `scenarios` key). Raises ScenarioError for a bad deck or missing file."""
    paths: list[Path] = []
    for argument in arguments:
        path = find_scenario(argument)
        text = read_text(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}  # not a deck; the scenario loader reports the syntax error with its line
        if "scenarios" in data:
            paths += _deck_paths(path, text, data)
        else:
            paths.append(path)
    return paths


def _deck_paths(path: Path, text: str, data: dict) -> list[Path]:
    try:
        deck = Deck.model_validate(data)
    except ValidationError as error:
        lines = key_lines(text)
        problems = [
            Problem(str(path), line_of(lines, e["loc"]), tuple(e["loc"]), e["msg"])
            for e in error.errors()
        ]
        raise ScenarioError(problems) from None
    found = []
    for i, name in enumerate(deck.scenarios):
        relative = path.parent / name
        candidate = relative if relative.exists() else find_scenario(name)
        if not candidate.exists():
            reason = f"no scenario file or bundled scenario named {name!r}"
            line = line_of(key_lines(text), ("scenarios",))
            raise ScenarioError([Problem(str(path), line, ("scenarios", i), reason)])
        found.append(candidate)
    return found
