"""CLI and API conventions (issue 21, part of deliverable 5): `sandbox --version`, and
`sandbox.replay` taking a bundled scenario's name as `sandbox replay` does, TOML text, its
parsed data and overrides in a sweep's key syntax; `--frames N` a count in every command."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest

import sandbox
from sandbox.cli import main


def test_version_is_the_installed_distributions():
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sandbox {version('loss-landscape-sandbox')}"


def test_replay_takes_a_bundled_name_like_the_command():
    by_name = sandbox.replay("saddle")
    by_path = sandbox.replay(sandbox.load_scenario(__import__("sandbox.resources").resources
                                                   .find_scenario("saddle")))  # fmt: skip
    assert by_name.summary == by_path.summary


def test_an_unknown_name_is_a_scenario_error():
    with pytest.raises(sandbox.ScenarioError, match="no_such_scenario"):
        sandbox.replay("no_such_scenario")


def test_parse_scenario_is_public():
    scenario = sandbox.parse_scenario(
        'title = "t"\nsteps = 3\n[landscape]\nkind = "analytic"\nsurface = "quadratic"\n'
        '[[runs]]\nname = "a"\noptimizer = "gd"\nlr = 0.1\n'
    )
    assert sandbox.replay(scenario).summary["runs"][0]["steps_done"] == 3


TINY = """title = "t"
steps = 3
[landscape]
kind = "analytic"
surface = "quadratic"
[[runs]]
name = "a"
optimizer = "gd"
lr = 0.1
"""


def test_replay_takes_toml_text_and_its_data_alike():
    data = tomllib.loads(TINY)
    by_text, by_data = sandbox.replay(TINY), sandbox.replay(data)
    assert by_text.summary == by_data.summary
    assert by_text.summary["runs"][0]["steps_done"] == 3
    assert data == tomllib.loads(TINY)  # the caller's dict is not changed


def test_overrides_set_dotted_keys_as_a_sweep_writes_them():
    result = sandbox.replay(TINY, overrides={"steps": 5, "runs.*.lr": 0.2})
    assert result.summary["runs"][0]["steps_done"] == 5
    assert list(result.runs["a"].lr) == [0.2] * 6  # steps 0..5
    named = sandbox.replay("saddle", overrides={"runs.0.lr": 0.01})
    assert named.runs[named.scenario.runs[0].name].lr[0] == 0.01


@pytest.mark.parametrize(
    ("source", "overrides", "message"),
    [
        (TINY.replace("lr = 0.1", "lr = -1"), None, "<text>:9: runs[0].lr: Input should be"),
        (TINY, {"runs.0.lr": -1}, "overrides: runs[0].lr: Input should be greater than 0"),
        (TINY.replace("lr = 0.1", "lr = -1"), {"steps": 4}, "<text>:9: runs[0].lr: Input"),
        (TINY, {"runs.3.lr": 1}, "overrides: runs.3.lr: runs has 1 element(s); there is no [3]"),
        (TINY, {"nope": 1}, "overrides: nope: 'nope' is not a scenario key"),
        ({"title": "x"}, None, "<dict>: steps: required key is missing"),
        ("title = \nsteps = 3", None, "<text>:1: TOML syntax error"),
    ],
)
def test_bad_text_data_or_overrides_name_where(source, overrides, message):
    with pytest.raises(sandbox.ScenarioError) as error:
        sandbox.replay(source, overrides=overrides)
    assert message in str(error.value)


def test_a_loaded_scenario_takes_no_overrides():
    with pytest.raises(TypeError, match="overrides need a file"):
        sandbox.replay(sandbox.parse_scenario(TINY), overrides={"steps": 4})


def test_the_old_frame_count_still_works_with_a_note(tmp_path, capsys):
    args = ["--frames", "--frame-count", "3", "--size", "64x48", "--quiet"]
    assert main(["replay", "saddle", "--out", str(tmp_path / "o"), *args]) == 0
    assert len(list((tmp_path / "o" / "frames").glob("frame_*.png"))) == 3
    assert capsys.readouterr().err == (
        "sandbox replay: --frame-count is deprecated; use --frames N (PNG frames) or "
        "--video-frames N (the video)\n"
    )


@pytest.mark.parametrize(
    ("args", "pngs", "video"),
    [
        (["--frames"], 120, 120),  # the contract's bare switch
        (["--frames", "7"], 7, 7),
        (["--video", "v.gif", "--video-frames", "9"], None, 9),
        (["--frames", "7", "--video", "v.gif", "--video-frames", "9"], 7, 9),
        (["--frames", "--frame-count", "5", "--video", "v.gif"], 5, 5),  # the old spelling
        (["--video", "v.gif", "--frame-count", "5"], None, 5),
    ],
)
def test_one_count_for_frames(args, pngs, video):
    from sandbox.cli.commands import _frame_counts
    from sandbox.cli.parser import build_parser

    parsed = build_parser().parse_args(["replay", "saddle", "--out", "o", *args])
    assert _frame_counts(parsed) == (pngs, video)


def test_a_file_after_a_bare_frames_gets_a_hint(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--out", "o", "--frames", "saddle"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--frames: must be a whole number, got 'saddle' (for 120 frames, put FILE before" in err
