"""Benchmark: sweep throughput on Dask (1 and 2 workers) against a plain sequential loop.

    python benchmarks/bench_sweep.py [--tasks N] [--steps S] [--json PATH]

Runs the same N tasks (one analytic GD run of S steps each, every task a different learning
rate) three ways: (a) a plain loop calling the task function in this process, (b) `run_sweep` on
a 1-worker LocalCluster, (c) on a 2-worker one. Cluster start-up (processes, imports) is timed
separately (the first task on each worker also pays for importing torch, so every cluster is
warmed with a small sweep before the clock starts), and so is writing the table and plots.
Reports tasks/s while tasks run and the engine's overhead per task, (task time on 1 worker −
plain loop) / N: Dask scheduling, pickling, result transfer and the cache write. Run it with a
tiny S (pure overhead) and a realistic one.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from sandbox.sweep.engine import make_cluster, run_sweep
from sandbox.sweep.spec import parse_sweep
from sandbox.sweep.task import run_task

SWEEP = """
title = "bench sweep"
[scenario]
title = "bench"
steps = {steps}
[scenario.landscape]
kind = "analytic"
surface = "quadratic"
params = {{ l1 = 1.0, l2 = 0.5 }}
[[scenario.runs]]
name = "GD"
optimizer = "gd"
lr = 0.1
start = [1.0, 1.0]
[sweep]
metrics = ["final_loss", "steps_to(1e-6)", "diverged"]
[sweep.params]
"runs.0.lr" = {{ linspace = [0.01, 1.5], num = {tasks} }}
"""


def sequential(sweep) -> float:
    """Seconds for the plain loop: the task function on every task, in this process."""
    names = [m.name for m in sweep.metrics]
    start = time.perf_counter()
    for task in sweep.tasks:
        run_task({"key": task.key, "scenario": task.scenario, "metrics": names})
    return time.perf_counter() - start


def on_dask(sweep, workers: int, scratch: Path) -> dict:
    """Start-up seconds of a `workers`-process LocalCluster, then seconds for the sweep."""
    from distributed import Client

    start = time.perf_counter()
    with make_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        warm = parse_sweep(SWEEP.format(steps=1, tasks=workers * 2))
        run_sweep(warm, scratch / f"warm{workers}", client=client)  # imports torch on workers
        startup = time.perf_counter() - start
        start = time.perf_counter()
        result = run_sweep(sweep, scratch / f"run{workers}", client=client)
        seconds = time.perf_counter() - start
    assert result.summary["tasks"]["ran"] == len(sweep.tasks)
    timing = result.summary["seconds"]
    return {
        "startup_s": startup,
        "sweep_s": seconds,
        "tasks_s": timing["running_tasks"],
        "in_tasks_s": timing["in_tasks"],
        "outputs_s": timing["writing_outputs"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sweep = parse_sweep(SWEEP.format(steps=args.steps, tasks=args.tasks))
    n = len(sweep.tasks)
    sequential(parse_sweep(SWEEP.format(steps=1, tasks=2)))  # warm this process's imports
    plain = sequential(sweep)
    figures = {"tasks": n, "steps": args.steps, "plain_s": plain, "plain_tasks_per_s": n / plain}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch:
        for workers in (1, 2):
            run = on_dask(sweep, workers, Path(scratch))
            figures[f"workers{workers}"] = {**run, "tasks_per_s": n / run["tasks_s"]}
    overhead = (figures["workers1"]["tasks_s"] - plain) / n
    figures["overhead_per_task_ms"] = 1000 * overhead
    print(f"{n} tasks of {args.steps} steps (analytic GD)")
    print(f"  plain loop      : {plain:7.2f} s  {n / plain:8.1f} tasks/s")
    for workers in (1, 2):
        run = figures[f"workers{workers}"]
        print(
            f"  dask, {workers} worker(s): {run['tasks_s']:7.2f} s  {run['tasks_per_s']:8.1f} "
            f"tasks/s  (+ table and plots {run['outputs_s']:.1f} s; cluster start-up "
            f"{run['startup_s']:.1f} s)"
        )
    print(f"  engine overhead : {1000 * overhead:7.1f} ms per task (1 worker vs plain loop)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
