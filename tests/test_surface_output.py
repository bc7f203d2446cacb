"""surface.npz: the height field the view draws, written by every replay with --out, so that a
picture can be checked from outside. Issue 16's truthful slice: the loss drawn at the view's
centre is the loss at the centre weights, for every bundled network scenario."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sandbox
from sandbox.landscape import analytic
from sandbox.resources import bundled_scenarios, find_scenario
from sandbox.scenario.load import load_scenario

NETWORKS = [
    path.stem
    for path in bundled_scenarios()
    if 'kind = "network"' in path.read_text(encoding="utf-8")
]
SHORT = 40  # steps: the centre's property does not depend on how far the runs went


def at_centre(surface) -> float:
    """The drawn loss at the view centre, bilinear between the grid's cells (exact for the odd
    resolutions the bundled files use, whose middle cell is the centre)."""
    x, y, loss = surface["x"], surface["y"], surface["loss"].astype(np.float64)
    cx, cy = surface["center"]
    j = min(int(np.searchsorted(x, cx, side="right")) - 1, len(x) - 2)
    i = min(int(np.searchsorted(y, cy, side="right")) - 1, len(y) - 2)
    u, v = (cx - x[j]) / (x[j + 1] - x[j]), (cy - y[i]) / (y[i + 1] - y[i])
    top = (1 - u) * loss[i, j] + u * loss[i, j + 1]
    bottom = (1 - u) * loss[i + 1, j] + u * loss[i + 1, j + 1]
    return (1 - v) * top + v * bottom


@pytest.mark.slow
@pytest.mark.parametrize("name", NETWORKS)
def test_the_view_centre_is_on_the_surface(name, tmp_path, one_torch_thread):
    """Tolerance: float32 grid against a float32 loss of the same weights, relative 1e-5."""
    scenario = load_scenario(find_scenario(name))
    short = scenario.model_copy(update={"steps": min(scenario.steps, SHORT), "timeline": ()})
    result = sandbox.replay(short, tmp_path / "out", keep_arrays=False)
    surface = np.load(tmp_path / "out" / "surface.npz")
    assert surface["loss"].shape == (len(surface["y"]), len(surface["x"]))
    assert surface["directions"].shape[0] == 2
    assert at_centre(surface) == pytest.approx(float(surface["center_loss"]), rel=1e-5, abs=1e-7)
    bounds = result.summary["slice"]["bounds"]
    assert [surface["x"][0], surface["x"][-1]] == pytest.approx(bounds[0])
    assert [surface["y"][0], surface["y"][-1]] == pytest.approx(bounds[1])
    if short.landscape.slice.center == "final":  # the first run's final weights, at its ball
        assert float(surface["center_loss"]) == pytest.approx(
            result.summary["runs"][0]["final_loss"], rel=1e-6
        )


def test_an_analytic_surface_is_the_function_on_its_grid(tmp_path):
    sandbox.replay(find_scenario("saddle"), tmp_path / "out")
    surface = np.load(tmp_path / "out" / "surface.npz")
    xs, ys = np.meshgrid(surface["x"], surface["y"])
    params = analytic.resolve_params("double_well_saddle", {})
    grid = torch.from_numpy(np.stack([xs, ys], axis=-1))
    expected = analytic.SURFACES["double_well_saddle"].fn(grid, params).numpy()
    np.testing.assert_allclose(surface["loss"], expected, rtol=1e-6, atol=1e-6)
    assert list(surface["center"]) == [0.0, 0.0] and float(surface["center_loss"]) == 1.0
