"""Headless replays: every run of a scenario, start to end, into summary.json and CSVs.

The Python API for tests is `replay(path)`, which returns the summary and per-run arrays:

    >>> result = sandbox.replay("scenarios/saddle.toml")
    >>> result.summary["runs"][0]["final_loss"], result.runs["GD"].loss[-1]
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sandbox.errors import OutputError
from sandbox.landscape.sampling import drawn_surface
from sandbox.pipeline.messages import Message, Steps, Surface
from sandbox.pipeline.prepare import prepare
from sandbox.pipeline.stream import stream
from sandbox.scenario.challenge import grader as challenge_grader
from sandbox.scenario.load import scenario_from
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
from sandbox.trace.progress import progress_bar
from sandbox.trace.records import Step
from sandbox.trace.summary import SummaryTracker

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
    """What a replay produced: the summary (as in summary.json) and each run's arrays; with
    `keep_messages`, also the scenario's stream as the window would receive it (for frames)."""

    scenario: Scenario
    summary: dict
    runs: dict[str, RunArrays]
    messages: tuple[Message, ...] | None = None

    # Drawing is a layer above the replay: these two reach up to it (sandbox/notebook.py).
    def plot(self):
        """Loss (and sharpness) against step as a matplotlib Figure (shown inline in Jupyter;
        no pyplot backend is switched)."""
        from sandbox.notebook import result_figure

        return result_figure(self)

    def video(self, path=None, **options):
        """An MP4 (or GIF) of the runs on their surface, shown inline in Jupyter; `options`:
        frames, size, fps (`sandbox.notebook.result_video`)."""
        from sandbox.notebook import result_video

        return result_video(self, path, **options)


def replay(
    source: str | Path | Scenario | Mapping[str, Any],
    out: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    progress: bool = False,
    keep_arrays: bool = True,
    also_write: Callable[[ReplayResult, Path], None] | None = None,
    keep_messages: bool = False,
) -> ReplayResult:
    """Run every run of a scenario; write outputs to `out` when given.

    Parameters
    ----------
    source : a scenario file, a bundled scenario's name ("saddle"), TOML text, its parsed data
        (a dict) or a loaded Scenario. Bad text or data raise ScenarioError, each problem as
        `<text>:LINE: key: reason` (`<dict>: key: reason` for a dict).
    out : directory for summary.json and runs/*.csv; None writes nothing.
    overrides : dotted key paths, as a sweep writes them, to values set before the scenario is
        validated: {"steps": 50, "runs.0.lr": 0.01, "runs.*.momentum": 0.9}. A problem with a
        value set here is reported as `overrides: key: reason`.
    force : replace an earlier replay's outputs in a non-empty `out` (other files are kept).
    progress : show a progress bar on stderr.
    keep_arrays : keep every step in memory for `ReplayResult.runs` (off for huge runs).
    also_write : called with the result and the folder the outputs are being written to, before
        they are committed to `out`, to write more outputs there (plots, frames).
    keep_messages : also keep the stream the window would receive, surfaces included, in
        `ReplayResult.messages`: frames and videos are drawn from it without training again.

    Nothing lands in `out` unless the whole replay succeeds (see `sandbox.trace.outdir`).
    """
    scenario = scenario_from(source, overrides)
    with one_torch_thread():
        if out is None:
            return _replay(scenario, None, progress, keep_arrays, keep_messages)
        with OutputFolder(out, force=force) as folder:
            try:
                result = _replay(scenario, folder.staging, progress, keep_arrays, keep_messages)
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
    scenario: Scenario, out_dir: Path | None, progress: bool, keep_arrays: bool, keep_messages: bool
) -> ReplayResult:
    """`replay` for a loaded scenario, writing into a folder of its own (or nothing)."""
    if out_dir is not None:
        (out_dir / "runs").mkdir()
    prepared = prepare(scenario)
    problem = prepared.problem
    outputs = [_RunOutput(problem, run.name, out_dir, keep_arrays) for run in scenario.runs]
    grader = challenge_grader(scenario)
    bar = _progress_bar(scenario, progress)
    messages = _write_runs(prepared, outputs, bar, keep_messages, grader)
    summary = {
        "title": scenario.title,
        "seed": scenario.seed,
        "steps": scenario.steps,
        "runs": [output.summary() for output in outputs],
    }
    if grader is not None:
        summary["challenge"] = grader.summary()
    table = getattr(getattr(scenario.landscape, "data", None), "table", None)
    if table is not None:  # the scenario's own data file: which bytes the runs were trained on
        file = scenario.landscape.data.file
        summary["data"] = {"file": file, "sha256": table.sha256, "rows": table.rows}
    if prepared.slice_info is not None:
        summary["slice"] = prepared.slice_info
        summary["activation_norms_at_init"] = problem.activation_norms(problem.theta_init)
    if prepared.connection is not None:
        summary["connect"] = prepared.connection.summary()
        if out_dir is not None:
            write_text_atomic(out_dir / CONNECT_FILE, _connect_csv(prepared.connection))
    if out_dir is not None:
        drawn = _drawn(prepared, outputs[0].final, messages)
        _write_surface(out_dir / SURFACE_FILE, drawn)
        write_json_atomic(out_dir / "summary.json", summary)
    arrays = {o.name: _to_arrays(o.kept) for o in outputs} if keep_arrays else {}
    return ReplayResult(scenario, summary, arrays, tuple(messages) if keep_messages else None)


