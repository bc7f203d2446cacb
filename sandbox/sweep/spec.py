"""Sweep files -> a validated `Sweep`: its variants, seeds and one task per variant × seed.

Loading runs the same two layers of checks as a scenario (strict schema, then checks across
fields) on the sweep file, then resolves the base scenario, applies `[sweep.set]` and each
variant's parameter values, and validates every resolved scenario as a scenario. Each problem
names file, line and key; a problem of a resolved scenario also names the variant. Scenario files
are data: a base scenario is a bundled one or a file inside the sweep file's own folder.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sandbox.resources import data_dir
from sandbox.scenario import datafile
from sandbox.scenario.lines import key_lines, line_of
from sandbox.scenario.load import (
    Problem,
    ScenarioError,
    format_path,
    parse_toml,
    read_text,
    schema_problem,
)
from sandbox.scenario.schema import NetworkLandscape, Scenario
from sandbox.sweep.base import Base, Prevalidated, check_scenario_data
from sandbox.sweep.metrics import Metric, parse_metric
from sandbox.sweep.params import INT64, Param, ParamError, check_value, parse_param
from sandbox.sweep.paths import PathError, assign, covers, parse_path
from sandbox.sweep.schema import LIMITS, FitSpec, PlotSpec, SweepFile
from sandbox.sweep.task import code_version

SWEEPS_FOLDER = "sweeps"  # bundled sweeps: scenarios/sweeps/*.toml


@dataclass(frozen=True)
class Variant:
    """One point of the sweep: a value for each swept parameter."""

    index: int
    values: dict[str, Any]  # parameter name (as written) -> value

    def label(self) -> str:
        return ", ".join(f"{k} = {v!r}" for k, v in self.values.items()) or "the base scenario"


@dataclass(frozen=True)
class Task:
    """One replay: a variant with one seed, as resolved scenario data."""

    variant: int
    seed: int
    key: str  # content hash of what decides the numbers (see `task_key`)
    scenario: dict = field(repr=False)
    runs: tuple[str, ...]
    # A data file's hash when checked: the task re-reads the file and refuses a changed one.
    data_sha256: str | None = None


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: everything needed to run it and to present its results."""

    source: str
    title: str
    description: str
    base: str  # where the base scenario came from
    params: tuple[Param, ...]
    seeds: tuple[int, ...]
    metrics: tuple[Metric, ...]
    variants: tuple[Variant, ...]
    tasks: tuple[Task, ...]
    fits: tuple[FitSpec, ...]
    plot: PlotSpec
    sweep_id: str  # identifies "the same sweep" for resuming into an output directory


def bundled_sweeps() -> list[Path]:
    """Every bundled sweep file, sorted by name."""
    return sorted((data_dir("scenarios") / SWEEPS_FOLDER).glob("*.toml"))


