"""The `sandbox` command: run, replay, check, list.

Exit codes (the contract): 0 success, 1 anything else, 2 invalid input, 130 interrupted.
Bad input never shows a traceback; set SANDBOX_DEBUG=1 to see one for unexpected errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import tomllib
from pathlib import Path

from sandbox.errors import OutputError
from sandbox.scenario.load import ScenarioError

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if isinstance(exc, ScenarioError):
            print(exc, file=sys.stderr)
            return EXIT_INVALID
        if isinstance(exc, OutputError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (SANDBOX_DEBUG=1 shows details)", file=sys.stderr
        )
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox", description="Watch optimisers navigate loss landscapes."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    replay = commands.add_parser("replay", help="run a scenario headless and write its outputs")
    replay.add_argument("file", help="scenario file, or the name of a bundled scenario")
    replay.add_argument("--out", type=Path, help="output directory (required unless --compare)")
    replay.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    replay.add_argument(
        "--compare",
        type=Path,
        metavar="OLD_DIR",
        help="compare with an earlier replay; exit 1 if they differ",
    )
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(handler=_replay)

    check = commands.add_parser("check", help="validate scenario files")
    check.add_argument("files", nargs="+")
    check.set_defaults(handler=_check)

    listing = commands.add_parser("list", help="list the bundled scenarios")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="open the desktop app on a scenario")
    run.add_argument("file")
    run.set_defaults(handler=_run)
    return parser


def _replay(args: argparse.Namespace) -> int:
    from sandbox.compare import ATOL, RTOL, compare_dirs
    from sandbox.replayer import replay
    from sandbox.resources import find_scenario

    if args.out is None and args.compare is None:
        print("error: replay needs --out DIR (or --compare OLD_DIR)", file=sys.stderr)
        return EXIT_INVALID
    path = find_scenario(args.file)
    progress = not args.quiet and sys.stderr.isatty()
    if args.compare is None:
        replay(path, args.out, force=args.force, progress=progress, keep_arrays=False)
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="sandbox-compare-") as scratch:
        out = args.out if args.out is not None else Path(scratch) / "new"
        replay(path, out, force=args.force, progress=progress, keep_arrays=False)
        report = compare_dirs(args.compare, out)
    if not report:
        print(f"same as {args.compare} (within rtol {RTOL:g}, atol {ATOL:g})")
        return EXIT_OK
    print(f"differs from {args.compare} (rtol {RTOL:g}, atol {ATOL:g}):")
    for line in report:
        print(f"  {line}")
    return EXIT_ERROR


def _check(args: argparse.Namespace) -> int:
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import ScenarioError, load_scenario

    status = EXIT_OK
    for name in args.files:
        path = find_scenario(name)
        try:
            load_scenario(path)
            print(f"{path}: ok")
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INVALID
    return status


def _list(args: argparse.Namespace) -> int:
    from sandbox.resources import bundled_scenarios

    for path in bundled_scenarios():
        try:
            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (OSError, tomllib.TOMLDecodeError):
            title = "(unreadable)"
        print(f"{path.stem:<28} {title}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    print(
        "error: the desktop window is not built yet; use `sandbox replay FILE --out DIR`",
        file=sys.stderr,
    )
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
