"""What the view shows, built from worker messages: surfaces, decimated trails, captions, HUD.

One-way flow: messages (from the background worker or an in-process stream) -> `ViewModel.apply`
-> `ViewModel.scene(step)` -> a frozen SceneState for the renderer. Trails keep a bounded number
of points (halving their resolution when full) so an hour-long session does not grow; the
same histories feed the live plots.
"""

from __future__ import annotations

import math

import numpy as np

from sandbox.app import anatomy as step_anatomy
from sandbox.app.challenge_text import challenge_line, goal_phrase
from sandbox.app.worker import Failed, Finished, Message, Panel, Steps, Surface
from sandbox.instruments import DEFAULT_PLOTS
from sandbox.render.legend import DROP_LINE_NOTE
from sandbox.render.numbers import human
from sandbox.render.scene import RUN_COLORS, SceneState, Trail
from sandbox.scenario.challenge import grader
from sandbox.scenario.schema import AnalyticLandscape, Scenario
from sandbox.trace.records import Step, SurfaceSample

TRAIL_CAPACITY = 20_000
LOG_HEIGHT_SPAN = 1e3  # range over this × the low decile's height: draw log height


# Columns of a run's history; network runs append one column per layer's gradient norm.
COLUMNS = ("step", "x", "y", "loss", "grad_norm", "lr", "sharpness", "distance", "weight_norm")


