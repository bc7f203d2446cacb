"""The control panel: what a student changes while the runs go on.

`control_panel` draws the ImGui window from a read-only view of the app and returns the user's
intents as `Action`s; the app applies them (one-way: the panel never edits state itself). Live
hyper-parameters (lr, noise, momentum, batch size) become timeline changes at the shown step;
optimiser, preconditioner and network shape restart the runs. Slider edits are applied when the
slider is released, so a drag restarts the runs once, not sixty times a second.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.app.commands import Command
from sandbox.catalogue import optimizers, settings
from sandbox.catalogue.networks import ACTIVATIONS, INITS, n_rows_of
from sandbox.scenario import challenge
from sandbox.scenario.schema import AnalyticLandscape, NetworkLandscape, Scenario

OPTIMIZERS = optimizers.NAMES
PRECONDITIONERS = optimizers.PRECONDITIONERS

MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 256


@dataclass(frozen=True)
class LiveEdit:
    """Set a run's hyper-parameter from the shown step on."""

    run: str
    key: str
    value: Any


@dataclass(frozen=True)
class RestartEdit:
    """Replace a value in the scenario (a key path) and restart the runs."""

    path: tuple
    value: Any


@dataclass(frozen=True)
class CommandAction:
    """A command (app/commands.py) a panel asks for, with its value: the step to scrub to, the
    run to show or hide, the file to open or save as."""

    command: Command
    value: Any = None


Action = LiveEdit | RestartEdit | CommandAction


FINE_DRAG = 0.1  # Shift+drag on a logarithmic slider: this power of the factor dragged
LR_RANGE = 10.0  # the learning-rate slider spans ÷10 … ×10 of the file's value: 67 px of drag
# moved η by ×36 across ×/÷100; now by about ×4.5, and Ctrl+click types any value


@dataclass
class PanelState:
    """What the panel remembers between frames (widget values being dragged, the file name)."""

    save_name: str = ""
    pending: dict[str, Any] = field(default_factory=dict)  # slider id -> value while dragging
    item_rects: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    fine: dict[str, tuple[float, float]] = field(default_factory=dict)  # Shift+drag anchors
    controls_open: bool = True  # the docked panels' collapse arrows (app/layout.py)
    timeline_open: bool = True


@dataclass(frozen=True)
class PanelView:
    """The read-only facts the panel shows."""

    scenario: Scenario
    source: str  # file name shown in the header
    colors: list[tuple[float, float, float]]
    hidden: frozenset[int]
    current: list[dict[str, Any]]  # per run: the values in force at the shown step
    choices: list[tuple[str, Path]]  # scenario picker: (label, path)
    message: str  # the last edit's error or confirmation
    message_is_error: bool
    busy: str  # e.g. "applying lr = 0.1 from step 120…"
    details: dict[str, str] = field(default_factory=dict)  # run name -> its numbers now
    notes: tuple[str, ...] = ()  # lines under the runs (e.g. what a drop line is)


FOLD_RUNS_FROM = 4  # runs from which the run sections open folded


def readable(color: tuple[float, float, float], light: bool) -> tuple[float, float, float]:
    """A run's colour for text and plot lines: on the light theme a near-white run (white is
    one of the default run colours) is drawn dark grey instead, or it would vanish."""
    red, green, blue = color
    if light and 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.75:
        return (0.2, 0.2, 0.2)
    return color


def current_values(scenario: Scenario, step: int) -> list[dict[str, Any]]:
    """Each run's live hyper-parameters in force at `step` (its own, then timeline changes)."""
    values = [{key: getattr(r, key) for key in settings.PANEL_KEYS} for r in scenario.runs]
    names = [r.name for r in scenario.runs]
    for event in sorted(scenario.timeline, key=lambda e: e.at):
        if event.set is None or event.at > step or event.set.run not in names:
            continue
        for key in values[0]:
            value = getattr(event.set, key, None)
            if value is not None:
                values[names.index(event.set.run)][key] = value
    return values


