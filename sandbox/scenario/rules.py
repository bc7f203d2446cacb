"""Checks across fields that the schema alone cannot express.

Each check returns (key path, reason) pairs; the loader adds file and line. A key that has no
effect for a run's optimiser or landscape is an error rather than silently ignored, because a
user who writes it believes it does something.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator

from sandbox import instruments
from sandbox.catalogue import optimizers, settings
from sandbox.catalogue.formula import FORMULA, FormulaError, parse
from sandbox.catalogue.networks import KEYS_FOR_DATASET, check_compatible, n_rows_of
from sandbox.catalogue.surfaces import resolve_params
from sandbox.scenario import challenge
from sandbox.scenario.budget import budget_problems, count_parameters
from sandbox.scenario.model_rules import file_data_problems, model_kind_problems, unbuildable
from sandbox.scenario.schema import (
    LIMITS,
    AnalyticLandscape,
    NetworkLandscape,
    Run,
    Scenario,
)
from sandbox.scenario.slice_rules import connect_problems, network_start_problems
from sandbox.trace.names import file_safe

NETWORK_ONLY = ("batch_size", "init_seed")
ANALYTIC_ONLY: tuple[str, ...] = ()  # a network run's `start` is a point of its slice plane

Found = Iterator[tuple[tuple, str]]


def raw_problems(data: dict) -> list[tuple[tuple, str]]:
    """Problems visible in the raw TOML data even when the schema fails (texts, run names)."""
    runs = data.get("runs")
    runs = runs if isinstance(runs, list) else []
    names = [r.get("name") if isinstance(r, dict) else None for r in runs]
    landscape = data.get("landscape")
    network = isinstance(landscape, dict) and landscape.get("kind") == "network"
    return [
        *_texts(data, names),
        *_run_names(names, network),
        *_timeline_runs(data.get("timeline"), names),
    ]


# Texts the app draws, glyph by glyph, with its bundled font; a character it cannot draw fails the
# frame ("Text has zero width") or shows as a box. Their length is capped because laying out a
# 10 MB title took 6 GB. Checked here, not by the schema, so that the message never repeats them.
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")  # as sandbox.render.text


def _texts(data: dict, names: list) -> Found:
    yield from _text(("title",), data.get("title"), "title", drawn=True)
    yield from _text(("description",), data.get("description"), "description", drawn=False)
    for i, name in enumerate(names):
        yield from _text(("runs", i, "name"), name, "name", drawn=True, newline=False)
    timeline = data.get("timeline")
    for i, event in enumerate(timeline if isinstance(timeline, list) else []):
        caption = event.get("caption") if isinstance(event, dict) else None
        yield from _text(("timeline", i, "caption"), caption, "caption", drawn=True)
    goal = data.get("challenge")
    place = goal.get("place") if isinstance(goal, dict) else None
    yield from _text(("challenge", "place"), place, "name", drawn=True, newline=False)


def _text(path: tuple, text, kind: str, drawn: bool, newline: bool = True) -> Found:
    if not isinstance(text, str):
        return  # the schema reports a missing or non-string value
    reason = _text_problem(text, kind, drawn, newline)
    if reason:
        yield path, reason


@functools.lru_cache(maxsize=4096)
def _text_problem(text: str, kind: str, drawn: bool, newline: bool) -> str | None:
    """What is wrong with a text, or None. Cached: a sweep checks the same captions in every
    one of its variants (1,000 variants of a base with 1,000 captions spent most of
    `sweep --check` here)."""
    if len(text) > LIMITS[kind]:
        return f"is {len(text):,} characters long; the limit is {LIMITS[kind]:,}"
    allowed = {"\n"} if newline else set()
    if not drawn:
        allowed.add("\t")
    for char in dict.fromkeys(text):  # each distinct character once, in order
        reason = None if char in allowed else _undrawable(char, drawn)
        if reason:
            return f"contains {_describe(char)}: {reason}"
    return None


def _undrawable(char: str, drawn: bool) -> str | None:
    """Why the app cannot show `char`, or None."""
    if " " <= char <= "~":
        return None  # printable ASCII: in every font, and no need to read one
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if not drawn:
        return None
    if category == "Cf":
        return "an invisible formatting character (zero width, or a direction mark)"
    if category in ("Mn", "Me"):
        return "a combining mark, drawn on its own (write the accented letter as one character)"
    if category[0] not in "LNPS" and category != "Zs" or ord(char) not in _font_characters():
        return "the app's font (DejaVu Sans) cannot draw it"
    return None


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


@functools.cache
def _font_characters() -> frozenset[int]:
    """Code points that every bundled font can draw (fontTools ships with matplotlib)."""
    from fontTools.ttLib import TTFont

    from sandbox.resources import data_dir

    maps = []
    for name in FONT_FILES:
        with TTFont(data_dir("assets") / "fonts" / name, lazy=True) as font:  # closes the file
            maps.append(set(font.getBestCmap()))
    return frozenset(set.intersection(*maps))


def _run_names(names: list, network: bool) -> Found:
    """Every output file of every run is distinct: runs/<name>.csv, and for networks also
    runs/<name>_network.csv (sandbox.trace.io.RunWriter), so "A network" and "A" collide."""
    suffixes = ("", "_network") if network else ("",)
    owners: dict[str, tuple[str, str]] = {}  # case-folded file name -> (run, file name)
    for i, name in enumerate(names):
        if not isinstance(name, str):
            continue
        safe = file_safe(name)
        if len(safe.encode()) > LIMITS["name"]:
            yield (
                ("runs", i, "name"),
                (
                    f"its output file name {safe}.csv is {len(safe.encode())} bytes of UTF-8 "
                    f"before .csv; the limit is {LIMITS['name']}: shorten the name"
                ),
            )
        files = [f"{safe}{suffix}.csv" for suffix in suffixes]
        clash = next((f for f in files if f.casefold() in owners), None)
        if clash is not None:
            other, theirs = owners[clash.casefold()]
            what = "duplicate run name" if file_safe(other) == safe else "run name"
            where = f"runs/{clash} is also written by run {other!r}"
            if theirs != clash:
                where = f"runs/{clash} is run {other!r}'s runs/{theirs} on a case-insensitive disk"
            yield ("runs", i, "name"), f"{what} {name!r}: its output file {where}"
        for f in files:
            owners.setdefault(f.casefold(), (name, f))


def _timeline_runs(timeline, names: list) -> Found:
    events = timeline if isinstance(timeline, list) else []
    for i, event in enumerate(events):
        change = event.get("set") if isinstance(event, dict) else None
        run = change.get("run") if isinstance(change, dict) else None
        if isinstance(run, str) and run not in names:
            known = ", ".join(repr(n) for n in names if isinstance(n, str))
            yield ("timeline", i, "set", "run"), f"no run named {run!r} (runs: {known})"


def cross_field_problems(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Every cross-field problem of a schema-valid scenario (beyond `raw_problems`)."""
    return [
        *_landscape(scenario),
        *(p for i, run in enumerate(scenario.runs) for p in _run(scenario, i, run)),
        *_timeline(scenario),
        *_budgets(scenario),
        *instruments.problems(scenario),
        *challenge.problems(scenario),
    ]


