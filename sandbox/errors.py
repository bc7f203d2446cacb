"""Errors the command line turns into exit codes (kept import-light on purpose)."""

from __future__ import annotations


class OutputError(Exception):
    """The output directory cannot be used (exists, not writable, ...): exit 1, one line."""