def find_sweep(name_or_path: str) -> Path:
    """A path as given, or else the bundled sweep of that name (with or without .toml)."""
    path = Path(name_or_path)
    if path.exists() or "/" in name_or_path:
        return path
    stem = path.name.removesuffix(".toml")
    bundled = data_dir("scenarios") / SWEEPS_FOLDER / f"{stem}.toml"
    return bundled if bundled.exists() else path


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; raise ScenarioError listing every problem."""
    path = Path(path)
    return parse_sweep(read_text(path), str(path), path.parent)


def parse_sweep(text: str, source: str = "<sweep>", folder: str | Path = ".") -> Sweep:
    """Validate sweep TOML text; `source` names it in messages, `folder` anchors relative paths."""
    data = parse_toml(text, source)  # nesting and dotted keys bounded before tomllib
    lines = key_lines(text)
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        problems = [schema_problem(source, lines, e) for e in exc.errors()]
        raise ScenarioError(_sorted(problems)) from None
    return _Builder(spec, data, source, Path(folder), lines).build()


class _Builder:
    """The checks after the schema, in order; each step adds located problems."""

    def __init__(self, spec: SweepFile, data: dict, source: str, folder: Path, lines: dict):
        self.spec, self.data, self.source = spec, data, source
        self.folder, self.lines = folder, lines
        self.problems: list[Problem] = []

    def problem(self, path: tuple, reason: str) -> None:
        self.problems.append(self._located(path, reason))

    def build(self) -> Sweep:
        base = Base.resolve(self)
        table = self.spec.sweep
        params = self._params()
        metrics = self._metrics()
        fixed = self._paths(table.set, ("sweep", "set"))
        if base is None or self.problems:
            raise ScenarioError(_sorted(self.problems))
        base.keep_runs(self)
        variants = self._variants(params)
        self._check_fits_and_plots(params, metrics)
        seeds = self._seeds(base.data)
        if self.problems:
            raise ScenarioError(_sorted(self.problems))
        tasks = self._tasks(base, fixed, params, variants, seeds, metrics)
        return Sweep(
            self.source,
            self.spec.title,
            self.spec.description,
            base.where,
            params,
            seeds,
            metrics,
            variants,
            tasks,
            table.fit,
            table.plot,
            self._sweep_id(base.data),
        )

    # -- the [sweep] table ------------------------------------------------------------------

    def _params(self) -> tuple[Param, ...]:
        table = self.spec.sweep
        if len(table.params) > LIMITS["params"]:
            self.problem(("sweep", "params"), f"at most {LIMITS['params']} parameters")
        params = []
        for name, value in table.params.items():
            try:
                params.append(parse_param(name, value))
            except ParamError as exc:
                self.problem(("sweep", "params", name, *exc.where), str(exc))
        random = any(p.kind == "random" for p in params)
        if random and table.samples is None:
            self.problem(("sweep", "params"), "random parameters need sweep.samples = N")
        if table.samples is not None and not random and len(params) == len(table.params):
            self.problem(("sweep", "samples"), "applies to random parameters only")
        return tuple(params)

    def _metrics(self) -> tuple[Metric, ...]:
        metrics = []
        for i, name in enumerate(self.spec.sweep.metrics):
            try:
                metric = parse_metric(name)
            except ValueError as exc:
                self.problem(("sweep", "metrics", i), str(exc))
                continue
            if any(m.name == name for m in metrics):
                self.problem(("sweep", "metrics", i), f"{name!r} is listed twice")
            metrics.append(metric)
        return tuple(metrics)

    def _paths(self, table: dict, where: tuple) -> list[tuple[str, tuple, Any]]:
        out = []
        for name, value in table.items():
            try:
                check_value(value)
                out.append((name, parse_path(name), value))
            except (PathError, ParamError) as exc:
                self.problem((*where, name), str(exc))
        return out

    def _seeds(self, base: dict) -> tuple[int, ...]:
        seeds = self.spec.sweep.seeds
        if isinstance(seeds, tuple):
            return seeds
        first = base.get("seed", 0)
        if first + seeds - 1 > INT64[1]:  # a seed must fit torch's and numpy's int64
            self.problem(
                ("sweep", "seeds"),
                f"{seeds} seeds from the base's seed {first} go past 2**63 - 1, the largest seed; "
                "list the seeds instead (seeds = [...])",
            )
        return tuple(first + i for i in range(seeds))

    def _variants(self, params: tuple[Param, ...]) -> tuple[Variant, ...]:
        table = self.spec.sweep
        grid = [p for p in params if p.kind == "grid"]
        random = [p for p in params if p.kind == "random"]
        samples = table.samples or 1
        count = samples * _product(len(p.values) for p in grid)
        seeds = table.seeds if isinstance(table.seeds, int) else len(table.seeds)
        if count * seeds > LIMITS["tasks"]:
            self.problem(
                ("sweep", "params"),
                f"{count:,} variants × {seeds} seeds is more than {LIMITS['tasks']:,} tasks",
            )
            return ()
        draws = {p.name: p.sample(samples, table.sample_seed) for p in random} if random else {}
        variants = []
        for point in itertools.product(*(p.values for p in grid)):
            for s in range(samples if random else 1):
                values = {p.name: v for p, v in zip(grid, point, strict=True)}
                values.update({p.name: draws[p.name][s] for p in random})
                ordered = {p.name: values[p.name] for p in params}
                variants.append(Variant(len(variants), ordered))
        return tuple(variants)

    def _check_fits_and_plots(self, params, metrics) -> None:
        names = {p.name for p in params}
        numeric = {m.name for m in metrics if m.spec.dtype != "bool"}
        for i, fit in enumerate(self.spec.sweep.fit):
            if fit.x not in names:
                self.problem(("sweep", "fit", i, "x"), f"{fit.x!r} is not a swept parameter")
            if fit.y not in numeric:
                self.problem(("sweep", "fit", i, "y"), f"{fit.y!r} is not a numeric metric")
        plot = self.spec.sweep.plot
        for key in ("log", "linear", "metrics"):
            allowed = {m.name for m in metrics} | (names if key != "metrics" else set())
            for j, name in enumerate(getattr(plot, key) or ()):
                if name not in allowed:
                    self.problem(("sweep", "plot", key, j), f"{name!r} is not swept or collected")

    # -- resolving and validating every variant ----------------------------------------------

    def _tasks(self, base, fixed, params, variants, seeds, metrics) -> tuple[Task, ...]:
        code = code_version()
        names = [m.name for m in metrics]
        found: dict[tuple, list[Variant]] = {}
        tasks = []
        # [sweep.set] is the same for every variant: applied (and validated) once.
        steps = [(path, value, ("sweep", "set", name)) for name, path, value in fixed]
        start, touched_by_set, problem = self._apply(base.data, steps)
        if problem is not None:
            raise ScenarioError([_with_variants(problem, list(variants))])
        shared = Prevalidated(start)
        for variant in variants:
            steps = [(p.path, variant.values[p.name], ("sweep", "params", p.name)) for p in params]
            data, touched, problem = self._apply(start, steps)
            if problem is not None:
                found.setdefault(problem, []).append(variant)
                continue
            touched = touched_by_set + touched
            scenario = self._validate(data, shared, base, touched, variant, found)
            if scenario is None:
                continue
            self._check_metrics(scenario, metrics, variant, found)
            runs = tuple(run.name for run in scenario.runs)
            digest = _data_digest(scenario)
            unseeded = _key_text(data, names, code)  # once per variant: seeds only append
            unseeded += f"|data={digest}" if digest else ""  # a changed file is a new task
            for seed in seeds:
                key = _hash_key(unseeded, seed)
                tasks.append(Task(variant.index, seed, key, {**data, "seed": seed}, runs, digest))
        if found:
            raise ScenarioError(_sorted([_with_variants(p, vs) for p, vs in found.items()]))
        return tuple(tasks)

    def _apply(self, data: dict, steps: list) -> tuple[dict, list, Problem | None]:
        """`data` with each (path, value, sweep file key) set, copy on write (`data` is shared
        by every variant and stays as it is); the concrete paths set, with the key that set them;
        or the problem that stopped it."""
        data = dict(data)
        touched: list[tuple[tuple, tuple]] = []  # (concrete path set, sweep file key)
        for path, value, key in steps:
            try:
                touched += [(concrete, key) for concrete in assign(data, path, value)]
            except PathError as exc:
                return data, touched, self._located(key, str(exc))
        return data, touched, None

    def _validate(self, data, shared, base, touched, variant, found) -> Scenario | None:
        # A data file a sweep key names is relative to the sweep file (the base's already is
        # absolute, so a table the variant shares with the base is never changed here).
        datafile.absolutise(data, self.folder)
        scenario, problems = check_scenario_data(data, shared)
        for path, reason in problems:
            key = next((k for c, k in reversed(touched) if covers(c, path)), None)
            problem = (
                self._located(key, f"{format_path(path)}: {reason}")
                if key is not None
                else base.locate(path, reason)
            )
            found.setdefault(problem, []).append(variant)
        return scenario

    def _check_metrics(self, scenario: Scenario, metrics, variant, found) -> None:
        network = isinstance(scenario.landscape, NetworkLandscape)
        for i, metric in enumerate(metrics):
            reason = None
            if metric.spec.network_only and not network:
                reason = f"{metric.name} applies to network landscapes only"
            elif metric.kind == "test_accuracy" and _is_regression(scenario):
                reason = "test_accuracy needs a classification dataset"
            elif metric.kind in ("test_loss", "test_accuracy") and _data_digest(scenario):
                reason = (
                    f"{metric.kind} draws held-out points from a generated dataset; "
                    "a data file has none"
                )
            if reason:
                found.setdefault(self._located(("sweep", "metrics", i), reason), []).append(variant)

    def _located(self, key: tuple, reason: str) -> Problem:
        # A dotted key path as a key is shown quoted, as it is written: sweep.params."runs.0.lr".
        shown = tuple(f'"{p}"' if isinstance(p, str) and "." in p else p for p in key)
        return Problem(self.source, line_of(self.lines, key), shown, reason)

    def _sweep_id(self, base: dict) -> str:
        text = json.dumps({"sweep": self.data, "base": base}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_PRESENTATION = ("title", "description", "theme", "timeline")  # timeline: its changes are kept


def task_key(data: dict, metric_names: list[str], code: str) -> str:
    """Content hash of a resolved scenario's numbers-deciding data, the metrics and the code.

    Titles, descriptions, themes, colours and captions cannot change a number, so they are left
    out: a re-worded sweep still finds its cached tasks.
    """
    return _hash_key(_key_text(data, metric_names, code), data.get("seed", 0))


def _hash_key(text: str, seed: int) -> str:
    return hashlib.sha256(f"{text}|seed={seed}".encode()).hexdigest()[:32]


def _key_text(data: dict, metric_names: list[str], code: str) -> str:
    """What `task_key` hashes, but the seed: encoded once per variant, not once per task (a
    base with a long timeline made that a third of `--check` with many seeds)."""
    content = {k: v for k, v in data.items() if k not in (*_PRESENTATION, "seed")}
    content["runs"] = [{k: v for k, v in r.items() if k != "color"} for r in data["runs"]]
    content["timeline"] = [
        {"at": e.get("at"), "set": e["set"]} for e in data.get("timeline", []) if "set" in e
    ]
    return json.dumps([content, metric_names, code], sort_keys=True, separators=(",", ":"))


def _is_regression(scenario: Scenario) -> bool:
    from sandbox.landscape.data import n_classes_of

    land = scenario.landscape
    return isinstance(land, NetworkLandscape) and n_classes_of(land.data) == 0


def _with_variants(problem: Problem, variants: list[Variant]) -> Problem:
    first = variants[0]
    if len(variants) == 1:
        note = f"variant {first.index}: {first.label()}"
    else:
        note = f"{len(variants)} variants, e.g. variant {first.index}: {first.label()}"
    return Problem(problem.file, problem.line, problem.path, f"{problem.reason} ({note})")


def _product(sizes) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


def _data_digest(scenario: Scenario) -> str | None:
    land = scenario.landscape
    table = land.data.table if isinstance(land, NetworkLandscape) else None
    return table.sha256 if table is not None else None
