"""A sweep parameter's key path: a scenario key path (`sandbox.scenario.paths`) other than the
seed, which `sweep.seeds` varies."""

from __future__ import annotations

from sandbox.scenario import paths
from sandbox.scenario.paths import PathError, Segment, assign, covers

__all__ = ["PathError", "assign", "covers", "parse_path"]

FIXED = {"seed": "the seed is varied by sweep.seeds, not by a parameter"}


def parse_path(text: str) -> tuple[Segment, ...]:
    """Split "runs.0.lr" into ("runs", 0, "lr"); PathError for a malformed path or the seed."""
    return paths.parse_path(text, FIXED)
