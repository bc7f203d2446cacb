"""Headless replays: every run of a scenario, start to end, into summary.json and CSVs.

The Python API for tests is `replay(path)`, which returns the summary and per-run arrays:

    >>> result = sandbox.replay("scenarios/saddle.toml")
    >>> result.summary["runs"][0]["final_loss"], result.runs["GD"].loss[-1]
"""

from __future__ import annotations

import math
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sandbox.errors import OutputError
from sandbox.landscape.problem import make_problem
from sandbox.landscape.sampling import drawn_surface
from sandbox.landscape.slice_setup import setup_slice
from sandbox.optim.run import run_steps
from sandbox.scenario.load import load_scenario
from sandbox.scenario.schema import Scenario
from sandbox.trace.io import (
    RunWriter,
    atomic_path,
    format_number,
    write_json_atomic,
    write_text_atomic,
)
from sandbox.trace.names import file_safe
from sandbox.trace.outdir import OutputFolder
from sandbox.trace.records import Step

COLUMNS = ("step", "loss", "x", "y", "grad_norm", "lr", "sharpness")
CONNECT_FILE = "connect.csv"
SURFACE_FILE = "surface.npz"
CONNECT_COLUMNS = ("t", "line_loss", "curve_loss", "curve_x", "curve_y")


@dataclass(frozen=True)
class RunArrays:
    """One run's per-step columns as float64 arrays (sharpness is NaN where not estimated)."""

    step: np.ndarray
    loss: np.ndarray
    x: np.ndarray
    y: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray
    sharpness: np.ndarray
    offplane: np.ndarray | None = None
    weight_norm: np.ndarray | None = None
    layer_grad_norms: np.ndarray | None = None  # (steps, layers)


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced: the summary (as in summary.json) and each run's arrays."""

    scenario: Scenario
    summary: dict
    runs: dict[str, RunArrays]


