"""CLI and API conventions (issue 21, part of deliverable 5): `sandbox --version`, and
`sandbox.replay` taking a bundled scenario's name as `sandbox replay` does."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import sandbox


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
