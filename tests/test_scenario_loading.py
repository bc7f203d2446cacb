"""Scenario validation: every problem in one pass, each with file, line, key and reason."""

from __future__ import annotations

import textwrap

import pytest
from builders import analytic_toml, network_toml, run
from pydantic import ValidationError

from sandbox.landscape.mlp import FlatMLP
from sandbox.resources import bundled_scenarios
from sandbox.scenario.budget import count_parameters
from sandbox.scenario.load import ScenarioError, load_scenario, parse_scenario
from sandbox.scenario.schema import LIMITS, ModelSpec

# Tests below count on the builders' layout: their messages name lines of these texts.
VALID = analytic_toml(title="ok", params={"l1": 1.0, "l2": 2})  # one GD run "a" from (1, 0.5)
NETWORK = network_toml(title="net", runs=[run(optimizer="sgd", batch_size=16)])


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(textwrap.dedent(text), "s.toml")
    return [str(p) for p in info.value.problems]


def test_valid_file_gives_frozen_scenario():
    scenario = parse_scenario(VALID)
    assert scenario.steps == 10 and scenario.runs[0].start == (1.0, 0.5)
    with pytest.raises(ValidationError):
        scenario.steps = 5  # type: ignore[misc]


def test_every_problem_in_one_pass_with_lines():
    text = VALID.replace("steps = 10", 'steps = "300"').replace("lr = 0.1", "lr = nan")
    text += "\nlearning_rate = 3\n"
    found = problems(text)
    assert "s.toml:2: steps: Input should be a valid integer (got '300')" in found
    assert any(p.startswith("s.toml:12: runs[0].lr: must be a finite number") for p in found)
    assert any(p.startswith("s.toml:15: runs[0].learning_rate: unknown key") for p in found)
    assert len(found) == 3


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("steps = 10", "steps = 0"),
            "s.toml:2: steps: Input should be greater than or equal to 1",
        ),
        (("steps = 10", "steps = true"), "s.toml:2: steps: Input should be a valid integer"),
        (("lr = 0.1", "lr = inf"), "s.toml:12: runs[0].lr: must be a finite number"),
        (("lr = 0.1\n", ""), "s.toml:9: runs[0].lr: required key is missing"),
        (
            ('surface = "quadratic"', 'surface = "volcano"'),
            "s.toml:6: landscape.surface: Input should be 'quadratic'",
        ),
        (
            ("params = { l1 = 1.0, l2 = 2 }", "params = { l1 = 1.0, zz = 2 }"),
            "s.toml:7: landscape.params: unknown parameter 'zz'",
        ),
        (
            ("[landscape]", "bounds = 1\n[landscape]"),
            "s.toml:4: bounds: unknown key (allowed: challenge, description",
        ),
        (
            ("start = [1, 0.5]", "start = [1, 0.5]\nbatch_size = 4"),
            "s.toml:14: runs[0].batch_size: applies to network landscapes only",
        ),
        (
            ("start = [1, 0.5]", "start = [1, 0.5]\nbetas = [0.9, 0.99]"),
            "s.toml:14: runs[0].betas: has no effect with optimizer 'gd'",
        ),
        (
            ('title = "ok"', 'title = "ok"\nsteps = 3'),
            "s.toml:3: TOML syntax error: Cannot overwrite a value",
        ),
    ],
)
def test_single_problem_messages(edit, expected):
    found = problems(VALID.replace(*edit))
    assert any(p.startswith(expected) for p in found), found


def test_reversed_bounds_and_duplicate_names():
    text = VALID.replace("params", "bounds = [[1.0, -1.0], [0, 1]]\nparams")
    text += '\n[[runs]]\nname = "A"\noptimizer = "gd"\nlr = 0.1\n'
    found = problems(text)
    assert any("s.toml:7: landscape.bounds: x bounds must be increasing" in p for p in found)
    assert any("s.toml:17: runs[1].name: duplicate run name 'A'" in p for p in found), found


def test_timeline_names_a_real_run_and_a_real_step():
    text = VALID + '\n[[timeline]]\nat = 11\nset = { run = "b", lr = 0.2 }\n'
    found = problems(text)
    assert any("timeline[0].at: step 11 is after the last step 10" in p for p in found)
    assert any("timeline[0].set.run: no run named 'b'" in p for p in found), found


def test_resource_limits_state_the_limit():
    found = problems(VALID.replace("steps = 10", "steps = 100000000000"))
    assert any(f"less than or equal to {LIMITS['steps']}" in p for p in found)
    big = NETWORK.replace("widths = [2, 8, 1]", "widths = [2, 1024, 1024, 1024, 1]")
    assert any("parameters; the limit is 1,000,000" in p for p in problems(big))
    assert any(
        "less than or equal to 100000" in p
        for p in problems(NETWORK.replace("n = 64", "n = 10000000"))
    )
    assert any(
        "less than or equal to 1024" in p
        for p in problems(NETWORK.replace("[2, 8, 1]", "[2, 100000, 1]"))
    )


def test_network_shape_problems():
    found = problems(NETWORK.replace("widths = [2, 8, 1]", "widths = [3, 8, 2]"))
    assert any("landscape.model.widths" in p for p in found), found
    found = problems(NETWORK.replace("batch_size = 16", "batch_size = 65"))
    assert any("batch_size 65 is larger than the dataset (n = 64)" in p for p in found)


@pytest.mark.parametrize("widths", [(2, 8, 1), (2, 16, 16, 16, 3), (1, 4, 4, 1)])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_parameter_count_matches_the_model(widths, batchnorm):
    spec = ModelSpec(widths=widths, batchnorm=batchnorm)
    assert count_parameters(spec) == FlatMLP(spec).n_params


def test_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "missing.toml")


def test_bundled_scenarios_are_valid():
    paths = bundled_scenarios()
    assert len(paths) >= 5
    for path in paths:
        load_scenario(path)
