"""The timeline's instruments: catalogue and schema agree, each probe against an oracle, and
the app draws the declared plots.

Oracles are independent of sandbox/landscape/probes.py: numpy SVD of the product of the weights,
the hard-margin SVM by enumerating support-vector sets, activations by a plain forward pass.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import typing
from dataclasses import replace

import numpy as np
import pytest
import torch

from sandbox import instruments
from sandbox.app.commands import Command
from sandbox.app.model import Histories, ViewModel
from sandbox.app.worker import Panel, Steps, scenario_stream
from sandbox.instruments import BY_NAME, CATALOGUE, DEFAULT_PLOTS, NEEDS, effective_rank
from sandbox.landscape.probes import nonnegative_least_squares, svm_direction
from sandbox.landscape.problem import make_problem
from sandbox.pipeline import prepare as pipeline
from sandbox.resources import find_scenario
from sandbox.scenario.load import ScenarioError, load_scenario, parse_scenario
from sandbox.scenario.schema import View

NETWORK = """
title = "t"
steps = {steps}
[landscape]
kind = "network"
loss = "{loss}"
[landscape.data]
name = "{data}"
{data_extra}
[landscape.model]
widths = {widths}
activation = "{activation}"
{model_extra}
[[runs]]
name = "GD"
optimizer = "gd"
lr = {lr}
[view]
plots = {plots}
"""


def with_plots(text: str, plots: list[str]) -> str:
    """A scenario's text with its [view] table (if any) replaced by `plots = plots`."""
    text = re.sub(r"\n\[view\][^\n]*\nplots = [^\n]*\n", "\n", text)
    return text + "\n[view]\nplots = " + json.dumps(plots, ensure_ascii=False) + "\n"


def network(plots: list[str], **given) -> str:
    """A small network scenario's text with `[view] plots = plots`."""
    fields = dict(steps=20, loss="bce", data="moons", data_extra="n = 64", widths="[2, 8, 8, 1]")
    fields |= dict(activation="tanh", model_extra="", lr=0.1, plots=repr(plots).replace("'", '"'))
    return NETWORK.format(**(fields | given))


# Catalogue and schema ---------------------------------------------------------------------------


def test_the_schema_accepts_exactly_the_catalogue():
    literal = typing.get_args(View.model_fields["plots"].annotation)[0]  # tuple[Literal, ...]
    assert typing.get_args(literal) == tuple(i.name for i in CATALOGUE)
    assert set(DEFAULT_PLOTS) <= set(BY_NAME)
    for instrument in CATALOGUE:
        assert instrument.kind in ("series", "profile", "panel")
        assert instrument.needs == "" or instrument.needs in NEEDS


def test_an_unknown_or_unfit_plot_is_an_error_at_its_line():
    text = network(["loss", "bogus"])
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "x.toml")
    line = text.splitlines().index('plots = ["loss", "bogus"]') + 1
    assert str(error.value).startswith(f"x.toml:{line}: view.plots[1]: Input should be 'loss'")
    # A plot whose quantity the scenario does not have: the reason says what it needs.
    with pytest.raises(ScenarioError) as error:
        parse_scenario(network(["singular_values", "data", "loss", "loss"]), "x.toml")
    messages = str(error.value).splitlines()
    assert messages[0].endswith("view.plots[0]: 'singular_values' needs " + NEEDS["linear"])
    assert messages[1].endswith("view.plots[1]: 'data' needs " + NEEDS["plane classifier"])
    assert messages[2].endswith("view.plots[3]: 'loss' is already listed")


def test_without_view_the_default_plots_and_no_probes():
    scenario = load_scenario(find_scenario("two_weight_net"))
    assert scenario.view is None
    assert ViewModel(scenario).histories.plots == DEFAULT_PLOTS
    prepared = pipeline.prepare(scenario)
    assert all(step.probes == () for step in pipeline.steps(prepared, scenario.runs[0]))


# Probes against oracles -------------------------------------------------------------------------


