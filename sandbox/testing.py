"""Assertions for tests built on the sandbox: two replays agree within tolerances, or the
AssertionError says where they part.

    import sandbox
    from sandbox.testing import assert_replays_close

    def test_my_scenario_still_matches_its_golden_replay():
        assert_replays_close("tests/golden/my_scenario", sandbox.replay("my_scenario.toml"))

Either side is a `ReplayResult` or a folder that `sandbox replay FILE --out DIR` wrote. The
default tolerance is `sandbox replay --compare`'s (`sandbox.compare`): the same machine gives
byte-identical replays, another machine may move float32 networks by ~1e-7 per step
(docs/determinism.md).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from sandbox.compare import ATOL, RTOL, read_baseline
from sandbox.errors import BadInput
from sandbox.replayer import ReplayResult
from sandbox.trace.outdir import SUMMARY

__all__ = ["ATOL", "RTOL", "assert_replays_close"]

MAX_SHOWN = 20  # lines of differences in one message; the earliest come first


@dataclass(frozen=True)
class _Replay:
    """One side of a comparison: its summary and each run's per-step quantities."""

    label: str
    summary: dict
    runs: dict[str, dict[str, np.ndarray]]  # run -> quantity -> values, one row per step


def assert_replays_close(
    a: ReplayResult | str | Path,
    b: ReplayResult | str | Path,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> None:
    """Raise AssertionError unless replays `a` and `b` have the same runs and step counts, and
    every per-step quantity (loss, x, y, grad_norm, lr, sharpness, and a network's offplane,
    weight_norm and per-layer gradient norms) and every summary value agree: |a - b| <=
    max(rtol * max(|a|, |b|), atol), NaN equal to NaN. The message names each run and quantity
    that parts, the first step beyond the tolerance, both values there and the largest
    deviation; the earliest parting comes first.

    Quantities are compared where both sides have them: a folder holds the columns of
    runs/<name>.csv, a ReplayResult (made with keep_arrays, the default) its arrays.
    """
    left, right = _as_replay(a, "a"), _as_replay(b, "b")
    found = _run_differences(left, right, rtol, atol)
    found += _summary_differences(left.summary, right.summary, rtol, atol)
    if not found:
        return
    lines = [line for _, line in sorted(found, key=lambda item: item[0])]
    if len(lines) > MAX_SHOWN:
        lines = [*lines[:MAX_SHOWN], f"... and {len(lines) - MAX_SHOWN} more"]
    head = f"replays differ (rtol {rtol:g}, atol {atol:g}); a: {left.label}, b: {right.label}"
    raise AssertionError("\n  ".join([head, *lines]))


def _as_replay(value: ReplayResult | str | Path, side: str) -> _Replay:
    if isinstance(value, ReplayResult):
        if value.summary["runs"] and not value.runs:
            raise ValueError(
                f"{side}: a replay made with keep_arrays=False holds no per-step arrays; "
                "compare the folder it wrote instead"
            )
        runs = {name: _result_columns(arrays) for name, arrays in value.runs.items()}
        return _Replay(f"the replay of {value.scenario.title!r}", value.summary, runs)
    folder = Path(value)
    try:
        files = read_baseline(folder)  # checks the folder as `--compare` does
    except BadInput as exc:
        raise ValueError(f"{side}: {str(exc).removeprefix('--compare ')}") from None
    summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    return _Replay(str(folder), summary, {name: _csv_columns(f) for name, f in files.items()})


def _result_columns(arrays) -> dict[str, np.ndarray]:
    """A RunArrays' fields that hold values (a network's extras are None on a plane)."""
    found = {f.name: getattr(arrays, f.name) for f in fields(arrays)}
    return {name: np.asarray(values) for name, values in found.items() if values is not None}


def _csv_columns(path: Path) -> dict[str, np.ndarray]:
    """A run's CSV as float columns; an empty cell (sharpness not estimated) is NaN."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        rows = [[float(cell) if cell else math.nan for cell in row] for row in reader]
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(header))
    return {name: table[:, i] for i, name in enumerate(header)}


def _run_differences(left: _Replay, right: _Replay, rtol: float, atol: float) -> list:
    """(sort key, line) for each run in one replay only, each step count that differs and each
    quantity that parts; the sort key is the step where it happens."""
    found = [(-1, f"run {name!r}: in a, not in b") for name in left.runs if name not in right.runs]
    found += [(-1, f"run {name!r}: in b, not in a") for name in right.runs if name not in left.runs]
    for name in (n for n in left.runs if n in right.runs):
        a, b = left.runs[name], right.runs[name]
        steps = a["step"].astype(np.int64)
        count_a, count_b = len(a["step"]), len(b["step"])
        if count_a != count_b:
            shorter = min(count_a, count_b)
            line = f"run {name!r}: a has {count_a - 1} steps, b has {count_b - 1}"
            found.append((int(steps[shorter - 1]) + 1 if shorter else 0, line))
        common = min(count_a, count_b)
        for quantity in (q for q in a if q in b):
            parting = _parting(a[quantity][:common], b[quantity][:common], rtol, atol)
            if parting is not None:
                found.append(_parting_line(name, quantity, parting, steps[:common]))
    return found


def _parting(a: np.ndarray, b: np.ndarray, rtol: float, atol: float):
    """None when every row agrees, else (first row, its column, largest deviation, its row)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    with np.errstate(invalid="ignore", over="ignore"):
        deviation = np.abs(a - b)
        allowed = np.maximum(rtol * np.maximum(np.abs(a), np.abs(b)), atol)
        same = (a == b) | (np.isnan(a) & np.isnan(b)) | (deviation <= allowed)
    if same.all():
        return None
    # A NaN or ±inf on one side only deviates without bound; agreeing rows deviate by 0.
    deviation = np.where(same, 0.0, np.where(np.isfinite(deviation), deviation, np.inf))
    row = int(np.argmin(same.all(axis=1)))
    column = int(np.argmin(same[row]))
    worst = np.unravel_index(int(np.argmax(deviation)), deviation.shape)
    values = float(a[row, column]), float(b[row, column])
    return row, column, *values, float(deviation[worst]), int(worst[0])


def _parting_line(name: str, quantity: str, parting, steps: np.ndarray) -> tuple[int, str]:
    row, column, value_a, value_b, largest, worst_row = parting
    where = f"{quantity}[{column}]" if quantity == "layer_grad_norms" else quantity
    line = (
        f"run {name!r}: {where} parts at step {steps[row]}: a {value_a!r}, b {value_b!r}; "
        f"largest deviation {largest:.3g} at step {steps[worst_row]}"
    )
    return int(steps[row]), line


def _summary_differences(a: dict, b: dict, rtol: float, atol: float) -> list:
    """(sort key, line) for each summary value that differs; runs are matched by name (a run
    in one replay only is reported by `_run_differences`)."""
    found: list[str] = []
    for key in (k for k in {**a, **b} if k != "runs"):
        _compare_values(a.get(key), b.get(key), f"summary {key}", rtol, atol, found)
    runs_b = {run.get("name"): run for run in b.get("runs", [])}
    for run in a.get("runs", []):
        other = runs_b.get(run.get("name"))
        if other is None:
            continue
        for key in {**run, **other}:
            where = f"run {run['name']!r}: summary {key}"
            _compare_values(run.get(key), other.get(key), where, rtol, atol, found)
    return [(math.inf, line) for line in found]  # after the per-step lines that explain them


def _compare_values(a, b, where: str, rtol: float, atol: float, found: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in {**a, **b}:
            _compare_values(a.get(key), b.get(key), f"{where}.{key}", rtol, atol, found)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare_values(x, y, f"{where}[{i}]", rtol, atol, found)
    elif not _close(a, b, rtol, atol):
        found.append(f"{where}: a {a!r}, b {b!r}")


def _close(a, b, rtol: float, atol: float) -> bool:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    if not numbers:
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= max(rtol * max(abs(a), abs(b)), atol)
