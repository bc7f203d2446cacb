"""Comparing a replay with an earlier one: where, if anywhere, trajectories part.

Two replays agree when every CSV column agrees within RTOL/ATOL at every step and the runs did
the same number of steps. Same machine and seed gives byte-identical files; the tolerance is
there for other machines (BLAS and CPU differences move float32 networks by ~1e-7 per step).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

RTOL = 1e-6
ATOL = 1e-9


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    if a == "" or b == "":
        return False
    x, y = float(a), float(b)
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL)


def compare_run(old: Path, new: Path) -> str | None:
    """None when the two CSVs agree, else a one-line account of where they part."""
    a, b = _read_csv(old), _read_csv(new)
    for row_a, row_b in zip(a, b, strict=False):  # lengths compared below
        for column in row_a:
            if not _close(row_a[column], row_b.get(column, "")):
                return (
                    f"parts at step {row_a['step']}: {column} {row_a[column]} (old) "
                    f"vs {row_b.get(column, '')} (new)"
                )
    if len(a) != len(b):
        return f"old has {len(a) - 1} steps, new has {len(b) - 1}"
    return None


def compare_dirs(old_dir: Path, new_dir: Path) -> list[str]:
    """Per-run differences between two replay directories (empty list: they agree)."""
    try:
        old = json.loads((old_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"cannot read {old_dir / 'summary.json'}: {exc}"]
    new = json.loads((new_dir / "summary.json").read_text(encoding="utf-8"))
    new_runs = {r["name"]: r for r in new["runs"]}
    report = []
    for run in old["runs"]:
        name = run["name"]
        if name not in new_runs:
            report.append(f"{name}: missing from the new replay")
            continue
        file = run.get("file") or new_runs[name]["file"]
        difference = compare_run(old_dir / file, new_dir / new_runs[name]["file"])
        if difference:
            report.append(f"{name}: {difference}")
    report += [
        f"{name}: not in the old replay"
        for name in new_runs
        if name not in {r["name"] for r in old["runs"]}
    ]
    return report
