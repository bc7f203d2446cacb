"""What the app does, without a window: playback, the scenario or playlist, restarts and pending
edits, hidden runs, captions, file watching and messages.

`Controller` is plain Python (no pygame, no moderngl): time comes from an injected clock and
workers from an injected factory, so a test drives it like any object. The window shell
(`sandbox.app.window.App`) draws what it holds, feeds it the user's commands and the panels'
actions, and calls `update()` once a frame.

Edits restart the worker on the edited scenario. A live change at the shown step k is a timeline
change at k, so the new worker recomputes the same first k steps (replays are deterministic);
until it has caught up with k, the old runs stay on screen ("applying …" in the panel), then the
view switches without a jump.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.app import lecture
from sandbox.app.commands import PLAYBACK_COMMANDS, WINDOW_COMMANDS, Command
from sandbox.app.model import ViewModel
from sandbox.app.panel import PanelState
from sandbox.app.playback import (
    RELOAD_POLL_SECONDS,
    Clock,
    FileWatch,
    Pending,
    Playback,
    default_speed,
)
from sandbox.app.worker import Spares
from sandbox.scenario.schema import Scenario

CAPTION = "Loss Landscape Sandbox: {}"


def default_user_dir() -> Path:
    """Where the picker looks for the user's scenarios and "Save as" writes them."""
    return Path(os.environ.get("SANDBOX_USER_DIR", Path.home() / "sandbox-scenarios"))