class RunHistory:
    """A run's records with bounded memory: every `stride`-th step, the stride doubling when
    full (so an hour-long session does not grow). Feeds both the trail and the live plots.

    `distance` is the distance from the start: in the plane for analytic runs, ‖θ − θ₀‖ for
    network runs (from the record's `init_distance`). Missing numbers are NaN. Probes (the
    records' measurements for the declared plots) are kept beside the rows, one array each.
    """

    def __init__(self, capacity: int = TRAIL_CAPACITY):
        self.capacity = capacity
        self.data: np.ndarray | None = None  # (capacity, len(COLUMNS) + layers), made lazily
        self.n = 0
        self.stride = 1
        self.last: Step | None = None
        self.first: Step | None = None
        self.probes: dict[str, np.ndarray] = {}  # name -> (capacity, width), rows as `data`

    def add(self, step: Step) -> None:
        if self.first is None:
            self.first = step
        self.last = step
        if step.step % self.stride:
            return
        if self.data is None:
            layers = len(step.layer_grad_norms or ())
            self.data = np.full((self.capacity, len(COLUMNS) + layers), np.nan)
        if self.n == self.capacity:
            keep = self.data[: self.n, 0] % (2 * self.stride) == 0
            for array in (self.data, *self.probes.values()):
                kept = array[: self.n][keep]
                array[: len(kept)] = kept
                array[len(kept) :] = np.nan
            self.n = int(keep.sum())
            self.stride *= 2
            if step.step % self.stride:
                return
        self.data[self.n] = self._row(step)
        for name, values in step.probes:
            if name not in self.probes:
                self.probes[name] = np.full((self.capacity, len(values)), np.nan)
            self.probes[name][self.n, : len(values)] = values
        self.n += 1

    def _row(self, step: Step) -> list[float]:
        first = self.first
        if step.init_distance is not None:
            distance = step.init_distance
        else:
            distance = math.hypot(step.x - first.x, step.y - first.y)
        sharp = math.nan if step.sharpness is None else step.sharpness
        norm = math.nan if step.weight_norm is None else step.weight_norm
        row = [step.step, step.x, step.y, step.loss, step.grad_norm, step.lr, sharp, distance, norm]
        layers = step.layer_grad_norms or ()
        width = self.data.shape[1] - len(COLUMNS)
        return row + list(layers[:width]) + [math.nan] * (width - len(layers))

    @property
    def layers(self) -> int:
        """How many per-layer gradient-norm columns the history has."""
        return 0 if self.data is None else self.data.shape[1] - len(COLUMNS)

    def diverged_by(self, step: int) -> bool:
        """Whether the run has diverged (and so ended) at or before `step`."""
        return bool(self.last and self.last.diverged and self.last.step <= step)

    def rows(self, step: int | None = None) -> np.ndarray:
        """The recorded rows up to and including `step` (all of them for None)."""
        if self.data is None:
            return np.empty((0, len(COLUMNS)))
        rows = self.data[: self.n]
        return rows if step is None else rows[: np.searchsorted(rows[:, 0], step, side="right")]

    def probe(self, name: str, step: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The steps (N,) up to `step` at which probe `name` was measured, and its values there
        (N, width); empty when it never was."""
        if name not in self.probes:
            return np.empty(0), np.empty((0, 0))
        rows = len(self.rows(step))
        values = self.probes[name][:rows]
        measured = ~np.isnan(values).all(axis=1)
        return self.data[:rows, 0][measured], values[measured]

    def column(self, name: str, step: int | None = None) -> np.ndarray:
        return self.rows(step)[:, COLUMNS.index(name)]

    def upto(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The path up to and including `step` (xy (N, 2), loss (N,)), ending at the exact head."""
        rows = self.rows(step)[:, :4]
        last = self.last
        if last is not None and last.step <= step and (not len(rows) or rows[-1, 0] != last.step):
            rows = np.vstack([rows, [(last.step, last.x, last.y, last.loss)]])
        return rows[:, 1:3], rows[:, 3]


class Histories(list):
    """Every run's RunHistory (index: the run's number), with what the timeline window draws of
    them: the scenario's plots (`[view] plots`, or the default set) and the fixed arrays of its
    panels (from `Panel` messages)."""

    def __init__(self, histories: list[RunHistory], plots: tuple[str, ...]):
        super().__init__(histories)
        self.plots = plots
        self.panels: dict[str, dict] = {}


def default_colors(scenario: Scenario) -> list[tuple[float, float, float]]:
    """Each run's colour: its own `color`, else the next of RUN_COLORS."""
    colors = []
    for i, run in enumerate(scenario.runs):
        if run.color:
            colors.append(tuple(int(run.color[k : k + 2], 16) / 255 for k in (1, 3, 5)))
        else:
            colors.append(RUN_COLORS[i % len(RUN_COLORS)])
    return colors


def wants_log_height(heights: np.ndarray) -> bool:
    """True for surfaces that span orders of magnitude (canyons, Rosenbrock)."""
    finite = heights[np.isfinite(heights)]
    if finite.size == 0:
        return False
    lo = finite.min()
    low_decile = np.percentile(finite, 10) - lo  # small when a narrow valley holds the minimum
    return bool((finite.max() - lo) > LOG_HEIGHT_SPAN * max(low_decile, 1e-300))


class ViewModel:
    """Accumulates a scenario's messages and turns them into SceneStates."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.colors = default_colors(scenario)
        plots = scenario.view.plots if scenario.view is not None else DEFAULT_PLOTS
        self.histories = Histories([RunHistory() for _ in scenario.runs], plots)
        self.latest: list[Step | None] = [None] * len(scenario.runs)
        self.ended = [False] * len(scenario.runs)
        self.surface: SurfaceSample | None = None
        self.refined = False
        self.failure = ""
        self.finished = False
        self.log_height = False
        self.sharpness: dict[int, float] = {}  # each run's latest λ_max estimate
        self.network = not isinstance(scenario.landscape, AnalyticLandscape)
        self.grader = grader(scenario)  # the challenge's, as the replay grades it; or None
        self.anatomies = [step_anatomy.AnatomyLog() for _ in scenario.runs]

    def apply(self, message: Message) -> None:
        """Take one message from the worker."""
        if isinstance(message, Surface):
            self.surface, self.refined = message.sample, message.refined
            self.log_height = wants_log_height(message.sample.heights)
        elif isinstance(message, Panel):
            self.histories.panels[message.name] = message.arrays
        elif isinstance(message, Steps):
            name = self.scenario.runs[message.run].name
            for step in message.steps:
                self.histories[message.run].add(step)
                if self.grader is not None:
                    self.grader.add(name, step)
                self.anatomies[message.run].add(step.step, step.anatomy)
                if step.sharpness is not None:
                    self.sharpness[message.run] = step.sharpness
            last = message.steps[-1]
            self.latest[message.run] = last
            if last.diverged or last.step == self.scenario.steps:
                self.ended[message.run] = True
        elif isinstance(message, Finished):
            self.finished = True
        elif isinstance(message, Failed):
            self.failure = message.message

    def available_step(self) -> int:
        """The last step every run has reached (or ended before)."""
        reached = [
            math.inf if ended else (s.step if s else -1)
            for s, ended in zip(self.latest, self.ended, strict=True)
        ]
        done = min(reached)
        return self.scenario.steps if done == math.inf else int(done)

    def caption_at(self, step: int) -> str:
        """The latest timeline caption at or before `step`."""
        shown = [e for e in self.scenario.timeline if e.caption and e.at <= step]
        return max(shown, key=lambda e: e.at).caption if shown else ""

    def scene(self, step: int, **view) -> SceneState | None:
        """The frame at `step` (None until a surface exists); `view` passes SceneState flags,
        and `anatomy` (the arrows at the balls) and `stepping` (single-step mode: with the
        arrows, the numbers of the first shown run's update) flags of its own."""
        if self.surface is None:
            return None
        trails, hud = [], []
        hidden = view.pop("hidden", frozenset())
        anatomy, stepping = view.pop("anatomy", False), view.pop("stepping", False)
        updates = self._updates(step, hidden) if anatomy else {}
        factor = step_anatomy.magnification(list(updates.values()), self.surface.bounds)
        for i, run in enumerate(self.scenario.runs):
            if i in hidden:
                continue
            xy, loss = self.histories[i].upto(step)
            last = self.histories[i].last
            diverged = self.histories[i].diverged_by(step)
            shown = self.histories[i].rows(step)  # the lr in force at the shown step
            lr = shown[-1, COLUMNS.index("lr")] if len(shown) else last.lr if last else 0.0
            label = f"loss {human(loss[-1])}  lr {human(lr)}" if len(loss) and last else "starting…"
            label += self._sharpness(i, step) if len(loss) and last else ""
            update = updates.get(i)
            label += step_anatomy.offplane_text(update)
            arrows = step_anatomy.arrows(update, factor)
            trails.append(Trail(run.name, self.colors[i], xy, loss, diverged, label, arrows))
        if self.network:  # iterates off the drawn plane get a drop line: say what it is
            hud.append(DROP_LINE_NOTE)
        keys = self._anatomy_notes(step, updates, factor, stepping) if anatomy else ()
        alert = f"Worker failed: {self.failure}  (press r to restart)" if self.failure else ""
        challenge, result = self._challenge(step)
        return SceneState(
            title=self.scenario.title,
            bounds=self.surface.bounds,
            heights=self.surface.heights,
            trails=tuple(trails),
            step=step,
            caption=self.caption_at(step),
            captions=tuple(e.caption for e in self.scenario.timeline if e.caption),
            log_height=view.pop("log_height", self.log_height),
            hud_lines=tuple(hud),
            axis_labels=("α (d₁)", "β (d₂)", "loss") if self.network else ("x", "y", "f"),
            alert=view.pop("alert", alert),
            challenge=challenge,
            challenge_result=result,
            key_lines=keys,
            **view,
        )

    def _challenge(self, step: int) -> tuple[str, str]:
        """The challenge bar's text and result at `step` (app/challenge_text.py)."""
        if self.grader is None:
            return "", ""
        names = [run.name for run in self.scenario.runs]
        xy, loss = self.histories[names.index(self.grader.graded)].upto(step)
        if not len(loss):
            return f"Goal: {goal_phrase(self.grader)}", ""
        rival = self.grader.challenge.rival
        theirs = self.histories[names.index(rival)].upto(step)[1] if rival else ()
        now = self.grader.value_at(float(loss[-1]), *map(float, xy[-1]))
        return challenge_line(
            self.grader, step, now, float(theirs[-1]) if len(theirs) else math.nan
        )

    def _updates(self, step: int, hidden) -> dict:
        """Each shown run's update from `step`, taken apart (runs without one left out)."""
        shown = (i for i in range(len(self.scenario.runs)) if i not in hidden)
        updates = {i: self.anatomies[i].at(step) for i in shown}
        return {i: update for i, update in updates.items() if update is not None}

    def _anatomy_notes(self, step: int, updates: dict, factor: int, stepping: bool) -> tuple:
        """The arrows' key for the legend (`SceneState.key_lines`) and, when `stepping`, the
        numbers of the first shown run's update."""
        momentum = any(u.momentum is not None for u in updates.values())
        lines = list(step_anatomy.key_lines(momentum, factor))
        if self.network:
            lines.append((step_anatomy.NETWORK_NOTE, None))
        if stepping and updates:
            i = min(updates)
            name = self.scenario.runs[i].name
            numbers = step_anatomy.panel_lines(name, step, updates[i], self.network)
            lines += [(line, None) for line in numbers]
        return tuple(lines)

    def _sharpness(self, i: int, step: int) -> str:
        """ "  λmax 44.5 (2/η 40)" for run i *at the shown step* (the last estimate at or before
        it; a dash before the first), for a run that measures it: on the run's own legend row,
        not on a line of its own that repeats its name, and a scrub back shows the numbers of
        that step, not the run's latest."""
        if not self.scenario.runs[i].sharpness_every:
            return ""
        rows = self.histories[i].rows(step)
        sharp = rows[:, COLUMNS.index("sharpness")]
        measured = sharp[np.isfinite(sharp)]
        lam = human(float(measured[-1])) if len(measured) else "—"
        lr = rows[-1, COLUMNS.index("lr")] if len(rows) else self.scenario.runs[i].lr
        return f"  λmax {lam} (2/η {human(2 / lr)})"
