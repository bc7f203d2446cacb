"""The bundled formula_example scenario shows what its captions claim: on the tilted double well
f = (x² − 1)² + 0.3x + y²/2 + 0.4, only momentum 0.9 rolls over the hump into the deeper well."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from captions import says

import sandbox
from sandbox.cli import main as cli_main
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario


def _critical_x() -> tuple[float, float, float]:
    """The x of the deep well, the hump and the shallow well: on y = 0, f' = 4x³ − 4x + 0.3."""
    deep, hump, shallow = sorted(np.roots([4.0, 0.0, -4.0, 0.3]).real)
    return deep, hump, shallow


def _f(x: float) -> float:
    return (x**2 - 1) ** 2 + 0.3 * x + 0.4


def test_the_closed_form_numbers_quoted_in_the_captions():
    deep, hump, shallow = _critical_x()
    assert (round(deep, 2), round(hump, 2), round(shallow, 2)) == (-1.04, 0.08, 0.96)
    assert (round(_f(deep), 2), round(_f(shallow), 2)) == (0.09, 0.69)
    scenario = load_scenario(find_scenario("formula_example"))
    says(scenario, 10, "x = 0.08")
    says(scenario, 150, "one point", "x = 0.96, loss 0.69", "x = −1.04, loss 0.09")


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bundled scenario replays without warnings
        return sandbox.replay(find_scenario("formula_example"))


def test_it_is_valid_and_complete():
    assert cli_main(["check", str(find_scenario("formula_example"))]) == 0
    scenario = load_scenario(find_scenario("formula_example"))
    assert scenario.landscape.surface == "formula" and scenario.description
    assert len(scenario.runs) >= 3 and len(scenario.timeline) >= 3


def test_only_the_heaviest_ball_rolls_over_the_hump(result):
    deep, hump, shallow = _critical_x()
    runs = result.runs
    over = runs["Momentum 0.9"].x < hump
    # it crosses at step 4 (measured) and never comes back: the caption at step 10 says "already"
    assert over[:11].any() and over[np.argmax(over) :].all()
    for name in ("GD", "Momentum 0.5"):
        assert (runs[name].x > hump).all(), (
            name
        )  # measured: GD's least x 0.960, momentum 0.5's 0.666


def test_the_runs_rest_where_the_caption_at_step_150_says(result):
    deep, _, shallow = _critical_x()
    runs = result.runs
    # measured at step 150: |x − minimum| ≤ 3.2e-4 (momentum 0.9), |y| ≤ 3.7e-4 (GD); bound 1e-3
    for name, well in (("GD", shallow), ("Momentum 0.5", shallow), ("Momentum 0.9", deep)):
        x, y = runs[name].x[150], runs[name].y[150]
        assert abs(x - well) < 1e-3 and abs(y) < 1e-3, (name, x, y)
        assert runs[name].loss[150] == pytest.approx(_f(well), abs=1e-3)
    # "their balls on top of each other": 3.6e-4 apart (measured), far below a drawn ball
    # (a ball is several grid cells of the 4-wide view across)
    gd, half = runs["GD"], runs["Momentum 0.5"]
    assert np.hypot(gd.x[150] - half.x[150], gd.y[150] - half.y[150]) < 1e-3
    assert not any(run["diverged"] for run in result.summary["runs"])
