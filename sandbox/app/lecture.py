"""Lecture helpers: caption navigation for a presenter's clicker, scenario lists and decks.

A deck is a small TOML file naming scenarios in order (bundled names or paths relative to the
deck), so a lecture is one command: ``sandbox present deck.toml``. An entry is a bundled name or a
path ending in .toml; anything else (a device, a folder, a file of another kind) is refused.

    title = "Optimisation, lecture 3"
    scenarios = ["learning_rate", "saddle", "my_scenarios/canyon.toml"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.resources import bundled_scenarios, data_dir, find_scenario
from sandbox.scenario.lines import key_lines, line_of
from sandbox.scenario.load import Problem, ScenarioError, parse_toml, read_text
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
        data = parse_toml(text, str(path))  # a syntax error is one whether deck or scenario
        if "scenarios" in data:
            paths += _deck_paths(path, text, data)
        else:
            paths.append(path)
    return paths


def _deck_paths(path: Path, text: str, data: dict) -> list[Path]:
    lines = key_lines(text)
    try:
        deck = Deck.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(str(path), line_of(lines, e["loc"]), tuple(e["loc"]), e["msg"])
            for e in error.errors()
        ]
        raise ScenarioError(problems) from None
    found = []
    for i, name in enumerate(deck.scenarios):
        try:
            found.append(_deck_entry(path.parent, name))
        except ValueError as error:
            line = line_of(lines, ("scenarios",))
            raise ScenarioError([Problem(str(path), line, ("scenarios", i), str(error))]) from None
    return found


def _deck_entry(folder: Path, name: str) -> Path:
    """The scenario file a deck entry names: a .toml path from the deck's folder, or a bundled
    name. Only readable regular .toml files pass, so a deck cannot point the app at a device,
    a folder or a file of another kind. ValueError says why not."""
    plain = Path(name).name == name  # no folder part: may be a bundled scenario
    bundled = data_dir("scenarios") / (name if name.endswith(".toml") else f"{name}.toml")
    if name.endswith(".toml"):
        candidate = folder / name
        if plain and not candidate.exists() and bundled.is_file():
            candidate = bundled
    elif plain and bundled.is_file():
        candidate = bundled
    else:
        tail = "" if plain else " (a file named in a deck must end in .toml)"
        raise ValueError(f"no scenario file or bundled scenario named {name!r}{tail}")
    try:
        read_text(candidate)  # regular, readable, not too large; its content is checked later
    except ScenarioError as error:
        why = error.problems[0].reason.removeprefix("cannot read file: ")
        raise ValueError(f"cannot read {name!r}: {why}") from None
    return candidate
