"""Hostile scenario and deck files: each is refused with one clean message before anything runs.

A corpus of (case, file, exit code, message fragment) goes through `sandbox check` in-process;
the cases that would hang an unfixed loader (a FIFO) run in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandbox.app.lecture import playlist
from sandbox.cli import main
from sandbox.resources import find_scenario
from sandbox.scenario import load
from sandbox.scenario.lines import (
    MAX_DEPTH,
    MAX_KEY_PARTS,
    MAX_LOCATED_MARKS,
    key_lines,
    line_of,
)
from sandbox.scenario.load import MAX_FILE_BYTES, MAX_PROBLEMS_SHOWN, ScenarioError

SADDLE = find_scenario("saddle").read_text(encoding="utf-8")
SMALL = textwrap.dedent(
    """\
    title = "small"
    steps = 10

    [landscape]
    kind = "analytic"
    surface = "quadratic"
    bounds = [
      [-2.0, 2.0],
      [-1.8, 1.8]
    ]
    params = { l1 = "steep" }

    [[runs]]
    name = "a"
    optimizer = "gd"
    lr = 0.1
    """
)  # the error is on line 11, after a multi-line array whose last row has a line of its own


LAST = SADDLE.count("\n") + 1  # the line after the last one


def padded(size: int) -> bytes:
    """A valid scenario padded with a comment to exactly `size` bytes."""
    data = SADDLE.encode()
    return data + b"#" + b"x" * (size - len(data) - 2) + b"\n"


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return "x = " + open_ * depth + close * depth + "\n"


# (case, file contents or a path to check as it is, exit code, fragment of the message)
CORPUS = [
    # 1. only regular files, and not too large
    ("device", Path("/dev/zero"), 2, "/dev/zero: cannot read file: not a regular file (a device)"),
    ("directory", Path("."), 2, ".: cannot read file: not a regular file (a directory)"),
    ("missing", Path("no/such/file.toml"), 2, "cannot read file: No such file or directory"),
    ("over-limit", padded(MAX_FILE_BYTES + 1), 2, "cannot read file: larger than 1 MiB, the size"),
    ("at-limit", padded(MAX_FILE_BYTES), 0, ": ok"),
    ("not-utf8", SADDLE.encode() + b"# \xff\n", 2, f":{LAST}: cannot read file: 'utf-8' codec"),
    # 2. a byte-order mark, as a Windows editor writes it
    ("bom", b"\xef\xbb\xbf" + SADDLE.encode(), 0, ": ok"),
    ("bom-crlf", b"\xef\xbb\xbf" + SADDLE.replace("\n", "\r\n").encode(), 0, ": ok"),
    # 3. nesting: refused by a pre-scan with its line, never a RecursionError
    ("deep-arrays", nested(2000), 2, ":1: arrays or inline tables nested more than 32 deep"),
    ("deep-tables", nested(2000, "{a=", "}"), 2, ":1: arrays or inline tables nested more"),
    ("deep-on-line-3", "a = 1\n\n" + nested(MAX_DEPTH + 1), 2, ":3: arrays or inline tables"),
    ("depth-at-limit", nested(MAX_DEPTH), 2, ":1: x: unknown key"),
    (
        "brackets-in-strings",
        SADDLE.replace('title = "', 'title = "' + "[{" * 40, 1)
        + "# "
        + "[" * 40
        + "\n"
        + "[[timeline]]\nat = 1\ncaption = '''\n"
        + "[" * 40
        + "\n'''\n",
        0,
        ": ok",
    ),
    # 4. dotted keys: tomllib's memory grows with the square of the parts (3.5 GB for 30,000)
    ("dotted-30000", "a" + ".a" * 29_999 + " = 1\n", 2, ":1: a dotted key has more than 16 parts"),
    ("dotted-quoted", '"a"' + '."a"' * 29_999 + " = 1\n", 2, ":1: a dotted key has more than"),
    ("dotted-header", "\n[a" + ".a" * 29_999 + "]\n", 2, ":2: a dotted key has more than 16"),
    ("dotted-inline", "x = { a" + ".a" * 29_999 + " = 1 }\n", 2, ":1: a dotted key has more"),
    ("dotted-at-limit", "a" + ".a" * (MAX_KEY_PARTS - 1) + " = 1\n", 2, ":1: a: unknown key"),
    # 5. messages: echoed values cut, control characters escaped, at most 50 problems shown
    (
        "huge-echo",
        SADDLE.replace("start = [1.5, 0.0]", "start = [" + "1, " * 300_000 + "1]", 1),
        2,
        "runs[0].start: Tuple should have at most 2 items after validation, not 300001 (got (1, 1",
    ),
    ("escape-in-key", SADDLE + '"\\u001b[2Kok" = 1\n', 2, ": timeline[2].\\x1b[2Kok: unknown key"),
    ("bidi-in-key", SADDLE + '"\\u202eko" = 1\n', 2, ": timeline[2].\\u202eko: unknown key"),
    (
        "many-problems",
        "".join(f"k{i} = {i}\n" for i in range(200)),
        2,
        f"... and {200 + 4 - MAX_PROBLEMS_SHOWN} more problems",  # + 4 required keys missing
    ),
    # 6. lines: a multi-line array's last row is no table header; a quote in a string is text
    ("array-row-alone", SMALL, 2, ":11: landscape.params.l1: Input should be a valid number"),
    (
        "array-row-closing",
        SMALL.replace("[-1.8, 1.8]\n]", "[-1.8, 1.8]]"),
        2,
        ":10: landscape.params.l1: Input should be a valid number",
    ),
    (
        "triple-quote-in-literal",
        SADDLE.replace("steps = 400", 'steps = \'"""\'').replace("lr = 0.05", 'lr = "fast"', 1),
        2,
        ":19: runs[0].lr: Input should be a valid number",
    ),
    (
        "triple-quote-in-multi-line-literal",
        SADDLE.replace(
            'title = "Jiggling free of a saddle"', "title = '''a \"\"\" b\nc'''"
        ).replace("lr = 0.05", 'lr = "fast"', 1),
        2,
        ":20: runs[0].lr: Input should be a valid number",
    ),
]


