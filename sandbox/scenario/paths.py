"""Dotted key paths into a scenario's data: "runs.0.lr", "runs.*.lr", "landscape.params.kappa".

A sweep's parameters and `sandbox.replay(..., overrides=...)` both name keys this way. A path
is parsed once (`parse_path`) and then assigned into a plain dict of TOML data (`assign`),
before the result is validated as a scenario. Segments are table keys, array
indices (0, 1, ...) or `*` (every element of an array). Missing tables along the way are
created, so "landscape.params.kappa" works on a base without a `params` table; a missing array
element is an error. Assigning copies only the tables and arrays on the way to what it sets
(copy on write): every variant of a sweep shares the rest with the base, and a table no
parameter touches stays the very same object (`base.Prevalidated` relies on that).
"""

from __future__ import annotations

import copy
import re
from typing import Any

_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]{0,5}|\*)$")

Segment = str | int


class PathError(ValueError):
    """A key path that is malformed or does not fit the scenario it is applied to."""


def parse_path(text: str, fixed: dict[str, str] | None = None) -> tuple[Segment, ...]:
    """Split "runs.0.lr" into ("runs", 0, "lr"); raise PathError for a malformed path, or one
    into a top-level key of `fixed` (key -> why it cannot be set here)."""
    fixed = fixed or {}
    parts = text.split(".")
    for part in parts:
        if not _SEGMENT.match(part):
            raise PathError(
                f"{part!r} is not a key, an index or '*' (a path looks like "
                '"runs.0.lr", "runs.*.lr" or "landscape.params.kappa")'
            )
    if parts[0] in fixed:
        raise PathError(fixed[parts[0]])
    top_level = [key for key in top_level_keys() if key not in fixed]
    if parts[0] not in top_level:
        raise PathError(f"{parts[0]!r} is not a scenario key (allowed: {', '.join(top_level)})")
    return tuple(int(p) if p.isdigit() else p for p in parts)


def top_level_keys() -> list[str]:
    """The scenario's top-level keys."""
    from sandbox.scenario.schema import Scenario

    return list(Scenario.model_fields)


def format_path(path: tuple[Segment, ...]) -> str:
    """("runs", 0, "lr") -> "runs.0.lr" (the form a sweep file uses)."""
    return ".".join(str(p) for p in path)


def assign(data: dict, path: tuple[Segment, ...], value: Any) -> list[tuple]:
    """Set `value` at `path` in `data`; return the concrete paths that were set.

    `data` itself is changed in place; the tables and arrays below it on the way to the target
    are replaced by shallow copies first, so whatever else holds them is left unchanged.
    `*` expands to every element of an array, so ("runs", "*", "lr") on a scenario with two
    runs returns [("runs", 0, "lr"), ("runs", 1, "lr")]. Each target gets its own copy of
    `value`.
    """
    return _assign(data, path, value, ())


def _assign(node: Any, path: tuple, value: Any, here: tuple) -> list[tuple]:
    head, rest = path[0], path[1:]
    if head == "*" or isinstance(head, int):
        if not isinstance(node, list):
            raise PathError(f"{_where(here)} is not an array, so it has no element {head}")
        if head != "*" and head >= len(node):
            raise PathError(f"{_where(here)} has {len(node)} element(s); there is no [{head}]")
        indices = range(len(node)) if head == "*" else [head]
        return [p for i in indices for p in _set(node, i, rest, value, (*here, i))]
    if not isinstance(node, dict):
        raise PathError(f"{_where(here)} is not a table, so it has no key {head!r}")
    if rest and head not in node:
        node[head] = {}
    return _set(node, head, rest, value, (*here, head))


def _set(container: Any, key: Segment, rest: tuple, value: Any, here: tuple) -> list[tuple]:
    if rest:
        child = container[key]
        if isinstance(child, dict | list):
            container[key] = child = copy.copy(child)  # copy on write: see the module's doc
        return _assign(child, rest, value, here)
    container[key] = copy.deepcopy(value)
    return [here]


def _where(path: tuple) -> str:
    return format_path(path) if path else "the scenario"


def covers(pattern: tuple, path: tuple) -> bool:
    """Whether a concrete problem `path` lies at or below what `pattern` (may hold `*`) sets."""
    if len(path) < len(pattern):
        return False
    return all(p == "*" or p == q for p, q in zip(pattern, path, strict=False))
