"""Mode connectivity (`directions = "connect"`): geometry, oracles, outputs, validation.

A small scenario (moons, a 2-8-8-1 net, two runs from different seeds) keeps these fast; the
bundled scenario's physics is asserted in test_scenarios_implicit.py.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from builders import network_toml, run

import sandbox
from sandbox.landscape import sampling
from sandbox.landscape.connect import LINE_POINTS, ConnectPlane
from sandbox.pipeline.prepare import prepare
from sandbox.pipeline.runs import run_records
from sandbox.scenario.load import ScenarioError, parse_scenario

CONNECT = {"directions": "connect", "connect": ["A", "B"], "connect_steps": 60, "connect_lr": 0.02}
SMALL = network_toml(
    title="connect, small",
    seed=0,
    steps=120,
    data={"name": "moons", "n": 64, "noise": 0.1},
    widths=[2, 8, 8, 1],
    model={"activation": "tanh"},
    slice={**CONNECT, "resolution": 9},
    runs=[
        run("A", "adam", 0.03, init_seed=1),
        run("B", "adam", 0.03, init_seed=2),
        run("C, not connected", "gd", 0.5),
    ],
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


@pytest.fixture(scope="module")
def small():
    scenario = parse_scenario(SMALL)
    prepared = prepare(scenario)
    return scenario, prepared.problem, prepared.slice_info, prepared.connection


def test_endpoints_and_curve_lie_in_the_plane_at_their_coordinates(small):
    _, problem, info, c = small
    assert problem.plane is c.plane and isinstance(c.plane, ConnectPlane)
    scale = float(torch.linalg.vector_norm(c.theta_a))
    a, b, off = c.plane.project(c.theta_a)
    assert (a, b) == (0.0, 0.0) and off == 0.0
    a, b, off = c.plane.project(c.theta_b)
    # Measured: |a − 1| 3e-9, |b| 2e-10, off 4e-8·scale (B); C's off 3e-8·scale.
    assert abs(a - 1) < 1e-6 and abs(b) < 1e-6 and off < 1e-6 * scale
    cx, cy, off = c.plane.project(c.theta_c)
    assert off < 1e-6 * scale and cy > 0  # the bend direction is d2, pointing to the control point
    assert [cx, cy] == pytest.approx(c.summary()["control_point"], abs=1e-12)
    # The curve in plane coordinates is the Bézier curve of (0, 0), (cx, cy), (1, 0)
    # (measured: within 3e-8 in x and 2e-8 in y).
    for t, (x, y) in zip(c.t, c.curve_xy, strict=True):
        assert x == pytest.approx(2 * t * (1 - t) * cx + t * t, abs=1e-5)
        assert y == pytest.approx(2 * t * (1 - t) * cy, abs=1e-5)
    # ‖d2‖ = ‖d1‖ and d2 ⟂ d1: the plane's coordinates are isotropic (measured: 1e-9, 3e-9).
    d1, d2 = c.plane.d1.double(), c.plane.d2.double()
    assert float(d1 @ d2) == pytest.approx(0, abs=1e-6 * float(d1 @ d1))
    assert float(d2.norm()) == pytest.approx(float(d1.norm()), rel=1e-6)
    # The view covers A, B and the curve with a margin, and the summary reports it.
    (x0, x1), (y0, y1) = c.plane.bounds
    xs = [p[0] for p in c.curve_xy] + [0.0, 1.0]
    ys = [p[1] for p in c.curve_xy] + [0.0]
    margin = 0.2 * max(max(xs) - min(xs), max(ys) - min(ys))
    assert x0 < min(xs) - margin and x1 > max(xs) + margin
    assert y0 < min(ys) - margin and y1 > max(ys) + margin
    assert info["bounds"] == [list(c.plane.bounds[0]), list(c.plane.bounds[1])]


def test_line_and_curve_losses_are_direct_evaluations(small):
    """Oracle: each reported loss is problem.full_loss at the point built independently."""
    _, problem, _, c = small
    assert len(c.t) == LINE_POINTS and c.t[0] == 0 and c.t[-1] == 1
    a, b, m = c.theta_a.double(), c.theta_b.double(), c.theta_c.double()
    # float32 losses at float32-rounded points: measured at most 1.1e-6 relative apart.
    for i, t in enumerate(c.t):
        on_line = ((1 - t) * a + t * b).float()
        on_curve = ((1 - t) ** 2 * a + 2 * t * (1 - t) * m + t**2 * b).float()
        with torch.no_grad():
            assert c.line[i] == pytest.approx(float(problem.full_loss(on_line)), rel=1e-5, abs=1e-7)
            assert c.curve[i] == pytest.approx(
                float(problem.full_loss(on_curve)), rel=1e-5, abs=1e-7
            )
    summary = c.summary()
    assert summary["barrier_line"] == max(c.line) - max(c.line[0], c.line[-1])
    assert summary["barrier_curve"] == max(c.curve) - max(c.line[0], c.line[-1])
    assert c.curve[0] == c.line[0] and c.curve[-1] == c.line[-1]
    assert c.fit_loss[1] < c.fit_loss[0]  # the fit lowered E_t L(φ(t))


def test_endpoints_are_the_runs_final_weights(small):
    scenario, problem, _, c = small
    runs = {run.name: run for run in scenario.runs}
    for name, theta in zip(("A", "B"), (c.theta_a, c.theta_b), strict=True):
        last = []
        records = run_records(
            problem, scenario, runs[name], lambda k, th, last=last: last.append(th)
        )
        for _ in records:
            pass
        assert torch.equal(last[-1], theta)


def test_replay_outputs_and_determinism(tmp_path):
    outs = [tmp_path / "one", tmp_path / "two"]
    results = [sandbox.replay(parse_scenario(SMALL), out) for out in outs]
    for name in ("summary.json", "connect.csv", "runs/a.csv", "runs/c__not_connected.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary == results[0].summary
    connect = summary["connect"]
    assert connect["runs"] == ["A", "B"] and connect["file"] == "connect.csv"
    runs = {r["name"]: r for r in summary["runs"]}
    # Run A ends at (0, 0) and run B at (1, 0), on the plane; their final losses are the ends'.
    assert runs["A"]["final_position"] == [0.0, 0.0] and runs["A"]["final_offplane"] == 0.0
    assert runs["B"]["final_position"] == pytest.approx([1.0, 0.0], abs=1e-6)
    assert runs["B"]["final_offplane"] < 1e-5  # measured: position 3e-9 off, offplane 4e-7
    assert connect["endpoint_losses"] == [runs["A"]["final_loss"], runs["B"]["final_loss"]]
    assert summary["slice"]["directions"] == "connect"
    with (outs[0] / "connect.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["t", "line_loss", "curve_loss", "curve_x", "curve_y"]
    np.testing.assert_array_equal([float(r["t"]) for r in rows], connect["t"])
    np.testing.assert_array_equal([float(r["line_loss"]) for r in rows], connect["line"])
    np.testing.assert_array_equal([float(r["curve_loss"]) for r in rows], connect["curve"])
    assert not list(outs[0].glob("*.part"))


def test_forced_replay_of_another_scenario_removes_the_old_connect_csv(tmp_path):
    out = tmp_path / "out"
    sandbox.replay(parse_scenario(SMALL.replace("steps = 120", "steps = 5")), out)
    assert (out / "connect.csv").exists()
    plain = SMALL.replace('directions = "connect"\nconnect = ["A", "B"]', 'directions = "random"')
    plain = plain.replace("connect_steps = 60\nconnect_lr = 0.02\n", "")
    sandbox.replay(parse_scenario(plain.replace("steps = 120", "steps = 5")), out, force=True)
    assert not (out / "connect.csv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert "connect" not in summary
    assert summary["slice"]["bounds"] == [[-1.0, 1.0], [-1.0, 1.0]]


def test_surface_shows_the_connect_view_with_true_losses(small):
    """Whatever centre and span the caller passes, the surface is the view over A, B, curve."""
    _, problem, _, c = small
    sample = sampling.network_surface(problem, problem.theta_init, 1.0, 5)
    assert sample.bounds == c.plane.bounds
    (x0, x1), (y0, y1) = sample.bounds
    xs, ys = np.linspace(x0, x1, 5), np.linspace(y0, y1, 5)
    for i, j in ((0, 0), (2, 3), (4, 1)):
        theta = c.plane.point(float(xs[j]), float(ys[i]))
        with torch.no_grad():
            expected = float(problem.full_loss(theta))
        # Measured: at most 3e-7 relative apart (float32 surface sampling).
        assert sample.heights[i, j] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text)
    return [str(p) for p in error.value.problems]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (('connect = ["A", "B"]', 'connect = ["A", "Z"]'), "no run named 'Z'"),
        (('connect = ["A", "B"]', 'connect = ["A", "A"]'), "names the same run twice"),
        (('connect = ["A", "B"]', ""), 'needs connect = ["run A", "run B"]'),
        (('connect = ["A", "B"]', 'connect = ["A"]'), "landscape.slice.connect"),
        (("resolution = 9", "resolution = 9\nspan = 2.0"), 'no effect with directions = "connect"'),
        (("resolution = 9", 'resolution = 9\ncenter = "final"'), "landscape.slice.center"),
        (('directions = "connect"', 'directions = "random"'), 'applies to directions = "connect"'),
        (("connect_steps = 60", "connect_steps = -1"), "connect_steps"),
        (("connect_lr = 0.02", "connect_lr = 0.0"), "connect_lr"),
        (("init_seed = 2", "init_seed = 1"), "identical and end at the same weights"),
    ],
)
def test_validation(edit, expected):
    messages = _problems(SMALL.replace(*edit))
    assert any(expected in m for m in messages), messages


def test_runs_that_differ_only_by_noise_or_settings_are_accepted():
    # Same initial weights is fine as long as something makes the runs differ.
    parse_scenario(SMALL.replace("init_seed = 2", "init_seed = 1\nbetas = [0.8, 0.999]"))
    parse_scenario(SMALL.replace("init_seed = 2", "init_seed = 1\nbatch_size = 16"))