def _write_runs(
    prepared, outputs: list[_RunOutput], bar, keep_messages: bool, grader=None
) -> list[Message]:
    """Every run's records from the scenario's stream into `outputs` (and the challenge's
    `grader`); the stream's messages when `keep_messages` (frames and videos draw them: the
    runs are trained once)."""
    observe = None
    if prepared.problem.is_network:  # the final weights, for the margin and a moving surface

        def observe(i: int, k: int, theta) -> None:
            outputs[i].final = theta  # a view; nothing moves it after the run's last step

    kept: list[Message] = []
    complete = False
    try:
        for message in stream(prepared, view=keep_messages, observe=observe):
            if keep_messages:
                kept.append(message)
            if isinstance(message, Steps):
                outputs[message.run].add(message.steps, bar)
                for step in message.steps if grader is not None else ():
                    grader.add(outputs[message.run].name, step)
        complete = True
    finally:
        for output in outputs:
            output.close(complete)
        bar.close()
    return kept


def _drawn(prepared, first_final, messages: list[Message]) -> dict:
    """surface.npz's arrays: the stream's refined first surface when the replay kept it and it
    is the one drawn (it is, unless the slice moves), else computed here."""
    land = prepared.scenario.landscape
    moving = prepared.problem.is_network and land.slice.center == "moving"
    refined = next((m for m in messages if isinstance(m, Surface) and m.refined), None)
    sample = refined.sample if refined is not None and not moving else None
    return drawn_surface(prepared.problem, prepared.scenario, first_final, sample)


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


class _RunOutput:
    """One run's outputs as its records arrive: its CSV files, summary entry and kept steps."""

    def __init__(self, problem, name: str, out_dir: Path | None, keep_arrays: bool):
        self.problem, self.name, self.keep_arrays = problem, name, keep_arrays
        self.writer = None
        if out_dir is not None:
            self.writer = RunWriter(out_dir / "runs", file_safe(name), problem.is_network)
        self.tracker = SummaryTracker(name)
        self.kept: list[Step] = []
        self.final = None  # θ at the latest step (networks)

    def add(self, steps: tuple[Step, ...], bar) -> None:
        for step in steps:
            self.tracker.add(step)
            if self.writer is not None:
                self.writer.write(step)
        if self.keep_arrays:
            self.kept.extend(steps)
        bar.update(len(steps))

    def close(self, complete: bool) -> None:
        if self.writer is not None:
            self.writer.close(complete)

    def summary(self) -> dict:
        summary = self.tracker.summary()
        margin = self.problem.margin(self.final) if self.final is not None else None
        if margin is not None:
            summary["final_margin"] = margin
        return summary


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


def _progress_bar(scenario: Scenario, progress: bool):
    """A bar on a terminal; a line every few seconds where stderr is a log (trace/progress)."""
    total = len(scenario.runs) * (scenario.steps + 1)
    return progress_bar(total, f"replay {scenario.title}", enabled=progress)
