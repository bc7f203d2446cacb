"""Running a sweep on Dask: every variant × seed is one independent task; finished tasks are cached.

By default the sweep starts its own `LocalCluster` (worker processes, one thread each) and closes
it at the end; `scheduler` connects to a running cluster instead, and `client` uses a Dask client
the caller owns (tests share one cluster). Each finished task's rows are written to
`DIR/cache/<task key>.json` as they arrive, so an interrupted sweep loses at most the tasks that
were running, and a re-run skips everything cached. A task whose worker dies is re-run by Dask on
another worker (up to `distributed.scheduler.allowed-failures` times); a task that fails for good
becomes rows holding its error, and the sweep goes on. The output directory is locked while the
sweep runs, and only a sweep's own files in it are ever replaced (`sandbox.sweep.outdir`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.sweep.outdir import CACHE, SweepDir
from sandbox.sweep.results import write_results
from sandbox.sweep.spec import Sweep, Task
from sandbox.sweep.task import Outcome, code_version, run_task
from sandbox.trace.progress import progress_bar

# Seconds to reach a running scheduler (`--scheduler`) and complete Dask's handshake with it.
SCHEDULER_TIMEOUT = 10.0


class SweepError(Exception):
    """The sweep cannot run (no cluster reachable, mismatched workers): exit 1, one line."""


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the table's rows (as written) and summary.json's content."""

    out: Path
    rows: list[dict]
    summary: dict


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    client=None,
    force: bool = False,
    fresh: bool = False,
    progress: bool = False,
    task_fn: Callable[[dict], dict] = run_task,
) -> SweepResult:
    """Run every task not cached in `out`, then write the table, plots and summary.json.

    Parameters
    ----------
    sweep : a loaded sweep (`load_sweep`).
    out : the output directory; a non-empty one must hold an earlier run of the same sweep
        (resumed) unless `force`.
    workers : worker processes of the LocalCluster started when neither `scheduler` nor `client`.
    scheduler : address of a running Dask scheduler to use instead.
    client : a `distributed.Client` to use (not closed here).
    fresh : clear the cache first: recompute every task.
    task_fn : what runs one task (tests wrap `run_task`, e.g. to kill a worker).
    """
    started = time.perf_counter()
    out = Path(out)
    with SweepDir(out, sweep, force=force, fresh=fresh) as folder:
        unique = list({task.key: task for task in sweep.tasks}.values())
        cached = ((t.key, _cached(out, t)) for t in unique)
        outcomes = {key: o for key, o in cached if o is not None}
        pending = [task for task in unique if task.key not in outcomes]
        timings = {"startup": 0.0, "tasks": 0.0}
        if pending:
            connecting = time.perf_counter()
            with _dask_client(workers, scheduler, client, progress) as dask_client:
                submitting = time.perf_counter()
                timings["startup"] = submitting - connecting
                outcomes.update(
                    _run_pending(dask_client, pending, sweep, out, task_fn, progress, len(unique))
                )
                timings["tasks"] = time.perf_counter() - submitting
        with folder.staging() as staging:
            rows, summary = write_results(sweep, staging, outcomes, started, timings)
            folder.commit(staging)
    return SweepResult(out, rows, summary)


# -- the output directory ----------------------------------------------------------------------


def prepare_sweep_dir(out: Path, sweep: Sweep, force: bool, fresh: bool = False) -> None:
    """Refuse a non-empty `out` unless it holds this sweep (resume) or `force`; write the
    manifest (see `SweepDir`, which `run_sweep` holds for the whole sweep)."""
    with SweepDir(out, sweep, force=force, fresh=fresh):
        pass


def _cache_path(out: Path, key: str) -> Path:
    return out / CACHE / f"{key}.json"


def _cached(out: Path, task: Task) -> Outcome | None:
    """The cached outcome of a task, or None (absent, unreadable or not this task's)."""
    try:
        data = json.loads(_cache_path(out, task.key).read_text(encoding="utf-8"))
        rows = data["rows"]
        if data["key"] != task.key or [row["run"] for row in rows] != list(task.runs):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Outcome(task.key, rows, None, float(data.get("seconds", 0.0)), cached=True)


def _write_cache(out: Path, outcome: Outcome) -> None:
    """Write one finished task's rows atomically (a temporary file, then a rename)."""
    data = {
        "key": outcome.key,
        "code": code_version(),
        "seconds": outcome.seconds,
        "rows": outcome.rows,
    }
    folder = out / CACHE
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{outcome.key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, _cache_path(out, outcome.key))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- Dask ------------------------------------------------------------------------------------


