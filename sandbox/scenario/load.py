"""Scenario loading: TOML text -> every problem in one pass -> a frozen `Scenario`.

Two layers of checks: the pydantic schema (types, ranges, unknown keys), then checks across
fields that a schema cannot express (unique run names, keys that only apply to some optimisers
or landscapes, network shapes, resource limits). Each problem names file, line, key and reason.
"""

from __future__ import annotations

import copy
import os
import stat
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sandbox.resources import find_scenario
from sandbox.scenario import datafile, rules
from sandbox.scenario.challenge import locked_changes
from sandbox.scenario.lines import key_lines, line_of, shape_problem
from sandbox.scenario.paths import PathError, assign, covers, parse_path
from sandbox.scenario.schema import Scenario

MAX_FILE_BYTES = 1 << 20  # the largest bundled scenario is ~3 KB; a mistake is /dev/zero
MAX_PROBLEMS_SHOWN = 50  # per file; a generated file can have thousands
ECHO_CHARS = 80  # of a value repeated back in a message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int | None
    path: tuple
    reason: str

    def __str__(self) -> str:
        # Everything from the file is escaped: a key named "\x1b[2Kok" must not rewrite the line.
        where = printable(f"{self.file}:{self.line}" if self.line else self.file)
        key = clip(printable(format_path(self.path)), 2 * ECHO_CHARS)
        reason = clip(printable(self.reason), 1000)  # the longest written reason is ~300
        return f"{where}: {key}: {reason}" if key else f"{where}: {reason}"