def _landscape(scenario: Scenario) -> Found:
    land = scenario.landscape
    if isinstance(land, AnalyticLandscape):
        try:
            resolve_params(land.surface, land.params)
        except ValueError as exc:
            yield ("landscape", "params"), str(exc)
        yield from _formula(land)
        return
    yield from _network(land)
    yield from connect_problems(scenario, land)
    yield from _data_keys(land)


def _formula(land: AnalyticLandscape) -> Found:
    """`formula` goes with surface = "formula", and only with it; it must parse."""
    if land.surface == FORMULA and land.formula is None:
        yield (
            ("landscape", "surface"),
            'surface = "formula" needs formula = "..." (an expression in x and y)',
        )
    elif land.formula is not None and land.surface != FORMULA:
        yield ("landscape", "formula"), 'applies to surface = "formula" only'
    elif land.formula is not None:
        try:
            parse(land.formula)
        except FormulaError as exc:
            yield ("landscape", "formula"), str(exc)


def _network(land: NetworkLandscape) -> Found:
    kind_problems = list(model_kind_problems(land))
    if kind_problems:  # the shape checks below read the keys of the model's kind
        yield from kind_problems
        return
    yield from check_compatible(land.model, land.data, land.loss)
    n_params = count_parameters(land.model, land.data)
    if n_params > LIMITS["parameters"]:
        yield (
            ("landscape", "model", "widths"),
            (f"the network has {n_params:,} parameters; the limit is {LIMITS['parameters']:,}"),
        )


