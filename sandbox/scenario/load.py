"""Scenario loading: TOML text -> every problem in one pass -> a frozen `Scenario`.

Two layers of checks: the pydantic schema (types, ranges, unknown keys), then checks across
fields that a schema cannot express (unique run names, keys that only apply to some optimisers
or landscapes, network shapes, resource limits). Each problem names file, line, key and reason.
"""

from __future__ import annotations

import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sandbox.scenario import rules
from sandbox.scenario.lines import key_lines, line_of
from sandbox.scenario.schema import Scenario


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int | None
    path: tuple
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = format_path(self.path)
        return f"{where}: {key}: {self.reason}" if key else f"{where}: {self.reason}"


class ScenarioError(Exception):
    """A scenario file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(path: tuple) -> str:
    """("runs", 0, "lr") -> "runs[0].lr"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError listing every problem."""
    return parse_scenario(read_text(Path(path)), str(path))


def read_text(path: Path) -> str:
    """A data file's text; an unreadable file is a ScenarioError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([Problem(str(path), None, (), f"cannot read file: {reason}")]) from None


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario TOML text; `source` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_syntax_problem(source, exc)]) from None
    lines = key_lines(text)

    def located(found: list[tuple[tuple, str]]) -> list[Problem]:
        return [Problem(source, line_of(lines, path), path, reason) for path, reason in found]

    raw = located(rules.raw_problems(data))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [_schema_problem(source, lines, error) for error in exc.errors()]
        raise ScenarioError(sorted(_deduplicate(problems) + raw, key=_by_line)) from None
    problems = raw + located(rules.cross_field_problems(scenario))
    if problems:
        raise ScenarioError(sorted(problems, key=_by_line))
    return scenario


def _syntax_problem(source: str, exc: tomllib.TOMLDecodeError) -> Problem:
    # tomllib's message ends with "(at line L, column C)".
    message = str(exc)
    line = None
    if "(at line " in message:
        message, _, tail = message.partition(" (at line ")
        line = int(tail.split(",")[0].rstrip(")"))
    return Problem(source, line, (), f"TOML syntax error: {message}")


_TAGS = {"analytic", "network"}  # discriminator tags pydantic inserts into error locations


def _schema_problem(source: str, lines: dict[tuple, int], error: dict) -> Problem:
    path = tuple(part for i, part in enumerate(error["loc"]) if not (i == 1 and part in _TAGS))
    path = tuple(p for p in path if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        reason = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "missing":
        reason = "required key is missing"
    else:
        reason = error["msg"].removeprefix("Value error, ")
        if "input" in error and not isinstance(error["input"], dict | list):
            reason += f" (got {error['input']!r})"
    return Problem(source, line_of(lines, path), path, reason)


def _allowed_keys(path: tuple) -> list[str]:
    """The keys the schema allows in the table at `path`, for 'unknown key' messages."""
    from sandbox.scenario.schema import AnalyticLandscape, NetworkLandscape

    model: type[BaseModel] | None = Scenario
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        if model is Scenario and part == "landscape":
            return sorted(set(AnalyticLandscape.model_fields) | set(NetworkLandscape.model_fields))
        model = (
            _submodel(model.model_fields[part].annotation) if part in model.model_fields else None
        )
    return sorted(model.model_fields) if model else []


def _submodel(annotation) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `tuple[Run, ...]` or `Schedule | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _deduplicate(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple] = set()
    unique = []
    for problem in problems:
        if (problem.path, problem.reason) not in seen:
            seen.add((problem.path, problem.reason))
            unique.append(problem)
    return unique


def _by_line(problem: Problem) -> int:
    return problem.line or 0
