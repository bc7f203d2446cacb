"""`sandbox sweep ...` in-process, through the parser `add_sweep_parser` builds (sweep tests)."""

from __future__ import annotations

import argparse

from sandbox.sweep.cli import add_sweep_parser


def cli(*argv: str) -> int:
    """Parse `sandbox sweep *argv` and run its handler; returns the exit code."""
    parser = argparse.ArgumentParser(prog="sandbox")
    add_sweep_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", *argv])
    return args.handler(args)
