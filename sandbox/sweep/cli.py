"""`sandbox sweep`: run a sweep file on Dask and write its table, plots and summary.

Hooked into `sandbox.cli` by `add_sweep_parser(commands)`. Import-light on purpose (no Dask, no
torch here): `sandbox --help` must stay fast. The handler maps its own failures to the exit
codes of the contract, so it behaves the same whoever calls it: 0 done (failed tasks are rows
with an error, not a failure of the sweep), 1 output directory or cluster problems, 2 invalid
sweep or scenario, 130 interrupted (finished tasks stay cached: run it again to resume).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
# What the `sweep` extra installs: the base install (app, replays, frames, video) goes without.
SWEEP_EXTRA_MODULES = ("dask", "distributed", "pyarrow")


def add_sweep_parser(commands) -> argparse.ArgumentParser:
    """Add the `sweep` subcommand to an argparse subparsers object."""
    sweep = commands.add_parser(
        "sweep",
        help="run a sweep (variants × seeds of a scenario) on Dask",
        description="Run every variant × seed of a sweep file as a replay task on a Dask cluster; "
        "write DIR/results.parquet, DIR/results.csv, DIR/plots/*.png and DIR/summary.json. "
        "Re-running into the same DIR resumes: cached tasks are skipped.",
    )
    sweep.add_argument("file", nargs="?", help="sweep file, or the name of a bundled sweep")
    sweep.add_argument("--out", type=Path, metavar="DIR", help="output directory (required)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_workers,
        default=2,
        metavar="N",
        help=f"worker processes of the local Dask cluster (default 2, at most {max_workers()})",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    sweep.add_argument(
        "--force",
        action="store_true",
        help="use a non-empty DIR that holds something else: a previous sweep's outputs are "
        "replaced, cached tasks and files no sweep wrote are kept",
    )
    sweep.add_argument("--fresh", action="store_true", help="clear DIR's cache: recompute all")
    sweep.add_argument(
        "--check", action="store_true", help="only validate the sweep and print its size"
    )
    sweep.add_argument("--list", action="store_true", help="list the bundled sweeps")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=sweep_command)
    return sweep


def max_workers() -> int:
    """At most 4 worker processes per CPU core (and at least 4 allowed): each one imports torch
    (~300 MB), and a sweep task keeps one core busy, so more only costs memory."""
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use (containers)
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return max(4, 4 * cores)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    limit = max_workers()
    if not 1 <= value <= limit:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {limit} (4 per CPU core), got {text!r}"
        )
    return value


def sweep_command(args: argparse.Namespace) -> int:
    """The `sandbox sweep` handler; returns the exit code."""
    from sandbox.errors import OutputError
    from sandbox.scenario.load import ScenarioError

    try:
        return _sweep(args)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "interrupted: finished tasks are cached; run the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:
        if type(exc).__name__ != "SweepError" and os.environ.get("SANDBOX_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _sweep(args: argparse.Namespace) -> int:
    from sandbox.sweep.spec import bundled_sweeps, find_sweep, load_sweep

    if args.list:
        return _list(bundled_sweeps())
    if args.file is None:
        print("error: sweep needs a FILE (or --list)", file=sys.stderr)
        return EXIT_INVALID
    sweep = load_sweep(find_sweep(args.file))
    size = (
        f"{len(sweep.variants)} variant(s) × {len(sweep.seeds)} seed(s) = "
        f"{len(sweep.tasks)} task(s)"
    )
    if args.check:
        print(f"{sweep.source}: ok, {size}")
        return EXIT_OK
    if args.out is None:
        print("error: sweep needs --out DIR", file=sys.stderr)
        return EXIT_INVALID
    missing = missing_sweep_extra()
    if missing:
        print(
            f"error: sandbox sweep needs the sweep extra ({', '.join(missing)} not installed): "
            "pip install 'loss-landscape-sandbox[sweep]'",
            file=sys.stderr,
        )
        return EXIT_INVALID
    from sandbox.sweep.engine import run_sweep

    progress = not args.quiet  # a bar on a terminal, else a line every few seconds
    result = run_sweep(
        sweep,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        force=args.force,
        fresh=args.fresh,
        progress=progress,
    )
    tasks = result.summary["tasks"]
    print(
        f"{sweep.title}: {size}; ran {tasks['ran']}, cached {tasks['cached']}, "
        f"failed {tasks['failed']} in {result.summary['seconds']['total']:.1f} s -> {args.out}"
    )
    for error in result.summary["errors"][:5]:
        print(
            f"  variant {error['variant']}, seed {error['seed']}: {error['error']}", file=sys.stderr
        )
    return EXIT_OK


def missing_sweep_extra() -> list[str]:
    """The sweep extra's modules that cannot be imported here (--check and --list need none)."""
    return [name for name in SWEEP_EXTRA_MODULES if importlib.util.find_spec(name) is None]


def _list(paths: list[Path]) -> int:
    import tomllib

    for path in paths:
        try:
            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (OSError, tomllib.TOMLDecodeError):
            title = "(unreadable)"
        print(f"{path.stem:<28} {title}")
    return EXIT_OK
