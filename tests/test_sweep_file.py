"""Sweeps (issue 8), the sweep file: variants, grids and draws, errors at their file and line."""

from __future__ import annotations

import math
import re

import pytest
from sweep_cli import cli
from sweep_files import small_sweep

from sandbox.resources import find_scenario
from sandbox.scenario.load import ScenarioError
from sandbox.sweep.spec import bundled_sweeps, find_sweep, load_sweep, parse_sweep


def test_bundled_sweeps_validate_with_their_sizes():
    sizes = {path.stem: len(load_sweep(path).tasks) for path in bundled_sweeps()}
    assert sizes == {
        "edge_of_stability": 10,
        "gd_stability": 80,
        "heavy_ball": 49,
        "scaling_law": 28,
    }
    assert find_sweep("heavy_ball") == find_sweep("heavy_ball.toml")
    assert all(p.parent.name == "sweeps" for p in bundled_sweeps())  # kept out of `sandbox list`


def test_variants_apply_paths_wildcards_and_seeds(tmp_path):
    sweep = small_sweep(tmp_path)
    assert [len(sweep.variants), sweep.seeds, len(sweep.tasks)] == [4, (0, 1, 2), 12]
    assert sweep.variants[1].values == {"runs.*.lr": 0.02, "runs.1.noise": 0.3}
    task = sweep.tasks[1 * 3 + 2]  # variant 1, third seed
    assert (task.variant, task.seed) == (1, 2)
    assert [run["lr"] for run in task.scenario["runs"]] == [0.02] * 3
    assert [run.get("noise", 0.0) for run in task.scenario["runs"]] == [0.0, 0.3, 0.05]
    assert task.scenario["steps"] == 200 and task.scenario["seed"] == 2
    assert task.runs == ("GD", "GD + noise 0.3", "GD + noise 0.05")
    assert len({t.key for t in sweep.tasks}) == 12


def test_tables_are_created_and_runs_selected():
    sweep = parse_sweep("""
title = "t"
scenario = "learning_rate"
[sweep]
runs = ["ηλ = 1.5"]
metrics = ["final_loss"]
[sweep.set]
"landscape.params.angle" = 30.0
"runs.0.schedule.kind" = "cosine"
[sweep.params]
"landscape.params.l1" = { linspace = [1.0, 2.0], num = 3 }
""")
    assert [v.values["landscape.params.l1"] for v in sweep.variants] == [1.0, 1.5, 2.0]
    data = sweep.tasks[0].scenario
    assert [run["name"] for run in data["runs"]] == ["ηλ = 1.5"]
    assert data["runs"][0]["schedule"] == {"kind": "cosine"}
    assert data["landscape"]["params"] == {"l1": 1.0, "l2": 0.5, "angle": 30.0}


def test_grids_and_seeded_random_draws():
    text = """
title = "t"
scenario = "saddle"
[sweep]
samples = 5
sample_seed = {seed}
metrics = ["final_loss"]
[sweep.params]
"runs.*.lr" = {{ logspace = [0.001, 0.1], num = 3 }}
"runs.0.noise" = {{ uniform = [0.0, 1.0] }}
{extra}
"""
    sweep = parse_sweep(text.format(seed=7, extra=""))
    lrs = sorted({v.values["runs.*.lr"] for v in sweep.variants})
    assert lrs[0] == 0.001 and lrs[-1] == 0.1 and math.isclose(lrs[1], 0.01)
    assert len(sweep.variants) == 15
    noise = [v.values["runs.0.noise"] for v in sweep.variants[:5]]
    assert len(set(noise)) == 5 and all(0 <= x < 1 for x in noise)
    again = parse_sweep(text.format(seed=7, extra='"runs.1.noise" = { loguniform = [0.1, 1.0] }'))
    assert [v.values["runs.0.noise"] for v in again.variants[:5]] == noise  # independent draws
    other = parse_sweep(text.format(seed=8, extra=""))
    assert [v.values["runs.0.noise"] for v in other.variants[:5]] != noise


BASE = 'title = "t"\nscenario = "saddle"\n[sweep]\nmetrics = ["final_loss"]\n'


