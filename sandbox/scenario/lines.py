"""Line numbers of key paths in a TOML document, for error messages.

tomllib reports positions only for syntax errors, so after a successful parse we scan the text
once more and remember where each table header and key starts. Nested inline tables and
multi-line arrays map to the line of the key that opens them, which is what a user looks for.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)
_MULTILINE_STRING = re.compile(r'("""|\'\'\')')


def _split_dotted(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', key)
    return tuple(next(p for p in groups if p) if any(groups) else "" for groups in parts)


def _resolve_arrays(path: tuple, array_counts: dict[tuple, int]) -> tuple:
    # [runs.schedule] after the second [[runs]] means ("runs", 1, "schedule").
    resolved: tuple = ()
    for part in path:
        resolved = (*resolved, part)
        bare = tuple(p for p in resolved if not isinstance(p, int))
        if bare in array_counts and part != path[-1]:
            resolved = (*resolved, array_counts[bare] - 1)
    return resolved


def key_lines(text: str) -> dict[tuple, int]:
    """Map each key path, e.g. ("runs", 1, "lr"), to the 1-based line where it is written."""
    lines: dict[tuple, int] = {}
    array_counts: dict[tuple, int] = {}
    table: tuple = ()
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            in_string = len(_MULTILINE_STRING.findall(line)) % 2 == 0
            continue
        header = _HEADER.match(line)
        if header and "=" not in line.split("]")[0]:
            path = _resolve_arrays(_split_dotted(header.group(2)), array_counts)
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_split_dotted(key.group(1))), number)
            in_string = len(_MULTILINE_STRING.findall(line)) % 2 == 1
    return lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of the longest prefix of `path` that was written in the file, or None."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
