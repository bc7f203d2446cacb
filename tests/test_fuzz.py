"""Mutation fuzzing of the bundled scenarios: every case is valid or a clean ScenarioError.

Deterministic (seeded) mutations, so a failure reproduces: the case number is in the test id.
The loader gets 600 cases; so does `sandbox check` in-process, a third of them also mutated
at the byte level; a sample of the ones that stay valid and cheap is also replayed.
"""

from __future__ import annotations

import random
import re

import pytest

from sandbox.cli import main
from sandbox.resources import bundled_scenarios
from sandbox.scenario.load import ScenarioError, parse_scenario
from sandbox.scenario.schema import NetworkLandscape

CASES = 600
TOKENS = [
    '"300"',
    "-1",
    "0",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "true",
    "[]",
    "[1, 2, 3]",
    "{}",
    "{ a = 1 }",
    '"gd"',
    '"network"',
    "1e12",
    "99999999999999999999",
    '""',
    "[[1, 0], [0, 1]]",
    "0.5",
    '"\\u0000"',
    "[nan, 1]",
    '"../../etc/passwd"',
    "2024-01-01",
    "3.5",
]
VALUE_LINE = re.compile(r"^(\s*[\w.\"-]+\s*=\s*)(.+)$")


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        kind = rng.choice(["value", "value", "value", "delete", "duplicate", "truncate", "key"])
        if kind == "value" and VALUE_LINE.match(lines[i]):
            lines[i] = VALUE_LINE.sub(lambda m: m.group(1) + rng.choice(TOKENS), lines[i])
        elif kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "truncate":
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif kind == "key" and "=" in lines[i]:
            lines[i] = "zz_" + lines[i].lstrip()
        if not lines:
            break
    return "\n".join(lines) + "\n"


def cases() -> list[tuple[int, str, str]]:
    sources = [(p.name, p.read_text(encoding="utf-8")) for p in bundled_scenarios()]
    rng = random.Random(1234)
    out = []
    for case in range(CASES):
        name, text = sources[case % len(sources)]
        out.append((case, name, mutate(text, rng)))
    return out


CASE_LIST = cases()


def test_loader_never_raises_anything_but_scenario_error():
    valid = 0
    for case, name, text in CASE_LIST:
        try:
            parse_scenario(text, name)
            valid += 1
        except ScenarioError as exc:
            for problem in exc.problems:
                assert problem.file == name and problem.reason, (case, str(problem))
        except Exception as exc:  # noqa: BLE001 - this is what the test hunts for
            pytest.fail(f"case {case} ({name}): {type(exc).__name__}: {exc}\n{text}")
    assert 0 < valid < CASES  # the mutations exercise both outcomes


def cheap(text: str) -> bool:
    try:
        scenario = parse_scenario(text)
    except ScenarioError:
        return True  # invalid files are cheap: they exit 2 at once
    if isinstance(scenario.landscape, NetworkLandscape):
        return False
    return scenario.steps <= 2000 and not any(r.sharpness_every for r in scenario.runs)


@pytest.mark.slow
def test_replay_exits_0_or_2_and_never_looks_complete_when_it_fails(tmp_path, capsys):
    sample = [c for c in CASE_LIST if cheap(c[2])][:60]
    for case, _, text in sample:
        path = tmp_path / f"case{case}.toml"
        path.write_text(text, encoding="utf-8")
        out = tmp_path / f"out{case}"
        code = main(["replay", str(path), "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code in (0, 2), (case, code, err)
        assert "Traceback" not in err
        assert (out / "summary.json").exists() == (code == 0), case


BYTE_MUTATIONS = [
    lambda data, at: data[:at] + b"\xff\xfe" + data[at:],  # not UTF-8
    lambda data, at: data[:at] + b"\x00" + data[at:],
    lambda data, at: b"\xef\xbb\xbf" + data,  # a byte-order mark
    lambda data, at: data.replace(b"\n", b"\r\n"),
    lambda data, at: data[:at] + "λ".encode()[:1],  # cut inside a character
]


def file_cases() -> list[tuple[int, bytes]]:
    """The loader's cases as file contents; every third one also mutated at the byte level."""
    rng = random.Random(99)
    out = []
    for case, _, text in CASE_LIST:
        data = text.encode()
        if case % 3 == 0:
            data = rng.choice(BYTE_MUTATIONS)(data, rng.randrange(len(data) + 1))
        out.append((case, data))
    return out


def test_check_command_exits_0_or_2_and_names_the_file(tmp_path, capsys):
    """`sandbox check` in-process on every case: exit 0 (valid) or 2, one message, no traceback."""
    codes = {}
    for case, data in file_cases():
        path = tmp_path / f"case{case}.toml"
        path.write_bytes(data)
        code = main(["check", str(path)])
        out, err = capsys.readouterr()
        assert code in (0, 2) and "Traceback" not in out + err, (case, code, err)
        assert (out == f"{path}: ok\n") if code == 0 else (str(path) in err and not out), case
        codes[case] = code
    assert set(codes.values()) == {0, 2}
    # All files in one call: exit 2 if any is invalid, and each valid one is reported.
    paths = [str(tmp_path / f"case{case}.toml") for case in codes]
    assert main(["check", *paths]) == 2
    assert capsys.readouterr().out.count(": ok\n") == list(codes.values()).count(0)