def control_panel(gui, view: PanelView, state: PanelState, box: tuple) -> list[Action]:
    """Draw the panel window docked at `box` (pixels: left, top, right, bottom; see
    app/layout.py); return what the user asked for this frame. Its title bar's arrow collapses
    it to that bar (`state.controls_open`), and the 3-D view takes the room."""
    imgui = gui.imgui
    ui = gui.ui * gui.font_scale
    actions: list[Action] = []
    # opened collapsed (lecture mode: controls_open starts False); the arrow opens it
    with gui.docked_window("Controls", box, state.controls_open) as window:
        state.controls_open, state.item_rects["panel"] = window
        if not window.open:
            return actions
        imgui.push_item_width(-140 * ui)  # room for the labels on the right
        try:
            _scenario_picker(gui, view, actions)
            land = view.scenario.landscape
            if isinstance(land, AnalyticLandscape) and land.formula is not None:
                imgui.text_wrapped(f"f(x, y) = {land.formula}")  # the surface has no other name
            if view.busy:
                imgui.text_colored(imgui.ImVec4(1.0, 0.8, 0.3, 1.0), view.busy)
            for i, run in enumerate(view.scenario.runs):
                _run_section(gui, view, state, i, run, actions)
            for note in view.notes:
                imgui.text_disabled(note)
            if isinstance(land, NetworkLandscape):
                with _locked(imgui, view.scenario, None, "landscape"):  # challenges never unlock
                    _network_section(gui, view, state, actions)
            _save_section(gui, view, state, actions)
        finally:
            imgui.pop_item_width()
    return actions


def _scenario_picker(gui, view: PanelView, actions: list[Action]) -> None:
    imgui = gui.imgui
    labels = [label for label, _ in view.choices]
    paths = [path for _, path in view.choices]
    current = next((i for i, p in enumerate(paths) if p.name == view.source), -1)
    imgui.set_next_item_width(-1)
    changed, index = imgui.combo("##scenario", current, labels, 20)
    if changed and index != current:
        actions.append(CommandAction(Command.OPEN, paths[index]))


def _run_section(gui, view: PanelView, state: PanelState, i: int, run, actions) -> None:
    imgui = gui.imgui
    color = imgui.ImVec4(*readable(view.colors[i], gui.light), 1.0)
    imgui.push_id(f"run{i}")
    try:
        imgui.push_style_color(imgui.Col_.text, color)
        # four runs or more open folded: each one's numbers stay above the fold (a fourth
        # run's loss, which captions quote, was below it behind three runs' sliders)
        folded = len(view.scenario.runs) > FOLD_RUNS_FROM - 1
        open_ = imgui.collapsing_header(
            run.name, 0 if folded else imgui.TreeNodeFlags_.default_open
        )
        imgui.pop_style_color()
        if view.details.get(run.name):  # the legend's numbers, shown even when folded
            imgui.text_wrapped(view.details[run.name])
        if not open_:
            return
        shown, visible = imgui.checkbox("visible", i not in view.hidden)
        if shown:
            actions.append(CommandAction(Command.VISIBLE, (i, visible)))
        if len(view.scenario.runs) > 1:  # a scenario keeps one run at least
            imgui.same_line()
            if imgui.small_button("remove"):
                actions.append(CommandAction(Command.REMOVE_RUN, i))
        _run_choices(imgui, view.scenario, i, run, actions)
        _live_sliders(gui, view, state, i, run, actions)
    finally:
        imgui.pop_id()


@contextmanager
def _locked(imgui, scenario: Scenario, name: str | None, key: str):
    """Run `name`'s control of `key` (None: not a run's), greyed out where a challenge locks it."""
    imgui.begin_disabled(challenge.is_locked(scenario, name, key))
    try:
        yield
    finally:
        imgui.end_disabled()


