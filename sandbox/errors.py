"""Errors the command line turns into exit codes (kept import-light on purpose)."""

from __future__ import annotations


class OutputError(Exception):
    """The output directory cannot be used (exists, not writable, ...): exit 1, one line."""


class BadInput(Exception):
    """Input other than a scenario file that cannot be used (a malformed baseline): exit 2."""


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so that a replay unwinds and removes what it staged."""
