"""Surfaces out (issue 20): `replay --vtk` writes the drawn height field as a VTK structured
grid; `ReplayResult.plot()` and `.video()` give a Figure and a video for a notebook, without
switching matplotlib's backend."""

from __future__ import annotations

import base64
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from builders import analytic_scenario, run

from sandbox.replayer import replay
from sandbox.trace.vtk import vts_text


def _arrays(text: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The grid's extent and its arrays, decoded as VTK reads them (UInt32 byte count, then
    little-endian float64)."""
    root = ET.fromstring(text)
    grid = root.find("StructuredGrid")
    arrays = {}
    for array in root.iter("DataArray"):
        raw = base64.b64decode(array.text.strip())
        (count,) = struct.unpack("<I", raw[:4])
        assert count == len(raw) - 4
        name = array.get("Name") or "points"
        arrays[name] = np.frombuffer(raw[4:], dtype="<f8")
    return grid.attrib, arrays


def test_the_vts_grid_is_the_surface_npz(tmp_path):
    out = tmp_path / "out"
    sys_args = [sys.executable, "-m", "sandbox", "replay", "saddle", "--out", str(out)]
    done = subprocess.run([*sys_args, "--vtk", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    surface = np.load(out / "surface.npz")
    attrib, arrays = _arrays((out / "surface.vts").read_text(encoding="ascii"))
    height, width = surface["loss"].shape
    assert attrib["WholeExtent"] == f"0 {width - 1} 0 {height - 1} 0 0"
    points = arrays["points"].reshape(height, width, 3)
    assert np.array_equal(points[0, :, 0], surface["x"])  # x varies fastest
    assert np.array_equal(points[:, 0, 1], surface["y"])
    assert np.array_equal(points[..., 2], surface["loss"])  # all finite on the saddle
    assert np.array_equal(arrays["loss"].reshape(height, width), surface["loss"])


def test_non_finite_heights_stay_in_the_data_and_sit_at_the_top_of_the_grid():
    loss = np.array([[1.0, np.nan], [np.inf, 3.0]])
    _, arrays = _arrays(vts_text(np.array([0.0, 1.0]), np.array([0.0, 2.0]), loss))
    assert np.array_equal(arrays["loss"], loss.ravel(), equal_nan=True)
    assert arrays["points"].reshape(4, 3)[:, 2].tolist() == [1.0, 3.0, 3.0, 3.0]


def test_plot_gives_a_figure_and_leaves_the_backend_alone():
    result = replay(analytic_scenario(steps=20, runs=[run("GD", sharpness_every=5)]))
    script = (
        "import matplotlib; before = matplotlib.get_backend()\n"
        "import sandbox\n"
        "from builders import analytic_scenario, run\n"
        "figure = sandbox.replay(analytic_scenario(steps=5)).plot()\n"
        "assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())\n"
        "import sys; assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env_path = str(__import__("pathlib").Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": env_path,
                               "MPLBACKEND": "svg"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    figure = result.plot()
    loss_axes, sharp_axes = figure.axes
    (line,) = loss_axes.get_lines()
    assert np.array_equal(line.get_ydata(), result.runs["GD"].loss)
    assert sharp_axes.get_ylabel() == "sharpness λmax"
    png = figure.canvas  # a Figure without pyplot draws on its own canvas
    assert png is not None


@pytest.mark.slow
def test_video_writes_a_clip_a_notebook_embeds(tmp_path, gl_context):
    result = replay(analytic_scenario(steps=20), keep_messages=True)
    video = result.video(tmp_path / "clip.gif", frames=4, size=(160, 90))
    assert video.path.stat().st_size > 1000
    html = video._repr_html_()
    assert html.startswith('<img src="data:image/gif;base64,')
    assert base64.b64decode(html.split(",", 1)[1].rstrip('"/>'))[:6] == b"GIF89a"