@pytest.mark.parametrize(
    ("case", "contents", "code", "fragment"), CORPUS, ids=[c[0] for c in CORPUS]
)
def test_hostile_file_is_refused_cleanly(
    tmp_path, monkeypatch, capsys, case, contents, code, fragment
):
    monkeypatch.chdir(tmp_path)
    if isinstance(contents, Path):
        path = contents
    else:
        path = tmp_path / f"{case}.toml"
        data = contents if isinstance(contents, bytes) else contents.encode()
        path.write_bytes(data)
    assert main(["check", str(path)]) == code
    out, err = capsys.readouterr()
    assert fragment in (out if code == 0 else err), (out + err)[:2000]
    assert "Traceback" not in err and "\x1b" not in err and "\u202e" not in err
    if code == 2:
        assert not out and err.startswith(f"{path}:")
        lines = err.splitlines()
        assert len(lines) <= MAX_PROBLEMS_SHOWN + 1 and max(map(len, lines)) < 500, lines[:3]


def test_echoed_values_are_cut_with_an_ellipsis(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SADDLE.replace("steps = 400", f'steps = "{"x" * 5000}"'), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:9: steps: Input should be a valid integer (got 'xxxx" in err
    assert err.rstrip().endswith("x…)") and len(err) < 200


def test_a_recursion_error_past_the_pre_scan_is_still_a_clean_problem(monkeypatch):
    monkeypatch.setattr(load, "shape_problem", lambda text: None)  # as if the pre-scan missed it
    with pytest.raises(ScenarioError, match=r"^s.toml: nested too deep to parse$"):
        load.parse_scenario(nested(5000), "s.toml")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    p = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "check", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,  # an open() that blocks fails the test instead of hanging it
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr == f"{fifo}: cannot read file: not a regular file (a FIFO)\n"


# --- decks: every entry is a bundled name or a regular, readable .toml file ---------------------


def deck_problem(tmp_path: Path, entry: str) -> str:
    deck = tmp_path / "deck.toml"
    deck.write_text(f'title = "t"\n\nscenarios = [\n  "saddle",\n  {entry},\n]\n', "utf-8")
    with pytest.raises(ScenarioError) as info:
        playlist([str(deck)])
    assert len(info.value.problems) == 1
    return str(info.value)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ('"/dev/zero"', "no scenario file or bundled scenario named '/dev/zero' (a file named in"),
        ('"/etc/passwd"', "no scenario file or bundled scenario named '/etc/passwd' (a file"),
        ('"../../../../dev/zero"', "named '../../../../dev/zero' (a file named in a deck must"),
        ('"folder.toml"', "cannot read 'folder.toml': not a regular file (a directory)"),
        ('"big.toml"', "cannot read 'big.toml': larger than 1 MiB, the size limit"),
        ('"gone.toml"', "cannot read 'gone.toml': No such file or directory"),
        ('"no_such_thing"', "no scenario file or bundled scenario named 'no_such_thing'"),
        ('"zero"', "no scenario file or bundled scenario named 'zero'"),
        ('"\\u001b[2K"', "no scenario file or bundled scenario named '\\x1b[2K'"),
    ],
)
def test_a_deck_names_only_scenario_files(tmp_path, monkeypatch, entry, reason):
    monkeypatch.chdir(tmp_path)  # an entry is never looked up from the working folder
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "big.toml").write_bytes(padded(MAX_FILE_BYTES + 1))
    (tmp_path / "zero").symlink_to("/dev/zero")  # not .toml: refused though it exists here
    message = deck_problem(tmp_path, entry)
    assert message.startswith(f"{tmp_path / 'deck.toml'}:3: scenarios[1]: ") and reason in message


