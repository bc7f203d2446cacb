"""'Save as' for a scenario that came from a file: the file's own TOML edited in place, so the
user's comments, key order and spacing survive and only what the edits changed is rewritten.

The edits are found by comparing the file's scenario with the edited one, both as the plain data
"Save as" would write: a changed value is replaced where it stands, a removed key or run is
deleted, a new key is added at the end of its table and a new run where it belongs in the list.
A key the file writes at its default value is in neither side, so it stays as written.
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT


def edited_text(text: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """TOML `text`, which says `before`, edited in place to say `after` (plain data as "Save as"
    writes it). Raises ValueError, or LookupError or TypeError for a layout it cannot edit."""
    try:
        document = tomlkit.parse(text)
        _merge(document, before, after, root=True)
    except TOMLKitError as exc:
        raise ValueError(str(exc)) from None
    return document.as_string()


def _merge(table: Any, before: dict, after: dict, root: bool = False) -> None:
    """Make the tomlkit `table` (written as `before`) say `after`, touching only differences."""
    for key in before:
        if key not in after and key in table:
            del table[key]
    for key, value in after.items():
        old = before.get(key)
        if key in before and old == value:
            continue
        current = table.get(key) if key in table else None
        if isinstance(value, dict) and isinstance(old, dict) and isinstance(current, dict):
            _merge(current, old, value)
        elif _is_table_list(value) and _is_table_list(old) and isinstance(current, list):
            _merge_list(current, old, value)
        else:
            table[key] = value if root else _inline(value)


def _merge_list(array: Any, before: list[dict], after: list[dict]) -> None:
    """Runs or timeline events: unchanged entries stay as written, a changed one is merged key by
    key, removed ones go and new ones are inserted where they stand in `after`."""
    prints = SequenceMatcher(None, [_print(x) for x in before], [_print(x) for x in after], False)
    # From the end, so the indexes of the entries still to visit do not move.
    for tag, i1, i2, j1, j2 in reversed(prints.get_opcodes()):
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                _merge(array[i], before[i], after[j])
            continue
        for i in reversed(range(i1, i2)):
            del array[i]
        for offset, j in enumerate(range(j1, j2)):
            array.insert(i1 + offset, _entry(array, i1 + offset, after[j]))


def _entry(array: Any, index: int, value: dict) -> Any:
    if not isinstance(array, AoT):
        return _inline(value)  # a list of inline tables gets one more
    table = tomlkit.table()
    for key, item in value.items():
        table.add(key, _inline(item))
    # Set apart by blank lines, as scenario files write their [[runs]] and [[timeline]].
    if index > 0 and not array[index - 1].as_string().endswith("\n\n"):
        table.trivia.indent = "\n"
    table.add(tomlkit.nl())
    return table


def _inline(value: Any) -> Any:
    """`value` as an inline TOML value: nested tables stay on the key's line."""
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update({key: _inline(item) for key, item in value.items()})
        return inline
    if isinstance(value, list):
        return [_inline(item) for item in value]
    return value


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, dict) for x in value)


def _print(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