def replay(
    source: str | Path | Scenario,
    out: str | Path | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    keep_arrays: bool = True,
    also_write: Callable[[ReplayResult, Path], None] | None = None,
) -> ReplayResult:
    """Run every run of a scenario; write outputs to `out` when given.

    Parameters
    ----------
    source : a scenario file, or an already loaded Scenario.
    out : directory for summary.json and runs/*.csv; None writes nothing.
    force : replace an earlier replay's outputs in a non-empty `out` (other files are kept).
    progress : show a progress bar on stderr.
    keep_arrays : keep every step in memory for `ReplayResult.runs` (off for huge runs).
    also_write : called with the result and the folder the outputs are being written to, before
        they are committed to `out`, to write more outputs there (plots, frames).

    Nothing lands in `out` unless the whole replay succeeds (see `sandbox.trace.outdir`).
    """
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    with one_torch_thread():
        if out is None:
            return _replay(scenario, None, progress, keep_arrays)
        with OutputFolder(out, force=force) as folder:
            try:
                result = _replay(scenario, folder.staging, progress, keep_arrays)
                if also_write is not None:
                    also_write(result, folder.staging)
                folder.commit()
            except OSError as exc:  # a full disk, a folder turned read-only: one line, the file
                where = folder.final_name(exc.filename) if exc.filename else folder.root
                raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from None
        return result


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread, then restore: the optimiser's ops are tiny, and a second thread
    only adds contention (replays measured 5-10x slower with two on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _replay(
    scenario: Scenario, out_dir: Path | None, progress: bool, keep_arrays: bool
) -> ReplayResult:
    """`replay` for a loaded scenario, writing into a folder of its own (or nothing)."""
    if out_dir is not None:
        (out_dir / "runs").mkdir()
    problem = make_problem(scenario)
    slice_info, connection = setup_slice(problem, scenario) if problem.is_network else (None, None)
    bar = _progress_bar(scenario, progress)
    summaries, arrays, finals = [], {}, []
    try:
        for run in scenario.runs:
            summary, steps, final = _replay_run(problem, run, scenario, out_dir, bar, keep_arrays)
            summaries.append(summary)
            finals.append(final)
            if keep_arrays:
                arrays[run.name] = _to_arrays(steps)
    finally:
        bar.close()
    summary = {
        "title": scenario.title,
        "seed": scenario.seed,
        "steps": scenario.steps,
        "runs": summaries,
    }
    if slice_info is not None:
        summary["slice"] = slice_info
        summary["activation_norms_at_init"] = problem.activation_norms(problem.theta_init)
    if connection is not None:
        summary["connect"] = connection.summary()
        if out_dir is not None:
            write_text_atomic(out_dir / CONNECT_FILE, _connect_csv(connection))
    if out_dir is not None:
        _write_surface(out_dir / SURFACE_FILE, drawn_surface(problem, scenario, finals[0]))
        write_json_atomic(out_dir / "summary.json", summary)
    return ReplayResult(scenario, summary, arrays)


def _write_surface(path: Path, arrays: dict) -> None:
    """An .npz as `np.load` reads it, with fixed zip timestamps (np.savez stamps the current
    time), so the same replay gives the same bytes, as for every other output."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, value in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(entry, "w") as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)


def _connect_csv(connection) -> str:
    lines = [",".join(CONNECT_COLUMNS)]
    lines += [",".join(map(format_number, row)) for row in connection.rows()]
    return "\n".join(lines) + "\n"


def _replay_run(problem, run, scenario, out_dir, bar, keep_arrays):
    writer = None
    if out_dir is not None:
        writer = RunWriter(out_dir / "runs", file_safe(run.name), problem.is_network)
    tracker = SummaryTracker(run.name)
    kept: list[Step] = []
    complete, shown = False, 0
    last_theta: dict = {}  # θ at the latest step (a view; nothing moves it after the last step)

    def keep_theta(k: int, theta) -> None:
        last_theta["theta"] = theta

    try:
        for step in run_steps(problem, run, scenario, keep_theta if problem.is_network else None):
            tracker.add(step)
            if writer is not None:
                writer.write(step)
            if keep_arrays:
                kept.append(step)
            if step.step % 256 == 255:
                bar.update(256)
                shown += 256
        complete = True
    finally:
        if writer is not None:
            writer.close(complete)
    bar.update(scenario.steps + 1 - shown)  # a diverged run skips its remaining steps
    summary = tracker.summary()
    final = last_theta.get("theta")
    margin = problem.margin(final) if final is not None else None
    if margin is not None:
        summary["final_margin"] = margin
    return summary, kept, final


class SummaryTracker:
    """Running summary of a run's steps (min loss, last step, ...) without keeping them."""

    def __init__(self, name: str):
        self.name = name
        self.min_loss: float | None = None
        self.last: Step | None = None
        self.sharpness: float | None = None

    def add(self, step: Step) -> None:
        self.last = step
        if math.isfinite(step.loss) and (self.min_loss is None or step.loss < self.min_loss):
            self.min_loss = step.loss
        if step.sharpness is not None:
            self.sharpness = step.sharpness

    def summary(self) -> dict:
        last = self.last
        assert last is not None
        entry = {
            "name": self.name,
            "steps_done": last.step,
            "final_loss": last.loss,
            "min_loss": self.min_loss,
            "diverged": last.diverged,
            "diverged_at": last.step if last.diverged else None,
            "final_position": [last.x, last.y],
            "sharpness": self.sharpness,
            "file": f"runs/{file_safe(self.name)}.csv",
        }
        if last.offplane is not None:
            entry["final_offplane"] = last.offplane
            entry["final_weight_norm"] = last.weight_norm
        return entry


def _to_arrays(steps: list[Step]) -> RunArrays:
    def column(name: str) -> np.ndarray:
        return np.array(
            [np.nan if getattr(s, name) is None else getattr(s, name) for s in steps],
            dtype=np.float64,
        )

    network = steps[0].offplane is not None
    return RunArrays(
        *(column(name) for name in COLUMNS),
        offplane=column("offplane") if network else None,
        weight_norm=column("weight_norm") if network else None,
        layer_grad_norms=np.array([s.layer_grad_norms for s in steps]) if network else None,
    )


class _NoBar:
    n = 0

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(scenario: Scenario, progress: bool):
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    total = len(scenario.runs) * (scenario.steps + 1)
    return tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
