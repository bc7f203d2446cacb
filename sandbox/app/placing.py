"""Balls placed by hand: what a click on the surface, a dragged start or a removed run does to
the scenario. Pure functions of the scenario (no window): each returns the edited scenario,
which the controller runs and "Save as" writes, so a replay of the saved file is the session.

A ball starts at a landscape point: (x, y) on an analytic surface, the point θ(a, b) of the
slice plane on a network (`start` in the run), which needs a plane that is known before the
runs start (random, or Hessian at the initial weights; a PCA plane is made from the runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.app.commands import Command
from sandbox.app.model import default_colors
from sandbox.render.scene import RUN_COLORS
from sandbox.scenario import edit
from sandbox.scenario.schema import NetworkLandscape, Scenario
from sandbox.scenario.slice_rules import plane_before_runs


@dataclass(frozen=True)
class Placed:
    scenario: Scenario
    hidden: set[int]  # the hidden runs' indices in the new scenario
    selected: int  # the run placed last (a new ball copies it, Delete removes it)
    note: str  # what happened, for the status line
    removed: int | None = None  # the index the removed run had


def place(scenario: Scenario, hidden: set[int], selected: int, command: Command, value) -> Placed:
    """`command` (DROP_BALL (x, y), MOVE_START (index, (x, y)) or REMOVE_RUN index/None) done
    to `scenario`; raises ValueError, or ScenarioError for an edit the file rules refuse."""
    if command is Command.DROP_BALL:
        problem = cannot_start_on_plane(scenario)
        if problem:
            raise ValueError(problem)
        copied = like(scenario, hidden, selected)
        name = ball_name(scenario, scenario.runs[copied].optimizer)
        edited = edit.add_run(scenario, copied, value, name, free_color(scenario))
        index = len(edited.runs) - 1
        return Placed(edited, hidden, index, f"{edited.runs[index].name} dropped at {_xy(value)}")
    if command is Command.MOVE_START:
        index, start = value
        edited = edit.move_start(scenario, index, start)
        return Placed(edited, hidden, index, f"{edited.runs[index].name} starts at {_xy(start)}")
    if command is Command.REMOVE_RUN:
        index = selected if value is None else int(value)
        if not 0 <= index < len(scenario.runs):
            raise ValueError(f"no run number {index}")
        edited = edit.remove_run(scenario, index)
        shifted = {i - (i > index) for i in hidden if i != index}
        selected = min(index, len(edited.runs) - 1)
        note = f"{scenario.runs[index].name} removed"
        return Placed(edited, shifted, selected, note, removed=index)
    raise ValueError(f"{command.value} places no ball")


# After the runs' palette: colours that also stand out on viridis, for the seventh ball on.
PLACED_COLORS = ("#33f2a6", "#fff273", "#a68cff", "#f27373", "#8cffff", "#d9d9d9")


def ball_name(scenario: Scenario, optimizer: str) -> str:
    """ "adam ball 2": the optimiser it runs and the next number no run has."""
    names = {run.name for run in scenario.runs}
    number = 1
    while f"{optimizer} ball {number}" in names:
        number += 1
    return f"{optimizer} ball {number}"


def free_color(scenario: Scenario) -> str:
    """The first palette colour no run is drawn in (cycling when all are taken)."""
    used = {tuple(round(c * 255) for c in color) for color in default_colors(scenario)}
    palette = ["#" + "".join(f"{round(c * 255):02x}" for c in color) for color in RUN_COLORS]
    palette += PLACED_COLORS
    for color in palette:
        if tuple(int(color[k : k + 2], 16) for k in (1, 3, 5)) not in used:
            return color
    return palette[len(scenario.runs) % len(palette)]


def like(scenario: Scenario, hidden: set[int], selected: int) -> int:
    """The run a new ball copies: the selected one if it is shown, else the first shown."""
    shown = [i for i in range(len(scenario.runs)) if i not in hidden]
    return selected if selected in shown or not shown else shown[0]


def cannot_start_on_plane(scenario: Scenario) -> str:
    """Why no ball can start on this landscape's plane ("" when one can)."""
    land = scenario.landscape
    if isinstance(land, NetworkLandscape) and not plane_before_runs(land):
        return (
            f"this slice (directions {land.slice.directions}, center {land.slice.center}) is "
            "made from the runs themselves; balls can be dropped on random slices and on "
            "Hessian slices at the initial weights"
        )
    return ""


def _xy(point) -> str:
    return f"({point[0]:.3g}, {point[1]:.3g})"