def make_cluster(workers: int = 2):
    """The default LocalCluster: `workers` processes with one thread each, no dashboard.

    Its scheduler hands every task to a worker at once (no queueing on the scheduler): a
    sweep's tasks have no dependencies, and queueing costs a scheduler round trip per task,
    measured 7-12 ms on a busy 2-core machine against about 2 ms without. Work stealing still
    balances uneven tasks, and a dead worker's tasks still go to the others.
    """
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.worker-saturation": float("inf")}),
        _workers_ignore_ctrl_c(),
    ):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (they inherit it): Ctrl-C in a terminal reaches
    the whole process group, and only this process should act on it (cancel, close the cluster)
    instead of every worker printing a KeyboardInterrupt traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, client, progress: bool) -> Iterator:
    if client is not None:
        yield client
        return
    from distributed import Client

    if scheduler is not None:
        with _connect(scheduler, SCHEDULER_TIMEOUT) as remote:
            _check_workers(remote)
            yield remote
        return
    if progress:
        print(f"starting a local Dask cluster: {workers} worker process(es)", file=sys.stderr)
    with make_cluster(workers) as cluster, Client(cluster) as local:
        yield local


def _connect(address: str, timeout: float):
    """A Client of the scheduler at `address`, or SweepError within about `timeout` seconds."""
    import dask
    from distributed import Client

    _probe_scheduler(address, timeout)
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": timeout}):
            return Client(address, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong: one line naming the address
        reason = _reason(exc, timeout)
        raise SweepError(f"cannot reach a Dask scheduler at {address}: {reason}") from None


def _probe_scheduler(address: str, timeout: float) -> None:
    """Raise SweepError unless a Dask server at `address` completes the handshake in `timeout`.

    distributed's `connect` bounds the TCP connect by its timeout but not the handshake read
    that follows, and `Client` does not bound it either: a server that accepts and never answers
    (anything but Dask: an HTTP server, a plain TCP server) held `Client(...)` for minutes. The
    probe runs on a thread with its own event loop (the caller may have one running) and is
    abandoned, not waited for, when the time is up.
    """
    import asyncio

    from distributed.comm import connect
    from distributed.security import Security

    async def handshake() -> None:
        args = Security().get_connection_args("client")
        comm = await connect(address, timeout=timeout, **args)
        await comm.close()

    outcome: list[BaseException | None] = []

    def probe() -> None:
        try:
            asyncio.run(asyncio.wait_for(handshake(), timeout))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported on the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=probe, name="sandbox-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if outcome and outcome[0] is None:
        return
    reason = _reason(outcome[0], timeout) if outcome else f"no Dask handshake within {timeout:g} s"
    raise SweepError(f"cannot reach a Dask scheduler at {address}: {reason}")


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):  # asyncio's too, since Python 3.11
        return f"no Dask handshake within {timeout:g} s (is it a Dask scheduler?)"
    if isinstance(exc, OSError | ValueError | TypeError):
        return str(exc) or type(exc).__name__
    return f"it does not answer as a Dask scheduler ({type(exc).__name__}: {exc})"


def _check_workers(client) -> None:
    """Refuse workers whose code would give other numbers than ours (or that have none)."""
    if not client.scheduler_info().get("workers"):
        raise SweepError("the Dask cluster has no workers")
    theirs = client.run(code_version)
    ours = code_version()
    other = sorted(addr for addr, version in theirs.items() if version != ours)
    if other:
        raise SweepError(
            f"workers {', '.join(other)} run another version of the sandbox (code "
            f"{theirs[other[0]]}, here {ours}); install the same version on every worker"
        )


def _run_pending(client, pending, sweep, out, task_fn, progress, total) -> dict[str, Outcome]:
    """Submit every pending task; cache each result as it arrives."""
    from distributed import as_completed

    names = [m.name for m in sweep.metrics]
    payloads = [
        {"key": t.key, "scenario": t.scenario, "metrics": names, "data_sha256": t.data_sha256}
        for t in pending
    ]
    futures = client.map(
        task_fn, payloads, key=[f"sandbox-sweep-{t.key}" for t in pending], pure=False
    )
    outcomes: dict[str, Outcome] = {}
    # a bar on a terminal, a line every few seconds in a log; cached tasks are done already
    bar = progress_bar(total, "sweep", "tasks", enabled=progress, initial=total - len(pending))
    try:
        for future, result in as_completed(futures, with_results=True, raise_errors=False):
            outcome = _outcome(future, result)
            if outcome.error is None:
                _write_cache(out, outcome)
            outcomes[outcome.key] = outcome
            bar.update(1)
            future.release()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        bar.close()
    return outcomes


def _outcome(future, result) -> Outcome:
    key = future.key.removeprefix("sandbox-sweep-")
    if future.status != "finished":  # a lost task (KilledWorker, ...) becomes error rows
        # as_completed(raise_errors=False) gives an error's exc_info, a cancellation's exception
        error = result[1] if isinstance(result, tuple) else result
        return Outcome(key, None, f"{type(error).__name__}: {error}", 0.0)
    return Outcome(key, result["rows"], result["error"], float(result["seconds"]))
