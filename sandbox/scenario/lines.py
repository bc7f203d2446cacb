"""Line numbers of key paths in a TOML document, for error messages, and the shape limits
checked before tomllib sees the text.

tomllib reports positions only for syntax errors, so after a successful parse we scan the text
once more and remember where each table header and key starts. Nested inline tables and
multi-line arrays map to the line of the key that opens them, which is what a user looks for.

A small tokenizer finds strings, comments and brackets, so that a row of a multi-line array
(`  [1.0, 2.0]]`) is not taken for a table header, and quotes inside a string (three double
quotes in a literal string) do not start one. The same pass enforces the limits below: tomllib
recurses once per nested array or inline table (RecursionError on deep input), and its memory and
time grow with the square of the number of parts of a dotted key (30,000 parts take 3.5 GB).
"""

from __future__ import annotations

import re

MAX_DEPTH = 32  # nested arrays / inline tables; scenarios use 3
MAX_KEY_PARTS = 16  # parts of one dotted key; scenarios use 2

# Possessive quantifiers (++, *+): a long line that does not match fails in linear time instead of
# backtracking (a 1 MiB "a.a.a..." line with no "=" took minutes).
_PART = r"""(?:[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""  # of a dotted key
_HEADER = re.compile(r"[ \t]*+(\[\[?+)([^\]]*+)\]")
_KEY = re.compile(rf"[ \t]*+({_PART}(?:[ \t]*+\.[ \t]*+{_PART})*+)[ \t]*+=")
_CANDIDATE = re.compile(r"^[ \t]*+[\[A-Za-z0-9_\"'-]", re.MULTILINE)
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


def _covered(text: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level bracket pair or string, in order: a line that begins
    strictly inside one continues a value, and holds no key or header."""
    spans, opened = [], None
    for kind, start, end, depth in _tokens(text):
        if kind == "open" and depth == 1:
            opened = start
        elif kind == "close" and depth == 0 and opened is not None:
            spans.append((opened, end))
            opened = None
        elif kind == "string" and depth == 0:
            spans.append((start, end))
    if opened is not None:
        spans.append((opened, len(text)))
    return spans


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
    spans = iter(_covered(text))
    span = next(spans, None)
    number, counted = 1, 0
    # Only lines that can hold a key or header; TOML ends lines at "\n" only, as "^" does here.
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        number, counted = number + text.count("\n", counted, start), start
        while span is not None and span[1] <= start:
            span = next(spans, None)
        if span is not None and span[0] < start < span[1]:
            continue
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        header = _HEADER.match(line) if line.lstrip().startswith("[") else None
        if header:
            parts = _split_dotted(header.group(2).strip())
            if len(parts) > MAX_KEY_PARTS:
                continue  # not a valid file; keeps _resolve_arrays linear
            path = _resolve_arrays(parts, array_counts)
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        parts = _split_dotted(key.group(1)) if key else ()
        if len(parts) <= MAX_KEY_PARTS:
            # a.b = 1 also writes the table a: its unknown-key message needs a line too
            for end in range(1, len(parts) + 1):
                lines.setdefault((*table, *parts[:end]), number)
    return lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of the longest prefix of `path` that was written in the file, or None."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
