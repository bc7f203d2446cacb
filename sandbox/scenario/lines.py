"""Line numbers of key paths in a TOML document, for error messages, and the shape limits
checked before tomllib sees the text.

tomllib reports positions only for syntax errors, so where a problem needs a line the text is
parsed once more by tomlkit (toml_offsets), noting where each header and key starts: the parser,
not a pattern, decides that a multi-line array's last row (`  [1.0, 2.0]]`) is no table header
and that three double quotes in a literal string start nothing.

The limits are checked by a small tokenizer before tomllib runs: tomllib recurses once per
nested array or inline table (RecursionError on deep input), and its memory and time grow with
the square of the number of parts of a dotted key (30,000 parts take 3.5 GB). tomlkit stops at
100 of either by itself, but it is too slow to run on every load (see _KeyLines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_DEPTH = 32  # nested arrays / inline tables; scenarios use 3
MAX_KEY_PARTS = 16  # parts of one dotted key; scenarios use 2
# tomlkit's time grows with the items it meets, ~50-100 us each for keys, headers and array
# elements on a busy 2-core machine (a single 100 kB string is cheap), plus ~1 s per MiB of
# comment. A file with more of the characters that start or separate items than this gets its
# problems without lines. A scenario at the limits (1,000 timeline events, 16 runs) has ~7,000,
# the most in a bundled one is 184; the slowest input found at this limit, 1 MiB with 10,000
# table headers, took 1.2 s on a quiet 2-core machine (0.8 s with 2,500 headers).
MAX_LOCATED_MARKS = 20_000
_MARKS = ",=[{\n\\"

# Possessive quantifiers (++, *+): a long line that does not match fails in linear time instead of
# backtracking (a 1 MiB "a.a.a..." line with no "=" took minutes).
_PART = r"""(?:[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""  # of a dotted key
_TOKEN = re.compile(
    r"(?=[\[\]{}\"'#A-Za-z0-9_-])(?:"  # lets the regex engine skip other characters quickly
    # A chain of more parts than allowed is a key (no TOML value looks like it) or a typo.
    rf"(?P<long_key>(?<![A-Za-z0-9_-]){_PART}(?:[ \t]*+\.[ \t]*+{_PART}){{{MAX_KEY_PARTS},}})"
    r'|(?P<string>"""(?:[^"\\]++|\\[\s\S]|"(?!""))*+"""(?:"{0,2})'  # up to 2 quotes end the text
    r"|'''[\s\S]*?'''(?:'{0,2})"
    r'|"(?:[^"\\\n]++|\\.)*+"'
    r"|'[^'\n]*+')"
    r"|(?P<comment>#[^\n]*+)"
    r"|(?P<open>[\[{])|(?P<close>[\]}])"
    r"|(?P<unterminated>[\"']))"
)


def shape_problem(text: str) -> tuple[int, str] | None:
    """(line, reason) for nesting or a dotted key beyond the limits, checked before parsing."""
    for kind, start, _, depth in _tokens(text):
        if kind == "long_key":
            reason = f"a dotted key has more than {MAX_KEY_PARTS} parts (the limit)"
        elif depth > MAX_DEPTH:
            reason = f"arrays or inline tables nested more than {MAX_DEPTH} deep (the limit)"
        else:
            continue
        return text.count("\n", 0, start) + 1, reason
    return None


def _tokens(text: str):
    """(kind, start, end, bracket depth after it) of each string, comment and bracket."""
    depth = 0
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "unterminated":
            return  # a syntax error, which tomllib reports with its line
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
        yield kind, token.start(), token.end(), depth


def _resolve_arrays(path: tuple, array_counts: dict[tuple, int]) -> tuple:
    # [runs.schedule] after the second [[runs]] means ("runs", 1, "schedule").
    resolved: tuple = ()
    for part in path:
        resolved = (*resolved, part)
        bare = tuple(p for p in resolved if not isinstance(p, int))
        if bare in array_counts and part != path[-1]:
            resolved = (*resolved, array_counts[bare] - 1)
    return resolved


def too_many_items(text: str) -> bool:
    """Whether tomlkit may take long over `text` (more than MAX_LOCATED_MARKS item marks)."""
    return sum(map(text.count, _MARKS)) > MAX_LOCATED_MARKS


def _find_lines(text: str) -> dict[tuple, int]:
    if too_many_items(text):
        return {}
    from sandbox.scenario.toml_offsets import starts  # tomlkit: ~25 ms to import, when needed

    found = starts(text)
    if found is None:
        return {}  # text tomllib refused too: its syntax error carries the line
    lines: dict[tuple, int] = {}
    array_counts: dict[tuple, int] = {}
    table: tuple = ()
    number, counted = 1, 0
    for offset, kind, parts in found:
        number, counted = number + text.count("\n", counted, offset), offset
        if kind == "=":
            # a.b = 1 also writes the table a: its unknown-key message needs a line too
            for end in range(1, len(parts) + 1):
                lines.setdefault((*table, *parts[:end]), number)
            continue
        path = _resolve_arrays(parts, array_counts)
        if kind == "[[":
            index = array_counts.get(path, 0)
            array_counts[path] = index + 1
            table = (*path, index)
        else:
            table = path
        lines.setdefault(table, number)
    return lines


class _KeyLines(Mapping):
    """The key -> line map, built on first use: a file that loads cleanly is never looked up,
    and tomlkit's parse costs ~8 times tomllib's (about 2 ms for a 2 KB scenario)."""

    def __init__(self, text: str):
        self._text: str | None = text
        self._lines: dict[tuple, int] = {}

    def _built(self) -> dict[tuple, int]:
        if self._text is not None:
            self._lines, self._text = _find_lines(self._text), None
        return self._lines

    def __getitem__(self, path: tuple) -> int:
        return self._built()[path]

    def __iter__(self):
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def key_lines(text: str) -> Mapping[tuple, int]:
    """Map each key path, e.g. ("runs", 1, "lr"), to the 1-based line where it is written.
    Nested inline tables and multi-line arrays map to the line of the key that opens them, which
    is what a user looks for."""
    return _KeyLines(text)


def line_of(lines: Mapping[tuple, int], path: tuple) -> int | None:
    """The line of the longest prefix of `path` that was written in the file, or None."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
