"""One sweep task, as it runs on a worker: a resolved scenario in, one row per run out.

A task is plain data (a dict holding the resolved scenario's TOML data and the metric names), so
it pickles cheaply and means the same on any worker with the same code. It replays in memory
through `sandbox.replay` (no files), unless a metric needs the final weights: then it runs the
same pipeline (`sandbox.pipeline.prepare`, `steps`, `SummaryTracker`) itself and keeps the last
θ. Both paths give the numbers `sandbox replay` gives (tests/test_sweep.py).
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# Modules that cannot change a row: drawing, the window, the CLI, the sweep's own bookkeeping.
_NOT_NUMERIC = (
    "render/",
    "app/",
    "cli/",
    "bench/",
    "sweep/cli.py",
    "sweep/engine.py",
    "sweep/plots.py",
    "sweep/results.py",
    "sweep/fit.py",
)


@dataclass(frozen=True)
class Outcome:
    """What became of one task: its rows, or the error that stopped it."""

    key: str
    rows: list[dict] | None
    error: str | None
    seconds: float
    cached: bool = False


@functools.cache
def code_version() -> str:
    """A hash of everything that can change a task's numbers: our sources, torch and numpy."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in ("loss-landscape-sandbox", "torch", "numpy"):
        digest.update(f"{name}={_version(name)};".encode())
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(_NOT_NUMERIC):
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def run_task(payload: dict) -> dict:
    """Replay one resolved scenario and compute the metrics of each run.

    Returns {"key", "rows": [{"run": name, metric: value, ...}], "error": None, "seconds"}, or
    rows None and the error's text when the replay fails (the sweep records it, it is not fatal).
    """
    start = time.perf_counter()
    try:
        rows = _rows(payload["scenario"], payload["metrics"], payload.get("data_sha256"))
        error = None
    except Exception as exc:  # noqa: BLE001 - any failure of one variant is data for the table
        rows, error = None, f"{type(exc).__name__}: {exc}"
    return {
        "key": payload["key"],
        "rows": rows,
        "error": error,
        "seconds": time.perf_counter() - start,
    }


def _rows(data: dict, metric_names: list[str], data_sha256: str | None = None) -> list[dict]:
    import torch

    from sandbox.scenario.schema import Scenario
    from sandbox.sweep.metrics import parse_metric

    # One intra-op thread per task: the cluster runs one task per core (and small networks are
    # slower, not faster, with more threads on a busy machine).
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    scenario = Scenario.model_validate(data)
    table = getattr(scenario.landscape, "data", None)
    table = table.table if table is not None else None
    if table is not None and table.sha256 != data_sha256:  # re-read here, checked before
        raise ValueError(
            f"the data file {data['landscape']['data']['file']} changed since the "
            "sweep was checked; run the sweep again"
        )
    metrics = [parse_metric(name) for name in metric_names]
    needs = {m.spec.needs for m in metrics}
    traces, held_out = (
        _replay_keeping_weights(scenario)
        if "weights" in needs
        else (_replay(scenario, "arrays" in needs), {})
    )
    return [_row(trace, metrics, held_out.get(name)) for name, trace in traces.items()]


def _row(trace, metrics, held_out) -> dict[str, Any]:
    from sandbox.sweep.metrics import evaluate

    row: dict[str, Any] = {"run": trace.summary["name"]}
    for metric in metrics:
        row[metric.name] = evaluate(metric, trace, held_out)
    return row


def _replay(scenario, keep_arrays: bool) -> dict:
    from sandbox.replayer import replay
    from sandbox.sweep.metrics import RunTrace

    result = replay(scenario, keep_arrays=keep_arrays)
    traces = {}
    for entry in result.summary["runs"]:
        arrays = result.runs.get(entry["name"])
        traces[entry["name"]] = (
            RunTrace(entry, arrays.step, arrays.loss, arrays.sharpness)
            if arrays is not None
            else RunTrace(entry)
        )
    return traces


def _replay_keeping_weights(scenario) -> tuple[dict, dict]:
    """As `replay`, also keeping each run's final weights for held-out metrics."""
    from sandbox.pipeline.prepare import prepare, steps
    from sandbox.sweep.metrics import held_out_metrics
    from sandbox.trace.summary import SummaryTracker

    prepared = prepare(scenario)
    problem = prepared.problem
    traces, held_out = {}, {}
    for run in scenario.runs:
        tracker, columns, last = SummaryTracker(run.name), [], [None]

        def observe(k: int, theta, last=last) -> None:
            # θ_k as the optimiser holds it; a run takes no step after the last observe, so
            # the reference still holds the final weights when the loop ends.
            last[0] = theta

        for step in steps(prepared, run, observe):
            tracker.add(step)
            columns.append((step.step, step.loss, step.sharpness))
        traces[run.name] = _trace(tracker.summary(), columns, last[0].clone())
        held_out[run.name] = held_out_metrics(problem, scenario, traces[run.name].weights)
    return traces, held_out


def _trace(summary: dict, steps: list[tuple], weights):
    import numpy as np

    from sandbox.sweep.metrics import RunTrace

    columns = np.array(
        [(k, loss, np.nan if lam is None else lam) for k, loss, lam in steps], dtype=np.float64
    )  # shape (steps_done + 1, 3)
    return RunTrace(summary, columns[:, 0], columns[:, 1], columns[:, 2], weights)
