"""`sandbox.testing.assert_replays_close` (issue 21): identical replays pass, and replays that
part fail naming the run, the quantity, the first step beyond the tolerance and both values."""

from __future__ import annotations

import re

import pytest

import sandbox
from sandbox.testing import assert_replays_close

# Plain GD on a quadratic bowl: deterministic, and every step depends on lr, so a changed lr
# parts at step 1 (step 0 is the shared starting point, before any update).
BOWL = """title = "bowl"
steps = 20
[landscape]
kind = "analytic"
surface = "quadratic"
[[runs]]
name = "slow"
optimizer = "gd"
lr = 0.1
start = [1.0, 1.0]
[[runs]]
name = "fast"
optimizer = "gd"
lr = 0.3
start = [1.0, 1.0]
"""


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden") / "bowl"
    return sandbox.replay(BOWL, out), out


def test_identical_replays_pass_as_results_and_as_folders(golden):
    result, folder = golden
    again = sandbox.replay(BOWL)
    # same machine: byte-identical, and the CSVs' and summary's numbers round-trip exactly
    assert_replays_close(result, again, rtol=0, atol=0)
    assert_replays_close(folder, again, rtol=0, atol=0)
    assert_replays_close(folder, folder)


def test_a_changed_lr_names_the_run_quantity_and_first_step(golden):
    result, folder = golden
    changed = sandbox.replay(BOWL, overrides={"runs.1.lr": 0.31})
    with pytest.raises(AssertionError) as failure:
        assert_replays_close(folder, changed)
    message = str(failure.value)
    assert "'slow'" not in message  # the untouched run agrees
    lines = message.splitlines()
    assert lines[0].startswith("replays differ (rtol 1e-06, atol 1e-09)")
    # lr itself differs from step 0; the trajectory (loss, x, y) from step 1
    assert lines[1] == (
        "  run 'fast': lr parts at step 0: a 0.3, b 0.31; largest deviation 0.01 at step 0"
    )
    assert any(re.match(r"  run 'fast': loss parts at step 1: a [\d.e-]+, b ", li) for li in lines)
    assert "run 'fast': summary final_loss: a " in message


def test_the_tolerance_is_respected(golden):
    """lr 1e-9 relative off: 20 GD steps move x = (1 - lr·h)^k by about k·1e-9 relative, well
    inside the default rtol 1e-6, and far outside rtol 1e-12."""
    result, _ = golden
    nudged = sandbox.replay(BOWL, overrides={"runs.0.lr": 0.1 * (1 + 1e-9)})
    assert_replays_close(result, nudged)
    with pytest.raises(AssertionError, match="run 'slow': lr parts at step 0"):
        assert_replays_close(result, nudged, rtol=1e-12, atol=0)


def test_runs_and_step_counts_that_differ_are_named(golden):
    result, _ = golden
    renamed = sandbox.replay(BOWL.replace('"fast"', '"quick"'))
    shorter = sandbox.replay(BOWL, overrides={"steps": 15})
    with pytest.raises(AssertionError) as failure:
        assert_replays_close(result, renamed)
    assert "run 'fast': in a, not in b" in str(failure.value)
    assert "run 'quick': in b, not in a" in str(failure.value)
    with pytest.raises(AssertionError, match="run 'slow': a has 20 steps, b has 15"):
        assert_replays_close(result, shorter)


def test_a_folder_that_is_no_replay_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a: .*not a folder"):
        assert_replays_close(tmp_path / "nothing", tmp_path)
