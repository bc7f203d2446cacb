"""The instruments in the app: the worker's stream carries panels and probes, the view's histories
keep them by step, and the window draws each declared plot.
"""

from __future__ import annotations

import math

import pytest
from builders import with_plots

from sandbox import instruments
from sandbox.app.commands import Command
from sandbox.app.model import Histories, ViewModel
from sandbox.app.worker import Panel, Steps, scenario_stream
from sandbox.instruments import BY_NAME
from sandbox.resources import find_scenario
from sandbox.scenario.load import parse_scenario


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
    if name == "mode_connectivity":
        assert [label for _, label in drawn["loss from A to B"]] == ["straight line", "curve"]
    if name == "hessian_spectrum":  # the density at step 0 and its λmax line
        kinds = [kind for kind, _ in drawn["spectrum of H"]]
        assert kinds.count("plot_line") == 1 and kinds.count("plot_inf_lines") == 1


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
