"""Where each table header and top-level key of a TOML text starts, from tomlkit's parser
(sandbox.scenario.lines turns them into the lines of key paths).

tomlkit has no public positions. A subclass of its parser hooks the two methods that parse a
table header and a key-value pair, and notes the source offset as the parser reaches each: what
counts as a header or a key is the parser's call, not a pattern's, so a multi-line array's last
row (`  [1.0, 2.0]]`) is no header and three double quotes in a literal string start nothing.
The hooks use tomlkit's private methods: pyproject.toml pins its minor version, and
tests/test_hostile_files.py checks the lines.
"""

from __future__ import annotations

from tomlkit.exceptions import TOMLKitError
from tomlkit.items import SingleKey
from tomlkit.parser import Parser


def starts(text: str) -> list[tuple[int, str, tuple[str, ...]]] | None:
    """(offset, kind, key parts) of each table header ("[" or "[[") and top-level key ("="), in
    file order; None if tomlkit cannot parse `text`."""
    parser = _LocatingParser(text)
    try:
        parser.parse()
    except (TOMLKitError, RecursionError):
        return None
    return parser.found


class _LocatingParser(Parser):
    """tomlkit's parser, noting where each table header and top-level key starts, in file order.

    Each key is handed back under a name of its own: assembling the document merges keys that
    share a table, which is quadratic (a 21 KB table of interleaved dotted keys took 11 s), and
    tomllib has already checked the document, so only the positions are wanted.
    """

    def __init__(self, text: str):
        super().__init__(text)
        self.found: list[tuple[int, str, tuple[str, ...]]] = []  # (offset, kind, key parts)
        self._depth = 0  # key-value pairs being parsed: more than one is inside an inline table
        self._handed_back = 0

    def _unique_key(self) -> SingleKey:
        self._handed_back += 1
        return SingleKey(str(self._handed_back))

    def _parse_table(self, parent_name=None, parent=None):
        is_array, key = self._peek_table()
        self.found.append((self._idx, "[[" if is_array else "[", tuple(k.key for k in key)))
        unique = self._unique_key()
        return unique, super()._parse_table(parent_name, parent)[1]

    def _parse_key_value(self, parse_comment=False):
        start, self._depth = self._idx, self._depth + 1
        try:
            key, value = super()._parse_key_value(parse_comment)
        finally:
            self._depth -= 1
        if self._depth == 0:  # keys inside an inline table map to the key that opens it
            self.found.append((start, "=", tuple(k.key for k in key)))
        return self._unique_key(), value