class ScenarioError(Exception):
    """A scenario file that cannot be used; carries every problem found (the message shows the
    first MAX_PROBLEMS_SHOWN)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
        super().__init__("\n".join(shown))


def printable(text: str) -> str:
    """`text` with each non-printable character (control, bidi, newline) written as an escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` cut to `limit` characters, "…" marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_path(path: tuple) -> str:
    """("runs", 0, "lr") -> "runs[0].lr"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError listing every problem."""
    return parse_scenario(read_text(Path(path)), str(path), Path(path).parent)


TEXT_SOURCE = "<text>"  # how TOML text given as a string is named in messages


def scenario_from(source, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """What `sandbox.replay` takes: a loaded Scenario, a file (str or Path), a bundled
    scenario's name, TOML text (a string holding a newline or "=" that names no file) or its
    parsed data (a dict, not changed), with `overrides` as `scenario_from_data` takes them."""
    if isinstance(source, Scenario):
        if overrides:
            raise TypeError("overrides need a file, a name, TOML text or a dict, not a Scenario")
        return source
    if isinstance(source, Mapping):
        return scenario_from_data(copy.deepcopy(dict(source)), overrides=overrides)
    path = find_scenario(str(source))
    if isinstance(source, str) and not path.exists() and ("\n" in source or "=" in source):
        return parse_scenario(source, TEXT_SOURCE, overrides=overrides)
    return parse_scenario(read_text(path), str(path), path.parent, overrides)


def load_against(path: str | Path, original: str | Path) -> Scenario:
    """A student's copy of a challenge, validated and compared with the teacher's `original`:
    a ScenarioError names each key that differs but the challenge does not unlock (the
    [challenge] table itself included, so the goal graded is the teacher's)."""
    text = read_text(Path(path))
    scenario = parse_scenario(text, str(path), Path(path).parent)
    lines = key_lines(text)
    found = locked_changes(load_scenario(original), scenario)
    if found:
        problems = [Problem(str(path), line_of(lines, key), key, why) for key, why in found]
        raise ScenarioError(sorted(problems, key=_by_line))
    return scenario


def read_text(path: Path) -> str:
    """A data file's text (a leading byte-order mark dropped); a ScenarioError naming the file
    if it is unreadable, not a regular file, over MAX_FILE_BYTES or not UTF-8."""

    def unreadable(reason: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(str(path), line, (), f"cannot read file: {reason}")])

    # O_NONBLOCK: opening a FIFO waits for a writer, which would hang `check` or the window.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
        try:
            mode = os.fstat(fd).st_mode  # of what was opened, not of what the path names now
            if not stat.S_ISREG(mode):
                raise unreadable(f"not a regular file ({_file_kind(mode)})")
            with open(fd, "rb", closefd=False) as file:
                data = file.read(MAX_FILE_BYTES + 1)  # a file that grows is cut here
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise unreadable(getattr(exc, "strerror", None) or str(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise unreadable(f"larger than {MAX_FILE_BYTES >> 20} MiB, the size limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise unreadable(str(exc), data.count(b"\n", 0, exc.start) + 1) from None
    return text.removeprefix("\ufeff")  # Windows editors may start a UTF-8 file with one


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device")]
    kinds += [(stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def parse_toml(text: str, source: str) -> dict:
    """tomllib.loads, but input beyond the parser's limits (deep nesting, long dotted keys) and
    syntax errors are a ScenarioError with the file and line."""
    shape = shape_problem(text)
    if shape:
        raise ScenarioError([Problem(source, shape[0], (), shape[1])])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_syntax_problem(source, exc)]) from None
    except RecursionError:  # shape_problem should catch it first; never a traceback
        raise ScenarioError([Problem(source, None, (), "nested too deep to parse")]) from None


def parse_scenario(
    text: str,
    source: str = "<scenario>",
    folder: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Validate scenario TOML text; `source` names it in messages. A relative data file path is
    taken from `folder` (the scenario file's; the current folder if None). `overrides`: see
    `scenario_from_data`."""
    data = parse_toml(text, source)
    return scenario_from_data(data, source, folder, key_lines(text), overrides)


def scenario_from_data(
    data: dict,
    source: str = "<dict>",
    folder: Path | None = None,
    lines: dict[tuple, int] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Validate parsed scenario data (a dict as tomllib gives it; changed in place). `lines`
    maps key paths to the lines of the text it came from. `overrides` maps dotted key paths
    ("runs.0.lr", "runs.*.lr", "steps": a sweep's syntax) to values set before validating;
    a problem with a value set there is reported against OVERRIDES, not the text."""
    datafile.absolutise(data, folder or Path.cwd())
    lines = lines or {}
    overridden = _apply_overrides(data, overrides or {})

    def located(found: list[tuple[tuple, str]]) -> list[Problem]:
        return [_problem(source, lines, overridden, path, reason) for path, reason in found]

    raw = located(rules.raw_problems(data))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [schema_problem(source, lines, error) for error in exc.errors()]
        problems = located([(p.path, p.reason) for p in problems])  # overrides named as such
        raise ScenarioError(sorted(_deduplicate(problems) + raw, key=_by_line)) from None
    problems = raw + located(rules.cross_field_problems(scenario))
    if problems:
        raise ScenarioError(sorted(problems, key=_by_line))
    return scenario


OVERRIDES = "overrides"  # where a problem with an overridden value is said to be


def _apply_overrides(data: dict, overrides: Mapping[str, Any]) -> list[tuple]:
    """Set each override in `data`; the concrete paths set. A bad path is a ScenarioError."""
    problems, overridden = [], []
    for key, value in overrides.items():
        try:
            overridden += assign(data, parse_path(str(key)), value)
        except PathError as exc:
            problems.append(Problem(OVERRIDES, None, (str(key),), str(exc)))
    if problems:
        raise ScenarioError(problems)
    return overridden


def _problem(source: str, lines: dict, overridden: list[tuple], path: tuple, reason: str):
    if any(covers(set_path, path) for set_path in overridden):
        return Problem(OVERRIDES, None, path, reason)
    return Problem(source, line_of(lines, path), path, reason)


def _syntax_problem(source: str, exc: tomllib.TOMLDecodeError) -> Problem:
    # tomllib's message ends with "(at line L, column C)".
    message = str(exc)
    line = None
    if "(at line " in message:
        message, _, tail = message.partition(" (at line ")
        line = int(tail.split(",")[0].rstrip(")"))
    return Problem(source, line, (), f"TOML syntax error: {message}")


_TAGS = {"analytic", "network"}  # discriminator tags pydantic inserts into error locations


def schema_problem(source: str, lines: dict[tuple, int], error: dict) -> Problem:
    """One pydantic validation error as a Problem: the key's path, its line and a plain message
    (sweep files are validated the same way)."""
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
            reason += f" (got {clip(repr(error['input']))})"
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
