"""Comparing a replay with an earlier one: where, if anywhere, trajectories part.

Two replays agree when every CSV column agrees within RTOL/ATOL at every step and the runs did
the same number of steps. Same machine and seed gives byte-identical files; the tolerance is
there for other machines (BLAS and CPU differences move float32 networks by ~1e-7 per step).

The baseline folder is input like a scenario file: `read_baseline` checks it before anything
runs, and only reads CSVs that lie inside it, whatever its summary.json says.
"""

from __future__ import annotations

import csv
import json
import math
from itertools import zip_longest
from pathlib import Path

from sandbox.errors import BadInput
from sandbox.trace.names import file_safe
from sandbox.trace.outdir import SUMMARY, is_file_inside

RTOL = 1e-6
ATOL = 1e-9
SUMMARY_LIMIT = 16 * 2**20  # bytes: a summary of 16 runs is a few kB


def read_baseline(folder: Path) -> dict[str, Path]:
    """An earlier replay's runs: name -> its CSV inside `folder`. Raises BadInput, naming the
    file and the entry, for anything that is not a complete replay folder."""
    summary = folder / SUMMARY
    if not folder.is_dir():
        raise BadInput(f"--compare {folder}: not a folder")
    if not is_file_inside(folder, SUMMARY):
        raise BadInput(f"--compare {folder}: no summary.json (not a complete replay)")
    if summary.stat().st_size > SUMMARY_LIMIT:
        raise BadInput(f"{summary}: larger than {SUMMARY_LIMIT // 2**20} MiB; not a replay's")
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{summary}: cannot read it: {str(exc)[:200]}") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        raise BadInput(f"{summary}: runs: missing or not a list")
    found: dict[str, Path] = {}
    for i, run in enumerate(runs):
        name = run.get("name") if isinstance(run, dict) else None
        if not isinstance(name, str) or name in found:
            raise BadInput(f"{summary}: runs[{i}].name: missing, not text or repeated")
        file = run.get("file", f"runs/{file_safe(name)}.csv")  # older replays did not say
        inside = isinstance(file, str) and file.startswith("runs/") and file.endswith(".csv")
        if not (inside and is_file_inside(folder, file)):
            shown = repr(file)[:80]
            raise BadInput(f"{summary}: runs[{i}].file: {shown} is not a CSV in {folder / 'runs'}")
        found[name] = folder / file
    return found


def _close(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if not a or not b:
        return False
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL)


def compare_run(old: Path, new: Path) -> str | None:
    """None when the two CSVs agree, else a one-line account of where they part (streamed: a
    10⁶-step run is never held in memory)."""
    with old.open(encoding="utf-8", newline="") as fa, new.open(encoding="utf-8", newline="") as fb:
        a, b = csv.DictReader(fa, restval=""), csv.DictReader(fb, restval="")
        rows = [0, 0]  # rows from step 0 on, old and new
        for row_a, row_b in zip_longest(a, b):
            rows[0] += row_a is not None
            rows[1] += row_b is not None
            if row_a is None or row_b is None:
                continue  # counting the longer file's rest
            for column, value in row_a.items():
                if column is not None and not _close(value, row_b.get(column, "")):
                    return (
                        f"parts at step {row_a.get('step')}: {column} {value} (old) "
                        f"vs {row_b.get(column, '')} (new)"
                    )
    if rows[0] != rows[1]:
        return f"old has {rows[0] - 1} steps, new has {rows[1] - 1}"
    return None


def compare_dirs(baseline: dict[str, Path], new_dir: Path) -> list[str]:
    """Per-run differences between a baseline (`read_baseline`) and a new replay folder."""
    new = json.loads((new_dir / SUMMARY).read_text(encoding="utf-8"))
    new_runs = {r["name"]: new_dir / r["file"] for r in new["runs"]}
    report = []
    for name, old_csv in baseline.items():
        if name not in new_runs:
            report.append(f"{name}: missing from the new replay")
            continue
        try:
            difference = compare_run(old_csv, new_runs[name])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            difference = f"cannot read {old_csv}: {str(exc)[:200]}"
        if difference:
            report.append(f"{name}: {difference}")
    report += [f"{name}: not in the old replay" for name in new_runs if name not in baseline]
    return report