def test_a_deck_takes_bundled_names_and_toml_files_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "canyon.toml").write_text(SADDLE, encoding="utf-8")
    deck = tmp_path / "deck.toml"
    deck.write_text('scenarios = ["saddle", "mine/canyon.toml", "learning_rate.toml"]\n', "utf-8")
    assert playlist([str(deck)]) == [
        find_scenario("saddle"),
        tmp_path / "mine" / "canyon.toml",
        find_scenario("learning_rate"),
    ]


def test_a_deck_naming_a_fifo_exits_2_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    deck = tmp_path / "deck.toml"
    deck.write_text('scenarios = ["pipe.toml"]\n', encoding="utf-8")
    p = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "present", str(deck), "--frames", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2, p.stderr
    assert (
        p.stderr
        == f"{deck}:1: scenarios[0]: cannot read 'pipe.toml': not a regular file (a FIFO)\n"
    )


# --- key_lines on its own -----------------------------------------------------------------------


def test_key_lines_skips_rows_and_strings_that_look_like_headers_or_quotes():
    text = textwrap.dedent(
        """\
        a = [
          [1.0, 2.0],
          [3.0]
        ]
        b = '\"\"\"'
        c = \"\"\"
        [not_a_table]
        d = 1
        \"\"\"
        [t]
        e = 1  # U+2028 in a comment is no line break: \u2028
        f = 1
        """
    )
    assert key_lines(text) == {
        ("a",): 1,
        ("b",): 5,
        ("c",): 6,
        ("t",): 10,
        ("t", "e"): 11,
        ("t", "f"): 12,
    }


def test_key_lines_stays_linear_on_a_long_line_that_is_no_key():
    text = "a." * (MAX_FILE_BYTES // 2)  # took over 7 minutes: the key pattern backtracked
    started = time.perf_counter()
    assert key_lines(text) == {}
    assert time.perf_counter() - started < 20  # ~0.4 s here


def test_key_lines_on_the_cases_a_line_pattern_got_wrong():
    # A multi-line array's closing row alone on its line was once read as a table header (the
    # params error was reported at [landscape]); three double quotes in a literal string once
    # opened a string that swallowed every later key.
    text = textwrap.dedent(
        """\
        title = '''a \"\"\" b'''
        note = 'say \"\"\"'

        [landscape]
        bounds = [
          [0.0, 1.0],
          [1.0, 2.0]]
        params = { l1 = "steep" }

        [[runs]]
        lr = 0.1
        """
    )
    lines = key_lines(text)
    assert dict(lines) == {
        ("title",): 1,
        ("note",): 2,
        ("landscape",): 4,
        ("landscape", "bounds"): 5,
        ("landscape", "params"): 8,
        ("runs", 0): 10,
        ("runs", 0, "lr"): 11,
    }
    assert line_of(lines, ("landscape", "params", "l1")) == 8  # inside an inline table: its key


def test_key_lines_stay_quick_on_the_slowest_input_found():
    # 1 MiB: a long comment (~1 s per MiB) and table headers just under the mark limit, which
    # tomlkit, assembling its document, took quadratic time over (5,000 interleaved dotted keys
    # in one table: minutes); 1.2 s on a quiet 2-core build machine, limit 5 s.
    pairs = MAX_LOCATED_MARKS // 4 - 1  # each pair has two "[" and two line ends
    headers = "".join(f"[a.x{i}]\n[b.y{i}]\n" for i in range(pairs))
    text = "#" + "x" * (MAX_FILE_BYTES - len(headers) - 2) + "\n" + headers
    started = time.perf_counter()
    assert key_lines(text)[("b", f"y{pairs - 1}")] == text.count("\n")
    assert time.perf_counter() - started < 5


def test_a_file_with_too_many_items_gets_its_problems_without_lines(tmp_path, capsys):
    path = tmp_path / "s.toml"
    rows = "".join(f"# {i}\n" for i in range(MAX_LOCATED_MARKS))  # one mark per line
    path.write_text(SADDLE.replace("lr = 0.05", 'lr = "fast"', 1) + rows, encoding="utf-8")
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: runs[0].lr: Input should be")