def trained(text: str, every: int = 1):
    """A scenario from `text`, its problem and its first run's records and weights by step."""
    scenario = parse_scenario(text)
    prepared = pipeline.prepare(scenario)
    thetas = {}
    observe = lambda k, t: thetas.setdefault(k, t.clone())  # noqa: E731
    steps = list(pipeline.steps(prepared, scenario.runs[0], observe))
    return scenario, prepared.problem, steps, thetas


def test_effective_rank_counts_singular_values_above_one_percent():
    assert effective_rank(np.array([2.0, 0.03, 0.019, 1e-4])) == 2
    assert effective_rank(np.array([0.0, 0.0])) == 0
    assert effective_rank(np.array([1.0, np.nan])) == 1


def test_singular_values_are_those_of_the_product_of_the_weights():
    """low_rank's W = W₂W₁: the probe equals numpy's SVD of the product (float64, rtol 1e-9),
    at every step, and its effective rank is the one the captions quote (1 at 40, 2 at 250)."""
    text = find_scenario("low_rank").read_text()
    text = with_plots(text, ["loss", "singular_values", "effective_rank"])
    scenario, problem, steps, thetas = trained(text)
    for k in (0, 15, 40, 250, 300):
        theta = thetas[k].double().numpy()
        w1 = theta[:64].reshape(8, 8)  # layer0.weight (out, in), then its bias (8)
        w2 = theta[72:136].reshape(8, 8)  # layer1.weight
        oracle = np.linalg.svd(w2 @ w1, compute_uv=False)
        np.testing.assert_allclose(steps[k].probe("singular_values"), oracle, rtol=1e-9)
    assert effective_rank(steps[40].probe("singular_values")) == 1
    assert effective_rank(steps[250].probe("singular_values")) == 2


def test_signal_is_the_rms_of_each_hidden_layer_by_a_plain_forward_pass():
    """init_gain_sqrt2: the probe against nn.Linear + ReLU layers built from θ (rtol 1e-5, float32
    sums over 128 × 128 values); after 30 layers the signal is 0.54 of the first's (caption)."""
    text = find_scenario("init_gain_sqrt2").read_text().replace("steps = 100", "steps = 2")
    text = text[: text.index("[[timeline]]")]
    text = with_plots(text, ["loss", "signal"])
    scenario, problem, steps, thetas = trained(text)
    theta, h, rms = thetas[0], problem.data.x.float(), []
    widths = scenario.landscape.model.widths
    offset = 0
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1], strict=True):
        layer = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            layer.weight.copy_(theta[offset : offset + fan_in * fan_out].view(fan_out, fan_in))
            offset += fan_in * fan_out
            layer.bias.copy_(theta[offset : offset + fan_out])
            offset += fan_out
            h = torch.relu(layer(h))
        rms.append(float(h.square().mean().sqrt()))
    signal = steps[0].probe("signal")
    np.testing.assert_allclose(signal, rms, rtol=1e-5)
    assert len(signal) == 30 and round(signal[-1] / signal[0], 2) == 0.54