class Controller:
    """One scenario (or a playlist): its worker, view model, playback and what the user chose."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        source: Path | None = None,
        lecture_mode: bool = False,
        playlist: list[Path] | None = None,
        user_dir: Path | None = None,
        clock: Clock = time.monotonic,
        workers: Callable[[Scenario], object] | None = None,
    ):
        self.clock = clock
        # by default each scenario is computed in a spawned process, one kept waiting ahead
        self.spares = Spares() if workers is None else None
        self.workers = workers or self.spares
        self.scenario = scenario
        self.base_title = scenario.title  # the file's: edits are noted after it
        self.caption = CAPTION.format(scenario.title)  # the window's title
        self.edits: dict[tuple, object] = {}  # structural edits since the file was read
        self.source = source
        self.playlist = list(playlist or ([source] if source else []))
        self.lecture = lecture_mode
        self.user_dir = user_dir or default_user_dir()
        # lecture mode: no control panel (`p` shows it), but the timeline with the plots of a
        # scenario whose claim is in them ([view] plots), the panel collapsed to its bar
        self.panel_state = PanelState(controls_open=not lecture_mode)
        self.show_panel = self._panels_at_open(scenario)
        self.hidden: set[int] = set()
        self.selected = 0  # the run a dropped ball copies and Delete removes (the last placed)
        self.camera = None  # the view's camera; None until the shell frames the surface
        self.show_help = False
        self.wireframe = False
        self.anatomy = False  # the anatomy arrows (app/anatomy.py)
        self.running = True
        self.last_state = None  # the scene of the last frame drawn (the shell sets it)
        self.pending: Pending | None = None
        self.message, self.message_is_error = "", False
        self.reload_error = ""
        self.watch = FileWatch(source, clock)
        self._choices: tuple[float, list] = (-math.inf, [])  # (when listed, picker entries)
        self.start()

    # --- lifecycle -------------------------------------------------------------------------
    def _worker(self, scenario: Scenario):
        return self.workers(scenario)

    def start(self) -> None:
        """(Re)start the worker and the playback from step 0; the camera stays."""
        self._drop_pending()
        self.worker = self._worker(self.scenario)
        self.model = ViewModel(self.scenario)
        self.playback = Playback(speed=default_speed(self.scenario.steps))

    def restart(self) -> None:
        self.worker.close()
        self.start()

    def close(self) -> None:
        self._drop_pending()
        self.worker.close()
        if self.spares is not None:
            self.spares.close()

    def restart_with(
        self, scenario: Scenario, at: int = 0, note: str = "", keep_showing: bool = False
    ) -> None:
        """Run `scenario` instead. With `at` > 0 or `keep_showing`, the old runs stay on screen
        until the new worker has its surface and has computed step `at`, then it continues from
        there: an edit does not blank the window while the new landscape is computed."""
        self._drop_pending()
        self.scenario = scenario
        if at <= 0 and not (keep_showing and self.last_state is not None):
            self.worker.close()
            speed = self.playback.speed
            self.start()
            self.playback.speed = speed
            return
        self.pending = Pending(self._worker(scenario), ViewModel(scenario), max(at, 0), note)

    def _drop_pending(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.worker.close()

    def update(self) -> bool:
        """Once a frame: drain the worker, switch to a restart that has caught up, reload a
        saved file, advance the playback. Returns whether the worker sent anything."""
        messages = self.worker.drain()
        for message in messages:
            self.model.apply(message)
        died = self.worker.died()
        if died and not self.model.failure:
            self.model.failure = died
        self._poll_pending()
        self._poll_file()
        self.playback.advance(self.model.available_step())
        return bool(messages)

    def _poll_pending(self) -> None:
        pending = self.pending
        if pending is None:
            return
        for message in pending.worker.drain(limit=256):
            pending.model.apply(message)
        failed = pending.model.failure or pending.worker.died()
        model = pending.model
        ready = model.surface is not None and model.available_step() >= pending.at
        if ready or model.finished or failed:
            self.pending = None
            self.worker.close()
            self.worker, self.model = pending.worker, pending.model
            self.hidden = self.hidden if pending.hidden is None else set(pending.hidden)
            self.playback.jump(pending.at, self.model.available_step())

    # --- scenarios -------------------------------------------------------------------------
    def open(self, path: Path) -> bool:
        """Switch to the scenario file at `path` (the camera is re-framed for it)."""
        from sandbox.scenario.load import ScenarioError, load_scenario

        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            self.say(str(error), error=True)
            return False
        self.source, self.watch = path, FileWatch(path, self.clock)
        self.base_title, self.edits = scenario.title, {}
        self.show_panel = self._panels_at_open(scenario) if self.lecture else self.show_panel
        self.camera, self.hidden, self.reload_error = None, set(), ""
        self.panel_state.save_name = ""
        self.caption = CAPTION.format(scenario.title)
        self.restart_with(scenario)
        self.say(f"opened {path.name}")
        return True

    def _panels_at_open(self, scenario: Scenario) -> bool:
        return not self.lecture or scenario.view is not None

    def _poll_file(self) -> None:
        """Hot reload: the scenario file was saved; a bad edit keeps the last good state."""
        if not self.watch.changed():
            return
        from sandbox.scenario.load import ScenarioError, load_scenario

        try:
            scenario = load_scenario(self.source)
        except ScenarioError as error:
            problems = error.problems
            more = f"  (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            self.reload_error = f"{problems[0]}{more}: still showing the last good version"
            self.say(str(error), error=True)
            return
        self.reload_error = ""
        self.say(f"reloaded {self.source.name}")
        self.base_title, self.edits = scenario.title, {}
        self.restart_with(scenario, note=f"reloading {self.source.name}", keep_showing=True)

    def scenario_choices(self) -> list:
        """The picker's entries, listed again at most every RELOAD_POLL_SECONDS (a folder scan
        per frame would sit on the render loop)."""
        listed, choices = self._choices
        now = self.clock()
        if now - listed > RELOAD_POLL_SECONDS:
            choices = lecture.scenario_choices(self.user_dir, self.source)
            self._choices = (now, choices)
        return choices

    def save(self, name: str) -> Path | None:
        from sandbox.scenario.edit import SAVED_BY, save_scenario

        model = getattr(self.scenario.landscape, "model", None)
        if model is not None and model.kind == "module":  # it lives in the caller's Python
            self.say("a module handed over from Python cannot be saved as a file", error=True)
            return None
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.user_dir / path
        if path.suffix != ".toml":
            path = path.with_suffix(".toml")
        origin = self.source.name if self.source else "an unsaved scenario"
        header = f"{SAVED_BY} on {time.strftime('%Y-%m-%d')}"
        try:
            save_scenario(self.scenario, path, f"{header}, edited from {origin}.", self.source)
        except OSError as error:
            self.say(f"could not save {path}: {error.strerror or error}", error=True)
            return None
        self.say(f"saved {path}")
        self._choices = (-math.inf, [])  # the picker shows the new file at once
        return path

    # --- actions and commands --------------------------------------------------------------
    def apply(self, action) -> None:
        """An action from the panels (panel.LiveEdit, panel.RestartEdit or panel.CommandAction)."""
        from sandbox.app.panel import CommandAction, LiveEdit, RestartEdit
        from sandbox.scenario.load import ScenarioError

        try:
            if isinstance(action, LiveEdit):
                self._live_edit(action)
            elif isinstance(action, RestartEdit):
                self._restart_edit(action)
            elif isinstance(action, CommandAction):
                self.command(action.command, action.value)
        except ScenarioError as error:
            self.say(f"not applied: {error}", error=True)

    def _live_edit(self, action) -> None:
        from sandbox.scenario import edit

        at = self.playback.step
        scenario = edit.live_change(self.scenario, action.run, action.key, action.value, at)
        note = f"{action.key} = {action.value:.4g} for {action.run} from step {at}"
        self.restart_with(scenario, at, f"applying {note}")
        self.say(note)

    def _restart_edit(self, action) -> None:
        from sandbox.scenario import edit

        scenario = edit.restart_change(self.scenario, action.path, action.value)
        self.edits[action.path] = action.value
        note = ", ".join(f"{path[-1]} = {value}" for path, value in self.edits.items())
        # the title says what was changed: "with skip connections" must not stay
        scenario = scenario.model_copy(update={"title": f"{self.base_title} (edited: {note})"})
        self.restart_with(
            scenario, note=f"restarting with {action.path[-1]} = {action.value}", keep_showing=True
        )
        self.caption = CAPTION.format(scenario.title)
        self.say(f"{action.path[-1]} = {action.value}: runs restarted")

    def command(self, command: Command | str, value=None) -> None:
        """Do `command` (a Command, or its name as keys.py and the panels write it)."""
        command = Command(command)
        if command in WINDOW_COMMANDS:
            raise ValueError(f"{command.value} needs the window: App.command does it")
        if command in PLAYBACK_COMMANDS:
            PLAYBACK_COMMANDS[command](self.playback, self.model.available_step(), value)
        elif command is Command.VISIBLE:
            index, visible = value
            self.hidden.discard(index) if visible else self.hidden.add(index)
        elif command is Command.OPEN:
            self.open(Path(value))
        elif command is Command.SAVE:
            self.save(str(value))
        elif command in (Command.DROP_BALL, Command.MOVE_START, Command.REMOVE_RUN):
            self._place(command, value)
        else:
            self._toggle(command)

    # --- balls placed by hand -------------------------------------------------------------
    def _place(self, command: Command, value) -> None:
        """A ball dropped, a start dragged or a run removed (app/placing.py): the scenario
        edited as "Save as" writes it and the runs recomputed; the old ones stay on screen
        until the new worker has reached the shown step."""
        from sandbox.app.placing import place
        from sandbox.scenario.load import ScenarioError

        try:
            placed = place(self.scenario, self.hidden, self.selected, command, value)
        except (ScenarioError, ValueError) as error:
            self.say(f"not applied: {error}", error=True)
            return
        self.selected = placed.selected
        self.restart_with(placed.scenario, self.playback.step, placed.note, keep_showing=True)
        if self.pending is None:
            self.hidden = placed.hidden
        else:  # the old runs stay on screen until then, less a removed one
            self.pending.hidden = placed.hidden
            self.hidden |= {placed.removed} if placed.removed is not None else set()
        self.say(placed.note)

    def _toggle(self, command: Command) -> None:
        if command is Command.RESTART:
            self.restart()
        elif command is Command.NEXT_CAPTION:
            self.next_caption()
        elif command is Command.PREVIOUS_CAPTION:
            self.previous_caption()
        elif command is Command.PANELS:
            self.show_panel = not self.show_panel  # a framed camera follows (App)
        elif command is Command.GRID:
            self.wireframe = not self.wireframe
        elif command is Command.ANATOMY:
            self.anatomy = not self.anatomy
        elif command is Command.HELP:
            self.show_help = not self.show_help
        elif command is Command.QUIT:
            self.running = False

    def next_caption(self) -> None:
        """Presenter clicker: the next caption's step, or the next scenario of the playlist."""
        step = lecture.next_caption(self.model.scenario, self.playback.step)
        if step is not None:
            self.playback.jump(step, self.model.available_step())
        else:
            self._playlist_move(+1)

    def previous_caption(self) -> None:
        step = lecture.previous_caption(self.model.scenario, self.playback.step)
        if step is not None:
            self.playback.jump(step, self.model.available_step())
        else:
            self._playlist_move(-1)

    def _playlist_move(self, offset: int) -> None:
        if self.source not in self.playlist:
            return
        index = self.playlist.index(self.source) + offset
        if 0 <= index < len(self.playlist):
            self.open(self.playlist[index])

    # --- what the frame shows --------------------------------------------------------------
    def say(self, message: str, error: bool = False) -> None:
        self.message, self.message_is_error = message, error

    def alert(self) -> str:
        if self.model.failure:
            return f"Worker failed: {self.model.failure}  (press r to restart)"
        return self.reload_error

    def looks(self) -> tuple:
        """What this object contributes to a frame besides worker messages (App._looks)."""
        return (
            self.playback.step,
            self.model.available_step(),
            self.camera,
            self.show_panel,
            self.panel_state.controls_open,
            self.panel_state.timeline_open,
            self.show_help,
            self.wireframe,
            self.anatomy,
            frozenset(self.hidden),
            self.alert(),
            self.message,
            self.pending.note if self.pending else "",
        )

    def waiting_for_worker(self) -> bool:
        """Whether playback is held up by the worker (the next step to show is not computed
        yet): `--frames N` counts only frames of the runs moving, however slow the machine."""
        playback = self.playback
        ahead = playback.step >= self.model.available_step() and not self.worker.finished
        return (not playback.paused and ahead) or playback.target is not None