def _budgets(scenario: Scenario) -> Found:
    """Memory and work estimated before anything runs (sandbox.scenario.budget)."""
    land = scenario.landscape
    if isinstance(land, NetworkLandscape) and (
        unbuildable(land) or count_parameters(land.model, land.data) > LIMITS["parameters"]
    ):
        return  # already refused, with the limit that matters
    yield from budget_problems(scenario)


# Keys that shape a generated dataset; a file's data is what it is.
GENERATED_ONLY = ("n", "noise", "classes", "seed", "dim", "rank")


def _data_keys(land: NetworkLandscape) -> Found:
    """Dataset keys that apply to one dataset only (or to generated data, or to a file)."""
    data, here = land.data, ("landscape", "data")
    if data.file is not None:
        for key in GENERATED_ONLY:
            if key in data.model_fields_set:
                yield (*here, key), "applies to generated datasets (name = ...) only, not to a file"
        return
    if "task" in data.model_fields_set:
        yield (*here, "task"), "applies to file = ... only (a generated dataset has its own task)"
    for key, names in KEYS_FOR_DATASET.items():
        if key in data.model_fields_set and data.name not in names:
            yield (*here, key), f"applies to {' and '.join(repr(n) for n in names)} only"
    if data.name == "low_rank" and data.rank > data.dim:
        yield (*here, "rank"), f"rank {data.rank} is larger than dim {data.dim}"
    yield from file_data_problems(data)


def _run(scenario: Scenario, i: int, run: Run) -> Found:
    here = ("runs", i)
    is_network = isinstance(scenario.landscape, NetworkLandscape)
    for key, readers in optimizers.KEYS_FOR_OPTIMIZER.items():
        if key in run.model_fields_set and run.optimizer not in readers:
            yield (
                (*here, key),
                (
                    f"has no effect with optimizer {run.optimizer!r} "
                    f"(it applies to {', '.join(sorted(readers))})"
                ),
            )
    for key in NETWORK_ONLY if not is_network else ANALYTIC_ONLY:
        if key in run.model_fields_set:
            kind = "network" if not is_network else "analytic"
            yield (*here, key), f"applies to {kind} landscapes only"
    for key in optimizers.OPTIMIZERS[run.optimizer].positive:
        if getattr(run, key) == 0:
            yield (*here, key), f"{run.optimizer} needs {key} > 0"
    if is_network:
        yield from _network_run(scenario, here, run)


def _network_run(scenario: Scenario, here: tuple, run: Run) -> Found:
    land = scenario.landscape
    assert isinstance(land, NetworkLandscape)
    n = n_rows_of(land.data)
    if run.batch_size is not None and run.batch_size > n:
        yield (
            (*here, "batch_size"),
            (f"batch_size {run.batch_size} is larger than the dataset (n = {n})"),
        )
    if isinstance(run.precondition, tuple):
        yield (*here, "precondition"), "a fixed 2x2 matrix applies to analytic landscapes only"
    if run.start is not None:
        yield from network_start_problems(land, here, run)
    newton = run.optimizer == "newton" or run.precondition == "newton"
    if unbuildable(land):
        return
    n_params = count_parameters(land.model, land.data)
    if newton and n_params > LIMITS["newton_parameters"]:
        yield (
            (*here, "optimizer" if run.optimizer == "newton" else "precondition"),
            (
                f"newton needs the dense Hessian; the network has {n_params:,} parameters, "
                f"the limit is {LIMITS['newton_parameters']:,}"
            ),
        )


def _timeline(scenario: Scenario) -> Found:
    names = {run.name: run for run in scenario.runs}
    for i, event in enumerate(scenario.timeline):
        if event.at > scenario.steps:
            yield ("timeline", i, "at"), f"step {event.at} is after the last step {scenario.steps}"
        if event.set is None:
            continue
        if event.set.run not in names:
            continue  # reported by raw_problems
        run = names[event.set.run]
        if event.set.momentum is not None and not optimizers.reads(run.optimizer, "momentum"):
            yield (
                ("timeline", i, "set", "momentum"),
                (f"run {run.name!r} uses {run.optimizer!r}, which has no momentum"),
            )
        is_network = isinstance(scenario.landscape, NetworkLandscape)
        for key in settings.NETWORK_ONLY if not is_network else ():
            if getattr(event.set, key) is not None:
                yield ("timeline", i, "set", key), "applies to network landscapes only"
