"""The base scenario of a sweep: where it may come from, its data, and where its lines are.

Scenario files are data: a base is a bundled scenario (by name), a `.toml` file inside the sweep
file's own folder (or the bundled scenarios' folder), or an inline `[scenario]` table. Problems
found in a resolved variant that no sweep key caused are reported at the base's own file and
line, with run and timeline indices mapped back to the base as written.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sandbox.resources import data_dir
from sandbox.scenario import datafile, rules
from sandbox.scenario.lines import key_lines, line_of
from sandbox.scenario.load import (
    Problem,
    ScenarioError,
    parse_scenario,
    parse_toml,
    read_text,
    schema_problem,
)
from sandbox.scenario.schema import Scenario

_BUNDLED_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class Base:
    """The base scenario's data and how to find a line in the file it came from."""

    def __init__(self, data: dict, where: str, source: str, lines: dict, prefix: tuple = ()):
        self.data, self.where, self.source, self.lines, self.prefix = (
            data,
            where,
            source,
            lines,
            prefix,
        )
        self.run_index: list[int] = []  # original index of each kept run
        self.event_index: list[int] = []

    @classmethod
    def resolve(cls, builder) -> Base | None:
        """The base a sweep file names; problems go to `builder.problem(s)` (a spec._Builder)."""
        ref = builder.spec.scenario
        if isinstance(ref, dict):
            base = cls(copy.deepcopy(ref), "inline", builder.source, builder.lines, ("scenario",))
            datafile.absolutise(base.data, builder.folder)  # a data file next to the sweep file
            _, problems = check_scenario_data(base.data)
            builder.problems += [base.locate(path, reason) for path, reason in problems]
            return base
        path = _base_path(ref, builder)
        if path is None:
            return None
        text = read_text(path)  # a regular file within the size limit (a FIFO would hang)
        parse_scenario(text, str(path), path.parent)  # the base must be valid by itself
        data = parse_toml(text, str(path))
        datafile.absolutise(data, path.parent)  # a data file next to the base scenario
        return cls(data, str(path), str(path), key_lines(text))

    def keep_runs(self, builder) -> None:
        """Drop the runs that sweep.runs does not name (and timeline changes of those runs)."""
        runs = self.data.get("runs", [])
        keep = builder.spec.sweep.runs
        names = [run.get("name") for run in runs]
        self.run_index = list(range(len(runs)))
        self.event_index = list(range(len(self.data.get("timeline", []))))
        if keep is None:
            return
        for i, name in enumerate(keep):
            if name not in names:
                known = ", ".join(repr(n) for n in names)
                builder.problem(("sweep", "runs", i), f"no run named {name!r} (runs: {known})")
        if builder.problems:
            raise ScenarioError(sorted(builder.problems, key=lambda p: p.line or 0))
        self.run_index = [i for i, name in enumerate(names) if name in keep]
        self.data["runs"] = [runs[i] for i in self.run_index]
        events = self.data.get("timeline", [])
        self.event_index = [i for i, e in enumerate(events) if _keeps_event(e, keep)]
        if "timeline" in self.data:
            self.data["timeline"] = [events[i] for i in self.event_index]

    def locate(self, path: tuple, reason: str) -> Problem:
        original = _original_index(path, self.run_index, self.event_index)
        full = (*self.prefix, *original)
        return Problem(self.source, line_of(self.lines, full), full, reason)


def _keeps_event(event: Any, keep: tuple[str, ...]) -> bool:
    """Captions stay; a hyper-parameter change of a dropped run goes with it."""
    change = event.get("set") if isinstance(event, dict) else None
    return not isinstance(change, dict) or change.get("run") in keep


def _original_index(path: tuple, runs: list[int], events: list[int]) -> tuple:
    if len(path) > 1 and isinstance(path[1], int):
        table = {"runs": runs, "timeline": events}.get(path[0])
        if table and path[1] < len(table):
            return (path[0], table[path[1]], *path[2:])
    return path


def _base_path(ref: str, builder) -> Path | None:
    where = ("scenario",)
    scenarios = data_dir("scenarios")
    if _BUNDLED_NAME.match(ref):
        path = scenarios / f"{ref}.toml"
        if not path.is_file():
            builder.problem(where, f"no bundled scenario named {ref!r} (see `sandbox list`)")
            return None
        return path
    if not ref.endswith(".toml") or Path(ref).is_absolute() or ref.startswith("~"):
        builder.problem(
            where,
            "must be a bundled scenario's name or a relative path to a .toml file next to "
            "this sweep file",
        )
        return None
    path = (builder.folder / ref).resolve()
    roots = (builder.folder.resolve(), scenarios.resolve())
    if not any(path.is_relative_to(root) for root in roots):
        builder.problem(
            where, f"{ref!r} is outside this sweep file's folder and the bundled scenarios"
        )
        return None
    if not path.is_file():
        builder.problem(where, f"no scenario file {ref!r} next to this sweep file")
        return None
    return path


def check_scenario_data(
    data: dict, shared: Prevalidated | None = None
) -> tuple[Scenario | None, list[tuple[tuple, str]]]:
    """Validate scenario data as `parse_scenario` does; return it and (path, reason) problems.

    With `shared`, the tables `data` shares with already validated data are not validated again.
    """
    raw = rules.raw_problems(data)
    try:
        scenario = Scenario.model_validate(shared.substitute(data) if shared else data)
    except ValidationError as exc:
        problems = [schema_problem("", {}, e) for e in exc.errors()]
        unique = dict.fromkeys([(p.path, p.reason) for p in problems] + raw)
        return None, list(unique)
    problems = raw + rules.cross_field_problems(scenario)
    return (None if problems else scenario), problems


class Prevalidated:
    """Scenario data validated once, so that its variants skip re-validating what they share.

    Validating a variant costs as much as validating the whole scenario, so a sweep of 100,000
    variants of a base with 16 runs and 1,000 timeline events spent most of `--check` (tens of
    minutes) validating the same timeline again and again. A variant is resolved copy on write
    (`paths.assign`), so every table it did not change is the same object as here; such a table
    is handed to pydantic as its validated model, which pydantic accepts as it is. A table's
    schema checks depend on nothing outside it; the checks across fields (`rules`) still see the
    whole variant.
    """

    def __init__(self, data: dict):
        self.data = data
        self.models: dict[str, Any] = {}
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError:
            return  # nothing is shared: each variant is validated in full
        self.models = {key: getattr(scenario, key) for key in data if key in Scenario.model_fields}

    def substitute(self, data: dict) -> dict:
        """`data` with each table (and each array element) that is the same object as in the
        validated data replaced by its validated model."""
        out = dict(data)
        for key, value in data.items():
            mine, model = self.data.get(key), self.models.get(key)
            if value is mine and isinstance(model, BaseModel | tuple):
                out[key] = model  # a table, or an array of tables (runs, timeline)
            elif _same_length(value, mine, model):
                out[key] = [
                    m if v is d and isinstance(m, BaseModel) else v
                    for v, d, m in zip(value, mine, model, strict=True)
                ]
        return out


def _same_length(value: Any, mine: Any, model: Any) -> bool:
    return (
        isinstance(value, list)
        and isinstance(mine, list)
        and isinstance(model, tuple)
        and len(value) == len(mine) == len(model)
    )
