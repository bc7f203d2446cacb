"""A sweep's outputs: the table (Parquet and CSV), fits, plots and summary.json.

The table has one row per variant × seed × run, in sweep order (variant, then seed, then the
scenario's run order): `variant`, `seed`, `run`, one column per swept parameter (named as in the
sweep file), one per metric (named as written), `error` (empty unless the task failed) and
`task` (the task's key, the name of its cache file). The same sweep on the same machine gives
byte-identical CSVs; summary.json also reports timings and cache use.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.sweep.spec import Sweep
from sandbox.sweep.task import Outcome, code_version
from sandbox.trace.io import format_number, write_json_atomic

FIXED_COLUMNS = ("variant", "seed", "run")


def write_results(
    sweep: Sweep, out: Path, outcomes: dict[str, Outcome], started: float, timings: dict[str, float]
):
    """Write results.parquet, results.csv, plots/*.png and (last) summary.json into `out`.

    `out` is the sweep's staging folder (`outdir.SweepDir.staging`), which holds nothing else:
    files are written straight to their names there, and the staging folder as a whole is moved
    into place or removed.

    `started` is the sweep's `time.perf_counter()` at its start; `timings` holds the seconds it
    spent starting the cluster ("startup") and running tasks ("tasks").
    """
    begin = time.perf_counter()
    rows = table_rows(sweep, outcomes)
    types = column_types(sweep, rows)
    _write_parquet(out / "results.parquet", rows, types, sweep)
    _write_text(out / "results.csv", to_csv(rows, types))
    fits = fit_all(sweep, rows)
    from sandbox.sweep.plots import make_plots

    plots = make_plots(sweep, rows, fits, out / "plots")
    end = time.perf_counter()
    seconds = {
        "total": end - started,
        "cluster_startup": timings["startup"],
        "running_tasks": timings["tasks"],
        "in_tasks": sum(o.seconds for o in outcomes.values() if not o.cached),
        "writing_outputs": end - begin,
    }
    summary = build_summary(sweep, rows, outcomes, fits, plots, seconds)
    write_json_atomic(out / "summary.json", _json_safe(summary))
    return rows, summary


def table_rows(sweep: Sweep, outcomes: dict[str, Outcome]) -> list[dict]:
    """One dict per variant × seed × run, in sweep order."""
    variants = {v.index: v for v in sweep.variants}
    rows = []
    for task in sweep.tasks:
        outcome = outcomes[task.key]
        head = {"variant": task.variant, "seed": task.seed}
        values = variants[task.variant].values
        by_run = {r["run"]: r for r in outcome.rows} if outcome.rows is not None else {}
        for run in task.runs:
            metrics = by_run.get(run, {})
            row = {**head, "run": run, **values}
            row.update({m.name: metrics.get(m.name) for m in sweep.metrics})
            row["error"] = outcome.error
            row["task"] = task.key
            rows.append(row)
    return rows


def column_types(sweep: Sweep, rows: list[dict]) -> dict[str, str]:
    """Each column's type: int, float, bool, str, or json (lists and tables as JSON text)."""
    types = {"variant": "int", "seed": "int", "run": "str"}
    for param in sweep.params:
        types[param.name] = _value_type([v.values[param.name] for v in sweep.variants])
    for metric in sweep.metrics:
        types[metric.name] = metric.spec.dtype
    types["error"] = "str"
    types["task"] = "str"
    return types


def _value_type(values: list) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value)
    if kind == "float":
        return float(value)
    return value


def _write_parquet(path: Path, rows: list[dict], types: dict[str, str], sweep: Sweep) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "str": pa.string(),
        "json": pa.string(),
    }
    columns = {
        name: pa.array([_cell(row[name], kind) for row in rows], type=arrow[kind])
        for name, kind in types.items()
    }
    table = pa.table(columns).replace_schema_metadata(
        {"sandbox.sweep": json.dumps({"title": sweep.title, "sweep_id": sweep.sweep_id})}
    )
    pq.write_table(table, path)


def to_csv(rows: list[dict], types: dict[str, str]) -> str:
    """The table as CSV: header first, empty cells for missing values, floats round-trip."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(types)
    for row in rows:
        writer.writerow(_csv_cell(row[name], kind) for name, kind in types.items())
    return buffer.getvalue()


def _csv_cell(value: Any, kind: str) -> str:
    value = _cell(value, kind)
    if value is None:
        return ""
    if kind == "float":
        return format_number(value)
    if kind == "bool":
        return "true" if value else "false"
    return str(value)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


# -- fits and aggregates ---------------------------------------------------------------------


def fit_all(sweep: Sweep, rows: list[dict]) -> list[dict]:
    """Every `[[sweep.fit]]`, for each run and each setting of the other swept parameters."""
    from sandbox.sweep.fit import fit_groups

    results = []
    for spec in sweep.fits:
        others = [p.name for p in sweep.params if p.name != spec.x]
        groups: dict[tuple, dict[int, list]] = {}
        for row in rows:
            if row["error"] is not None or (spec.runs and row["run"] not in spec.runs):
                continue
            group = (row["run"], *(json.dumps(row[name]) for name in others))
            groups.setdefault(group, {}).setdefault(row["seed"], []).append(
                (row[spec.x], row[spec.y])
            )
        for group, curves in groups.items():
            arrays = {seed: _xy(points) for seed, points in curves.items()}
            fixed = {name: json.loads(text) for name, text in zip(others, group[1:], strict=True)}
            fitted = fit_groups(spec.model, arrays)
            results.append({"x": spec.x, "y": spec.y, "run": group[0], "fixed": fixed, **fitted})
    return results


def _xy(points: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([np.nan if p[1] is None else p[1] for p in points], dtype=np.float64)
    return x, y


def aggregate(values: list) -> dict:
    """mean, std (ddof = 0), min and max of the finite values over seeds, and their count."""
    numbers = np.array([float(v) for v in values if v is not None], dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    entry: dict[str, Any] = {"n": int(len(numbers)), "finite": int(len(finite))}
    if len(finite):
        entry.update(
            mean=float(finite.mean()),
            std=float(finite.std()),
            min=float(finite.min()),
            max=float(finite.max()),
        )
    return entry


def build_summary(sweep, rows, outcomes, fits, plots, seconds) -> dict:
    """summary.json: what was swept, how the tasks went, per-variant aggregates, fits, plots."""
    ran = [o for o in outcomes.values() if not o.cached]
    errors = [
        {"variant": t.variant, "seed": t.seed, "error": outcomes[t.key].error}
        for t in sweep.tasks
        if outcomes[t.key].error is not None
    ]
    return {
        "title": sweep.title,
        "description": sweep.description,
        "file": sweep.source,
        "base": sweep.base,
        "sweep_id": sweep.sweep_id,
        "code": code_version(),
        "params": [_param_entry(p) for p in sweep.params],
        "seeds": list(sweep.seeds),
        "metrics": [m.name for m in sweep.metrics],
        "tasks": {
            "total": len(sweep.tasks),
            "unique": len(outcomes),
            "cached": sum(o.cached for o in outcomes.values()),
            "ran": len(ran),
            "failed": len(errors),
        },
        "seconds": seconds,
        "errors": errors,
        "rows": len(rows),
        "variants": _variant_aggregates(sweep, rows),
        "fits": fits,
        "plots": plots,
    }


def _param_entry(param) -> dict:
    if param.kind == "grid":
        return {"name": param.name, "kind": "grid", "values": list(param.values)}
    kind, arg = param.draw
    return {"name": param.name, "kind": "random", "distribution": kind, "argument": list(arg)}


def _variant_aggregates(sweep: Sweep, rows: list[dict]) -> list[dict]:
    by_variant: dict[int, dict[str, list[dict]]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], {}).setdefault(row["run"], []).append(row)
    entries = []
    for variant in sweep.variants:
        runs = by_variant.get(variant.index, {})
        entries.append(
            {
                "variant": variant.index,
                "values": variant.values,
                "runs": {
                    run: {m.name: aggregate([r[m.name] for r in group]) for m in sweep.metrics}
                    for run, group in runs.items()
                },
            }
        )
    return entries


def _json_safe(value: Any) -> Any:
    """Plain Python values for `json` (NaN and ±Inf are written as JSON's NaN/Infinity)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