def _run_choices(imgui, scenario: Scenario, i: int, run, actions: list[Action]) -> None:
    """The run's optimiser and preconditioner (changing either restarts the runs)."""
    index = OPTIMIZERS.index(run.optimizer)
    with _locked(imgui, scenario, run.name, "optimizer"):
        changed, index = imgui.combo("optimiser", index, list(OPTIMIZERS))
    if changed and OPTIMIZERS[index] != run.optimizer:
        actions.append(RestartEdit(("runs", i, "optimizer"), OPTIMIZERS[index]))
    matrix = isinstance(run.precondition, tuple)
    kinds = list(PRECONDITIONERS) + (["fixed matrix"] if matrix else [])
    index = len(PRECONDITIONERS) if matrix else PRECONDITIONERS.index(run.precondition)
    with _locked(imgui, scenario, run.name, "precondition"):
        changed, index = imgui.combo("precondition", index, kinds)
    if changed and index < len(PRECONDITIONERS) and kinds[index] != run.precondition:
        actions.append(RestartEdit(("runs", i, "precondition"), kinds[index]))


def _live_sliders(gui, view: PanelView, state: PanelState, i: int, run, actions) -> None:
    """The sliders of the settings the catalogue marks for the panel (a timeline change each),
    greyed out where a challenge locks them."""
    values, name = view.current[i], run.name

    def edit(key: str):
        return lambda v: LiveEdit(name, key, v)

    with _locked(gui.imgui, view.scenario, name, "lr"):
        _log_slider(
            gui,
            state,
            f"lr{i}",
            settings.LABELS["lr"],
            values["lr"],
            run.lr / LR_RANGE,
            run.lr * LR_RANGE,
            actions,
            edit("lr"),
        )
    with _locked(gui.imgui, view.scenario, name, "noise"):
        _slider(
            gui,
            state,
            f"noise{i}",
            settings.LABELS["noise"],
            values["noise"],
            0.0,
            max(1.0, 10 * run.noise),
            "%.3f",
            actions,
            edit("noise"),
        )
    if optimizers.reads(run.optimizer, "momentum"):
        with _locked(gui.imgui, view.scenario, name, "momentum"):
            _slider(
                gui,
                state,
                f"momentum{i}",
                settings.LABELS["momentum"],
                values["momentum"] or 0.0,
                0.0,
                0.99,
                "%.3f",
                actions,
                edit("momentum"),
            )
    land = view.scenario.landscape
    if isinstance(land, NetworkLandscape):
        with _locked(gui.imgui, view.scenario, name, "batch_size"):
            _int_slider(
                gui,
                state,
                f"batch{i}",
                settings.LABELS["batch_size"],
                values["batch_size"] or n_rows_of(land.data),
                1,
                n_rows_of(land.data),
                actions,
                edit("batch_size"),
            )


def _network_section(gui, view: PanelView, state: PanelState, actions) -> None:
    imgui = gui.imgui
    model = view.scenario.landscape.model
    if not imgui.collapsing_header("Network (restarts the runs)"):
        return
    if model.kind != "mlp":  # depth and width sliders are an mlp's; the others are set as given
        imgui.text(model.user.name if model.user else f"cnn, channels {list(model.channels)}")
        return
    hidden, ends = list(model.widths[1:-1]), (model.widths[0], model.widths[-1])
    width = hidden[0] if hidden else 16

    def widths(depth: int, width: int) -> list[int]:
        return [ends[0], *([width] * depth), ends[1]]

    _int_slider(
        gui,
        state,
        "depth",
        "hidden layers",
        len(hidden),
        0,
        MAX_HIDDEN_LAYERS,
        actions,
        lambda v: RestartEdit(("landscape", "model", "widths"), widths(v, width)),
    )
    _int_slider(
        gui,
        state,
        "width",
        "width",
        width,
        1,
        MAX_WIDTH,
        actions,
        lambda v: RestartEdit(("landscape", "model", "widths"), widths(len(hidden), v)),
    )
    for key, options in (("activation", ACTIVATIONS), ("init", INITS)):
        index = options.index(getattr(model, key))
        changed, index = imgui.combo(key, index, list(options))
        if changed and options[index] != getattr(model, key):
            actions.append(RestartEdit(("landscape", "model", key), options[index]))
    changed, skip = imgui.checkbox("skip connections", model.skip)
    if changed:
        actions.append(RestartEdit(("landscape", "model", "skip"), skip))


