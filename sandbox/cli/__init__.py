"""The `sandbox` command: run, replay, check, list.

Exit codes (the contract): 0 success, 1 anything else, 2 invalid input, 3 no usable OpenGL,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM during a replay).
Bad input never shows a traceback; set SANDBOX_DEBUG=1 to see one for unexpected errors.
The parser is built in `sandbox.cli.parser`, the subcommands run in `sandbox.cli.commands`.
"""

from __future__ import annotations

import os
import sys

from sandbox.cli.commands import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NO_OPENGL,
    EXIT_OK,
    EXIT_TERMINATED,
)
from sandbox.cli.parser import VIDEO_TYPES, build_parser
from sandbox.errors import BadInput, OutputError, Terminated
from sandbox.scenario.load import ScenarioError

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_NO_OPENGL",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "VIDEO_TYPES",
    "build_parser",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if isinstance(exc, ScenarioError):
            print(exc, file=sys.stderr)
            return EXIT_INVALID
        if isinstance(exc, OutputError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, BadInput):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        if type(exc).__name__ == "NoOpenGL":  # not imported here: keeps moderngl off `check`
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_NO_OPENGL
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (SANDBOX_DEBUG=1 shows details)", file=sys.stderr
        )
        return EXIT_ERROR