@pytest.mark.parametrize(
    ("tail", "line", "expected"),
    [
        ("typo = 1\n", 5, "sweep.typo: unknown key"),
        ('[sweep.params]\n"runs.x-y.lr" = [1.0]\n', 6, "is not a key, an index or '*'"),
        ('[sweep.params]\n"seed" = [1, 2]\n', 6, "the seed is varied by sweep.seeds"),
        ('[sweep.params]\n"runs.0.lr" = [0.1, 0.1]\n', 6, "the value 0.1 appears twice"),
        ('[sweep.params]\n"runs.0.lr" = { linspace = [0.1, 1.0] }\n', 6, "needs num ="),
        ('[sweep.params]\n"runs.0.lr" = { uniform = [0.1, 1.0] }\n', 5, "need sweep.samples"),
        (
            '[sweep.params]\n"runs.0.lr" = [0.1, -1.0]\n',
            6,
            "runs[0].lr: Input should be greater than 0 (got -1.0) (variant 1: runs.0.lr = -1.0)",
        ),
        ('[sweep.params]\n"runs.7.lr" = [0.1]\n', 6, "runs has 3 element(s); there is no [7]"),
        (
            '[sweep.set]\n"runs.*.betas" = [0.9, 0.99]\n',
            6,
            "runs[0].betas: has no effect with optimizer 'gd' (it applies to adam, adamw, lion) "
            "(variant 0: the base scenario)",
        ),
        ('[sweep.set]\n"runs.0.lr.x" = 1\n', 6, "runs.0.lr is not a table"),
        ('runs = ["nope"]\n', 5, "sweep.runs[0]: no run named 'nope'"),
        (
            '[[sweep.fit]]\nx = "runs.0.lr"\ny = "final_loss"\nmodel = "power"\n',
            6,
            "'runs.0.lr' is not a swept parameter",
        ),
    ],
)
def test_invalid_sweeps_name_file_line_and_key(tmp_path, tail, line, expected):
    path = tmp_path / "bad.toml"
    path.write_text(BASE + tail, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message, message


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ('["final_loss", "bogus"]', "sweep.metrics[1]: unknown metric 'bogus'"),
        ('["steps_to"]', "steps_to needs an argument, e.g. steps_to(1e-6)"),
        ('["steps_to(-1)"]', "argument must be a positive finite number"),
        ('["test_loss(100)"]', "test_loss(100) applies to network landscapes only"),
        ('["final_loss", "final_loss"]', "'final_loss' is listed twice"),
    ],
)
def test_invalid_metrics(tmp_path, metrics, expected):
    path = tmp_path / "bad.toml"
    path.write_text(f'title = "t"\nscenario = "saddle"\n[sweep]\nmetrics = {metrics}\n')
    with pytest.raises(ScenarioError, match=re.escape(expected)):
        load_sweep(path)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ('"../outside.toml"', "is outside this sweep file's folder and the bundled scenarios"),
        ('"/etc/passwd.toml"', "must be a bundled scenario's name or a relative path"),
        ('"no_such_scenario"', "no bundled scenario named 'no_such_scenario'"),
        ('"missing.toml"', "no scenario file 'missing.toml' next to this sweep file"),
    ],
)
def test_base_scenarios_stay_inside_allowed_folders(tmp_path, reference, expected):
    (tmp_path / "outside.toml").write_text(find_scenario("saddle").read_text())
    folder = tmp_path / "sweeps"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(f'title = "t"\nscenario = {reference}\n[sweep]\nmetrics = ["final_loss"]\n')
    with pytest.raises(ScenarioError, match=re.escape(expected)):
        load_sweep(path)


def test_a_base_next_to_the_sweep_and_problems_located_in_it(tmp_path):
    source = find_scenario("saddle").read_text()
    (tmp_path / "base.toml").write_text(source)
    sweep_file = tmp_path / "s.toml"
    sweep_file.write_text(
        'title = "t"\nscenario = "base.toml"\n[sweep]\nmetrics = ["final_loss"]\n'
        "[sweep.set]\nsteps = 200\n"
    )
    assert len(load_sweep(sweep_file).tasks) == 1
    # steps = 50 puts the timeline's step 60 after the end: reported at the base file's line.
    sweep_file.write_text(
        'title = "t"\nscenario = "base.toml"\n[sweep]\nmetrics = ["final_loss"]\n'
        "[sweep.set]\nsteps = 50\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep_file)
    line = source.splitlines().index("at = 60") + 1
    assert f"{tmp_path / 'base.toml'}:{line}: timeline[1].at: step 60 is after" in str(info.value)


def test_inline_base_problems_point_into_the_sweep_file():
    with pytest.raises(ScenarioError) as info:
        parse_sweep(
            'title = "t"\n[scenario]\ntitle = "x"\nsteps = 10\n[scenario.landscape]\n'
            'kind = "analytic"\nsurface = "saddle"\n[[scenario.runs]]\nname = "a"\n'
            'optimizer = "gd"\nlr = 0.1\nlearning_rate = 2\n[sweep]\n'
            'metrics = ["final_loss"]\n',
            "inline.toml",
        )
    assert str(info.value).startswith("inline.toml:12: scenario.runs[0].learning_rate: unknown key")


def test_cli_exit_codes_without_running(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + "typo = 1\n")
    assert cli(str(bad), "--out", str(tmp_path / "o")) == 2
    assert f"{bad}:5: sweep.typo: unknown key" in capsys.readouterr().err
    assert cli("gd_stability", "--check") == 0
    assert "80 variant(s) × 1 seed(s) = 80 task(s)" in capsys.readouterr().out
    assert cli("--list") == 0
    assert "heavy_ball" in capsys.readouterr().out
    assert cli("gd_stability") == 2  # no --out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert cli("gd_stability", "--out", str(foreign)) == 1
    assert "not empty and holds no earlier run of this sweep" in capsys.readouterr().err


def test_sweep_is_a_sandbox_command(capsys):
    from sandbox.cli import main

    assert main(["sweep", "--check", "heavy_ball"]) == 0
    assert "49 task(s)" in capsys.readouterr().out