def _save_section(gui, view: PanelView, state: PanelState, actions) -> None:
    imgui = gui.imgui
    imgui.separator()
    if not state.save_name:
        state.save_name = f"{Path(view.source).stem}-edited.toml"
    imgui.set_next_item_width(-90 * gui.ui * gui.font_scale)
    _, state.save_name = imgui.input_text("##save", state.save_name)
    imgui.same_line()
    if imgui.button("Save as"):
        actions.append(CommandAction(Command.SAVE, state.save_name))
    if view.message:
        color = (1.0, 0.45, 0.4, 1.0) if view.message_is_error else (0.45, 0.85, 0.45, 1.0)
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(imgui.ImVec4(*color), view.message)
        imgui.pop_text_wrap_pos()


# --- sliders that act on release ------------------------------------------------------------
def _release(gui, state: PanelState, key: str, changed: bool, value, actions, make) -> None:
    """Remember the dragged value; emit the action once, when the slider is let go."""
    imgui = gui.imgui
    lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    state.item_rects[key] = (lo.x, lo.y, hi.x, hi.y)  # the widget with its label
    state.item_rects[f"{key} frame"] = (lo.x, lo.y, lo.x + imgui.calc_item_width(), hi.y)
    if changed:
        state.pending[key] = value
    if imgui.is_item_deactivated_after_edit() and key in state.pending:
        actions.append(make(state.pending.pop(key)))
    elif not imgui.is_item_active():
        state.pending.pop(key, None)


def _slider(gui, state, key, label, value, lo, hi, fmt, actions, make) -> None:
    shown = state.pending.get(key, value)
    changed, new = gui.imgui.slider_float(label, float(shown), float(lo), float(hi), fmt)
    _release(gui, state, key, changed, new, actions, make)


def _log_slider(gui, state, key, label, value, lo, hi, actions, make) -> None:
    """A logarithmic slider (equal drags multiply by equal factors); Ctrl+click types a value,
    which may lie outside the slider's range (the scenario's limits still apply)."""
    imgui = gui.imgui
    shown = state.pending.get(key, value)
    lo, hi = min(lo, shown), max(hi, shown)
    changed, new = imgui.slider_float(
        label, float(shown), float(lo), float(hi), "%.3g", imgui.SliderFlags_.logarithmic
    )
    if changed:
        new = _fine(state, key, new, shown, imgui.get_io().key_shift)
    if not imgui.is_item_active():
        state.fine.pop(key, None)
        if imgui.is_item_hovered():
            imgui.set_tooltip(
                "drag: ×10 either way of the file's value\n"
                f"Shift+drag: ten times finer\n{gui.shortcut}+click: type a value"
            )
    _release(gui, state, key, changed, new, actions, make)


def _fine(state: PanelState, key: str, raw: float, shown: float, shift: bool) -> float:
    """With Shift held, a logarithmic slider moves ten times less: the value goes from where
    it was when Shift went down by a tenth of the factor the mouse moves it by."""
    if not shift:
        state.fine.pop(key, None)
        return raw
    anchor, raw_then = state.fine.setdefault(key, (shown, raw))
    return anchor * (raw / raw_then) ** FINE_DRAG if raw > 0 and raw_then > 0 else raw


def _int_slider(gui, state, key, label, value, lo, hi, actions, make) -> None:
    shown = state.pending.get(key, value)
    changed, new = gui.imgui.slider_int(label, int(shown), int(lo), int(hi))
    _release(gui, state, key, changed, new, actions, make)