def enumerated_svm(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The hard-margin SVM by brute force: for each set of ≤ d candidate support vectors, the
    least-norm u with ỹᵢ·u·zᵢ = 1 on the set; the shortest that satisfies every constraint."""
    g = labels[:, None] * z
    best = None
    for size in range(1, z.shape[1] + 1):
        for chosen in itertools.combinations(range(len(g)), size):
            rows = g[list(chosen)]
            u = np.linalg.lstsq(rows, np.ones(size), rcond=None)[0]
            if np.allclose(rows @ u, 1) and np.min(g @ u) >= 1 - 1e-9:
                if best is None or np.linalg.norm(u) < np.linalg.norm(best):
                    best = u
    return best


def test_the_svm_direction_equals_brute_force_and_nnls_its_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=7)
    x = nonnegative_least_squares(a, b)
    gradient = a.T @ (a @ x - b)  # KKT: x ≥ 0, gradient ≥ 0, x · gradient = 0
    assert x.min() >= 0 and gradient.min() > -1e-12 and abs(x @ gradient) < 1e-12
    problem = make_problem(load_scenario(find_scenario("max_margin")))
    z = np.c_[problem.data.x.double().numpy(), np.ones(len(problem.data.x))]
    labels = 2 * problem.data.y.double().numpy() - 1
    np.testing.assert_allclose(svm_direction(z, labels), enumerated_svm(z, labels), rtol=1e-9)
    assert round(1 / np.linalg.norm(svm_direction(z, labels)), 3) == 0.140  # the caption's 0.14
    inseparable = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert np.isnan(svm_direction(inseparable, np.array([1.0, -1.0]))).all()


def test_margin_angle_and_boundary_follow_the_weights():
    """max_margin (shortened to 201 steps): margin and angle recomputed from θ = (w₁, w₂, b)
    (abs 1e-9, float64 of the same float32 weights); the captions' 23° at step 10 and the first
    positive margin at 201."""
    text = find_scenario("max_margin").read_text().replace("steps = 3000", "steps = 201")
    text = text[: text.index("[[timeline]]")]  # captions beyond 201 steps are refused
    text = with_plots(text, ["margin", "svm_angle", "data"])
    scenario, problem, steps, thetas = trained(text)
    z = np.c_[problem.data.x.double().numpy(), np.ones(len(problem.data.x))]
    labels = 2 * problem.data.y.double().numpy() - 1
    u = enumerated_svm(z, labels)
    for k in (0, 10, 200, 201):
        v = thetas[k].double().numpy()
        margin = np.min(labels * (z @ v)) / np.linalg.norm(v)
        angle = np.degrees(np.arccos(v @ u / np.linalg.norm(v) / np.linalg.norm(u)))
        assert steps[k].probe("margin")[0] == pytest.approx(margin, abs=1e-9)
        assert steps[k].probe("svm_angle")[0] == pytest.approx(angle, abs=1e-6)
        assert steps[k].probe("boundary") == pytest.approx(tuple(v), abs=1e-12)
    assert round(steps[10].probe("svm_angle")[0]) == 23
    assert steps[200].probe("margin")[0] < 0 < steps[201].probe("margin")[0]


def test_the_stream_sends_the_panels_and_the_view_keeps_the_probes():
    """The worker's messages carry the data panel and the probes; the ViewModel's histories
    hold them by step (what the timeline draws)."""
    text = find_scenario("max_margin").read_text().replace("steps = 3000", "steps = 20")
    text = text[: text.index("[[timeline]]")]
    text = with_plots(text, ["loss", "margin", "data"])
    scenario = parse_scenario(text)
    model = ViewModel(scenario)
    messages = list(scenario_stream(scenario))
    for message in messages:
        model.apply(message)
    panels = [m for m in messages if isinstance(m, Panel)]
    assert [p.name for p in panels] == ["svm", "data"] and panels[1].arrays["x"].shape == (32, 2)
    assert round(panels[0].arrays["margin"], 3) == 0.140
    assert isinstance(model.histories, Histories)
    assert model.histories.plots == ("loss", "margin", "data")
    steps, values = model.histories[0].probe("margin", 10)
    assert list(steps) == list(range(11)) and values.shape == (11, 1)
    last = [m for m in messages if isinstance(m, Steps)][-1].steps[-1]
    assert values[-1, 0] != last.probe("margin")[0]  # step 10's, not the last one's
    assert math.isclose(model.histories[0].probe("margin")[1][-1, 0], last.probe("margin")[0])
    assert instruments.probes_for(scenario.view.plots) == ("margin", "boundary")


# The app draws the declared plots ---------------------------------------------------------------


class PlotRecorder:
    """ImPlot as the app sees it, noting each plot that opened and the items drawn in it."""

    def __init__(self, real):
        self.real, self.drawn, self.title = real, {}, ""

    def __getattr__(self, name):
        return getattr(self.real, name)

    def begin_plot(self, title, *args):
        opened = self.real.begin_plot(title, *args)
        if opened:
            self.title = title.split("###")[0]
            self.drawn[self.title] = []
        return opened

    def _item(self, kind, label, *args):
        self.drawn[self.title].append([kind, label])
        return getattr(self.real, kind)(label, *args)


for _kind in ("plot_line", "plot_scatter", "plot_inf_lines", "plot_heatmap"):
    setattr(PlotRecorder, _kind, lambda self, label, *a, kind=_kind: self._item(kind, label, *a))


def drawn_plots(ctx, path) -> dict:
    """The plots and their items in the app's frame at the scenario's last step (in-process, on
    the headless backend, with the worker's stream computed in this process)."""
    from app_doubles import HeadlessApp, StreamWorkers

    with HeadlessApp(ctx, size=(1280, 720), path=path, user_dir=path.parent,
                     workers=StreamWorkers(per_drain=16)) as driver:  # fmt: skip
        app = driver.app
        recorder = app.gui.implot = PlotRecorder(app.gui.implot)
        steps = app.scenario.steps
        driver.frames_until(lambda: app.model.finished and app.model.available_step() >= steps)
        app.command(Command.SCRUB, steps)
        recorder.drawn.clear()
        app.frame()
        return recorder.drawn


MAX_MARGIN_SHORT = (
    "max_margin",
    ("steps = 3000", "steps = 300"),
    ["loss", "margin", "svm_angle", "data"],
)
LOW_RANK_ALL = (
    "low_rank",
    ("steps = 300", "steps = 60"),
    ["singular_values", "effective_rank", "signal", "layer_gradients", "weight_norm", "loss"],
)
MODE_SHORT = (
    "mode_connectivity",
    ("steps = 600", "steps = 40"),
    ["loss", "mode_path"],
)

PRECONDITIONING_SHORT = ("preconditioning", ("steps = 1200", "steps = 20"), ["loss", "steps"])
HESSIAN_SHORT = (
    "hessian_spectrum",
    ("steps = 800", "steps = 20"),
    ["sharpness", "trace", "spectrum", "loss"],
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, steps, plots",
    [MAX_MARGIN_SHORT, LOW_RANK_ALL, MODE_SHORT, PRECONDITIONING_SHORT, HESSIAN_SHORT],
)
def test_the_window_draws_each_declared_plot(ctx, tmp_path, name, steps, plots):
    """In the app (in-process, headless), at the last step: one ImPlot plot per declared name,
    titled as the catalogue says, in the declared order, each with its items drawn."""
    text = find_scenario(name).read_text().replace(*steps)
    text = text[: text.index("[[timeline]]")].replace("connect_steps = 500", "connect_steps = 20")
    path = tmp_path / f"{name}.toml"
    path.write_text(with_plots(text, plots))
    drawn = drawn_plots(ctx, path)
    titles = [BY_NAME[p].title for p in plots]
    assert [t.split(" · ")[0] for t in drawn] == titles
    for title, items in drawn.items():
        assert items, f"nothing drawn in {title!r}"
    if name == "max_margin":
        kinds = [kind for kind, _ in drawn["data and boundaries"]]
        assert kinds.count("plot_scatter") == 2 and kinds.count("plot_line") == 2  # SVM, GD
        assert ["plot_inf_lines", "SVM 0.14"] in drawn["normalised margin"]
    if name == "preconditioning":  # at the last step GD is still on its way: its −∇f arrow
        items = drawn["step vs −gradient"]
        assert items[0] == ["plot_heatmap", "f"] and ["plot_line", "GD −∇f"] in items
        # each run's loss curve ends in a dot at the shown step (a one-point curve shows too)
        ends = [label for kind, label in drawn["loss"] if kind == "plot_scatter"]
        assert ends == [f"{label} now" for kind, label in drawn["loss"] if kind == "plot_line"]
        assert len(ends) == 4
    if name == "hessian_spectrum":  # the density at step 0 and its λmax line
        kinds = [kind for kind, _ in drawn["spectrum of H"]]
        assert kinds.count("plot_line") == 1 and kinds.count("plot_inf_lines") == 1
    if name == "mode_connectivity":
        assert [label for _, label in drawn["loss from A to B"]] == ["straight line", "curve"]


def test_the_replay_writes_the_probes_beside_the_layer_gradients(tmp_path):
    """low_rank's runs/<name>_network.csv holds W's singular values by step: the captions'
    effective ranks can be read off the replay (1 at step 40, 2 at 250, 1 % of the largest)."""
    import csv

    import sandbox

    result = sandbox.replay(find_scenario("low_rank"), tmp_path / "out")
    (run,) = result.summary["runs"]
    path = tmp_path / "out" / run["file"].replace(".csv", "_network.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    columns = [f"singular_values{i}" for i in range(8)]
    assert list(rows[0])[-8:] == columns and len(rows) == 301
    values = np.array([[float(row[c]) for c in columns] for row in rows])
    assert effective_rank(values[40]) == 1 and effective_rank(values[250]) == 2
    assert np.all(np.diff(values, axis=1) <= 0)  # each row in descending order


def test_probes_never_change_a_run():
    """The same scenario with and without [view]: the same records, bit for bit, but the probes."""
    text = find_scenario("low_rank").read_text().replace("steps = 300", "steps = 30")
    text = text[: text.index("[[timeline]]")]
    with_view = trained(text)[2]
    without = trained(text.replace("[view]", "# [view]").replace("plots = [", "# plots = ["))[2]
    assert with_view[5].probes and not without[5].probes
    assert [replace(s, probes=()) for s in with_view] == without


def test_the_steps_panel_has_the_gradient_and_the_surface_from_above():
    """preconditioning (analytic canyon ½(x² + 100y²)): the probe is ∇f = (x, 100y) at each
    step (rtol 1e-12), Newton's first step points at the minimum and −∇f does not; the panel's
    background is f's log height with row 0 at the top, and the minimum (0, 0) is marked."""
    text = find_scenario("preconditioning").read_text().replace("steps = 1200", "steps = 5")
    text = with_plots(text[: text.index("[[timeline]]")], ["loss", "steps"])
    scenario = parse_scenario(text)
    messages = list(scenario_stream(scenario))
    panel = next(m.arrays for m in messages if isinstance(m, Panel) and m.name == "steps")
    records = {}
    for m in messages:
        if isinstance(m, Steps):
            records[scenario.runs[m.run].name] = m.steps
    for step in records["GD"]:
        np.testing.assert_allclose(step.probe("gradient"), (step.x, 100 * step.y), rtol=1e-12)
    newton = records["Newton"]
    move = np.array([newton[1].x - newton[0].x, newton[1].y - newton[0].y])
    to_minimum = -np.array([newton[0].x, newton[0].y])
    np.testing.assert_allclose(move, to_minimum, atol=1e-9)
    gradient = -np.array(newton[0].probe("gradient"))
    cosine = gradient @ to_minimum / np.linalg.norm(gradient) / np.linalg.norm(to_minimum)
    assert cosine < 0.3  # −∇f points across the canyon (mostly along y)
    assert panel["shade"].shape == (48, 48) and panel["minima"].tolist() == [[0.0, 0.0]]
    assert panel["bounds"].tolist() == [-2.5, 2.5, -1.0, 1.0]
    # top row (y = 1) is steep, the middle row (y ≈ 0) is the canyon's floor
    assert panel["shade"][0].min() > panel["shade"][24].min()


def test_a_thinned_history_keeps_each_probe_with_its_step():
    """RunHistory halves its resolution when full: the probes stay beside their own steps."""
    from sandbox.app.model import RunHistory
    from sandbox.trace.records import Step

    history = RunHistory(capacity=8)
    for k in range(20):
        probes = (("margin", (k / 10,)),) if k % 3 == 0 else ()  # measured every 3rd step
        history.add(Step(k, 1.0, 0.0, 0.0, 1.0, 0.1, weight_norm=2.0 * k, probes=probes))
    rows = history.rows()
    assert history.stride == 4 and list(rows[:, 0]) == [0, 4, 8, 12, 16]
    steps, values = history.probe("margin")
    assert list(steps) == [0, 12] and list(values[:, 0]) == [0.0, 1.2]
    assert list(history.column("weight_norm")) == [0, 8, 16, 24, 32]
    assert list(history.probe("margin", 11)[0]) == [0]


def test_the_app_side_of_the_instruments_loads_no_torch():
    import subprocess
    import sys

    modules = "sandbox.instruments, sandbox.app.plots, sandbox.app.instrument_plots"
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
