"""The desktop app: a pygame window around `Renderer.draw(state, camera)` plus the ImGui panels.

The loop is thin: drain the worker's messages into the view model, advance the shown step by the
playback speed, draw, let the panels draw over the frame and collect their actions, apply them,
flip. Training never runs here (it is in the worker process), so a slow step never stalls a
frame. `App` is a class with `handle(event)` and `frame()` so that tests can drive it with
synthetic events.

Edits restart the worker on the edited scenario. A live change at the shown step k is a timeline
change at k, so the new worker recomputes the same first k steps (replays are deterministic);
until it has caught up with k, the old runs stay on screen ("applying …" in the panel), then the
view switches without a jump.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from sandbox.app import lecture
from sandbox.app.keys import help_rows
from sandbox.app.model import ViewModel
from sandbox.app.worker import BackgroundWorker
from sandbox.render.framing import same_region
from sandbox.scenario.schema import Scenario

PLAYBACK_SECONDS = 20.0  # a whole scenario plays in about this long at speed ×1
FPS = 60
ORBIT_PER_PIXEL = 0.3  # degrees
ZOOM_PER_WHEEL = 1.1  # closer by this factor per notch of the wheel turned up
IDLE_FPS = 20  # polls a second while nothing changes (input and new steps still wake it)
STALL_TIMEOUT = 120.0  # --frames mode gives up when no new step arrives for this long
RELOAD_POLL_SECONDS = 0.5


@dataclass
class Playback:
    """Which step is shown and how fast it advances; `target` is a step to reach as soon as the
    worker has computed it (a caption jumped to before its step exists)."""

    step: int = 0
    speed: float = 1.0  # steps per frame
    paused: bool = False
    carry: float = 0.0  # fractional steps owed at speeds below one step per frame
    target: int | None = None

    def advance(self, available: int) -> None:
        if self.target is not None:
            self.step = min(self.target, available)
            if self.step >= self.target:
                self.target = None
            return
        if self.paused:
            return
        self.carry += self.speed
        whole = int(self.carry)
        self.carry -= whole
        self.step = max(0, min(self.step + whole, available))

    def jump(self, step: int, available: int) -> None:
        self.step, self.carry = max(0, min(step, available)), 0.0
        self.target = step if step > available else None


def default_speed(steps: int) -> float:
    return max(steps / (PLAYBACK_SECONDS * FPS), 0.25)


@dataclass
class Pending:
    """A restarted worker catching up with step `at` while the old runs stay on screen."""

    worker: BackgroundWorker
    model: ViewModel
    at: int
    note: str


class FileWatch:
    """Notices when a scenario file is saved (mtime or size changed); polled, no extra thread."""

    def __init__(self, path: Path | None):
        self.path = path
        self.stamp = self._stamp()
        self.next_poll = 0.0

    def _stamp(self):
        try:
            info = self.path.stat() if self.path else None
        except OSError:
            return None
        return info and (info.st_mtime_ns, info.st_size)

    def changed(self) -> bool:
        now = time.monotonic()
        if self.path is None or now < self.next_poll:
            return False
        self.next_poll = now + RELOAD_POLL_SECONDS
        stamp = self._stamp()
        if stamp is None or stamp == self.stamp:
            return False
        self.stamp = stamp
        return True


class App:
    """One scenario (or a playlist) in a window: worker, view model, camera, panels, playback."""

    def __init__(
        self,
        scenario: Scenario,
        size: tuple[int, int] = (1280, 720),
        *,
        source: Path | None = None,
        lecture_mode: bool = False,
        playlist: list[Path] | None = None,
        user_dir: Path | None = None,
    ):
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from sandbox.app.gui import Gui
        from sandbox.app.panel import PanelState
        from sandbox.render.context import open_window
        from sandbox.render.renderer import Renderer
        from sandbox.render.theme import DARK, LECTURE

        self.pygame = pygame
        self.scenario = scenario
        self.base_title = scenario.title  # the file's: edits are noted after it
        self.edits: dict[tuple, object] = {}  # structural edits since the file was read
        self.source = source
        self.playlist = list(playlist or ([source] if source else []))
        self.lecture = lecture_mode
        self.theme = LECTURE if lecture_mode else DARK
        self.user_dir = user_dir or default_user_dir()
        title = f"Loss Landscape Sandbox: {scenario.title}"
        self.window, self.ctx = open_window(size, title, fill=lecture_mode)
        self.window_size = self.window.get_size()  # fitted to the display
        if lecture_mode:
            self._go_fullscreen()
        self.renderer = Renderer(self.ctx, self.window_size)
        self.gui = Gui(self.ctx, self.window_size, light=lecture_mode)
        # lecture mode: no control panel (`p` shows it), but the timeline with the plots of a
        # scenario whose claim is in them ([view] plots), the panel collapsed to its bar
        self.panel_state = PanelState(controls_open=not lecture_mode)
        self.show_panel = self._panels_at_open(scenario)
        self.hidden: set[int] = set()
        self._drawn: tuple | None = None  # what the frame on screen shows (`_looks`)
        self.camera = None
        self.framed = None  # the camera as framed for the layout, until the user moves it
        self.framed_region = None  # where `framed` puts the surface (renderer.region)
        self.waiting: tuple[str, str] | None = None  # (title, message) of the last frame drawn
        self.show_help = False
        self._key_commands: dict[int, str] | None = None  # pygame key -> command (app/keys.py)
        self.wireframe = False
        self.fullscreen = lecture_mode
        self.recorder = None
        self.running = True
        self.toast = None  # a notice over the frame for a few seconds (`notify`)
        self.drag: tuple[int, tuple[int, int]] | None = None
        self.last_state = None
        self.pending: Pending | None = None
        self.message, self.message_is_error = "", False
        self.reload_error = ""
        self.watch = FileWatch(source)
        self._choices: tuple[float, list] = (-math.inf, [])  # (when listed, picker entries)
        self.start()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """(Re)start the worker and the playback from step 0; the camera stays."""
        self._drop_pending()
        self.worker = BackgroundWorker(self.scenario).start()
        self.model = ViewModel(self.scenario)
        self.playback = Playback(speed=default_speed(self.scenario.steps))

    def close(self) -> None:
        self._drop_pending()
        self.worker.close()
        self.stop_recording()
        self.gui.release()
        self.renderer.release()
        self.pygame.display.quit()

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
        worker = BackgroundWorker(scenario).start()
        self.pending = Pending(worker, ViewModel(scenario), max(at, 0), note)

    def _drop_pending(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.worker.close()

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
            self.playback.jump(pending.at, self.model.available_step())

    def open(self, path: Path) -> bool:
        """Switch to the scenario file at `path` (the camera is re-framed for it)."""
        from sandbox.scenario.load import ScenarioError, load_scenario

        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            self.say(str(error), error=True)
            return False
        self.source, self.watch = path, FileWatch(path)
        self.base_title, self.edits = scenario.title, {}
        self.show_panel = self._panels_at_open(scenario) if self.lecture else self.show_panel
        self.camera, self.hidden, self.reload_error = None, set(), ""
        self.panel_state.save_name = ""
        self.pygame.display.set_caption(f"Loss Landscape Sandbox: {scenario.title}")
        self.restart_with(scenario)
        self.say(f"opened {path.name}")
        return True

    def _panels_at_open(self, scenario: Scenario) -> bool:
        return not self.lecture or scenario.view is not None

    def say(self, message: str, error: bool = False) -> None:
        self.message, self.message_is_error = message, error

    # --- one frame -------------------------------------------------------------------------
    def frame(self) -> bool:
        """Poll events, the worker and the file, then draw and present one frame. Returns whether
        it drew: when nothing changed (no input, no new steps, playback still), the frame on
        screen stays, and the CPU goes to the training (a student's laptop has two cores)."""
        events = self.pygame.event.get()
        for event in events:
            self.handle(event)
        messages = self.worker.drain()
        for message in messages:
            self.model.apply(message)
        died = self.worker.died()
        if died and not self.model.failure:
            self.model.failure = died
        self._poll_pending()
        self._poll_file()
        self.playback.advance(self.model.available_step())
        looks = (self._looks(), self._notices_key())
        if not events and not messages and looks == self._drawn:
            if self.recorder is not None:
                self._record()  # a still view is recorded time too
            return False
        self._drawn = looks
        state = self.model.scene(
            self.playback.step,
            help=help_rows() if self.show_help else (),
            wireframe=self.wireframe,
            theme=self.theme,
            hidden=frozenset(self.hidden),
            alert=self._alert(),
        )
        if state is None:  # the surface is still being computed, or never will be
            failure = self.model.failure
            message = self._alert() if failure else "computing the landscape…"
            self.waiting = (self.scenario.title, message)
            self.renderer.draw_waiting(*self.waiting, self.theme, error=bool(failure))
            self.renderer.present(self.ctx.screen, self.window_size)
        else:
            # With the panels up, the alert goes over them (`_panels`): the HUD's banner at the
            # bottom would sit under the timeline
            drawn = state
            if self.show_panel:  # the panels show the alert, the help goes over them, and an
                # open control panel lists each run's numbers under its name: no legend
                legend = not self.panel_state.controls_open
                drawn = replace(state, alert="", help=(), show_legend=legend)
            docked = self.layout() if self.show_panel else None
            area, captions = (docked.view, docked.captions) if docked else (None, None)
            self.renderer.draw(drawn, self.camera, area, captions)
            self._frame_camera(drawn, area, captions)
            if self.show_panel:
                self._panels(state)
                if state.help:  # the key help goes over everything, the panels too
                    self.renderer.draw_help(state.help, self.theme)
            self.renderer.present(self.ctx.screen, self.window_size)
            self.last_state, self.waiting = state, None
            if self.recorder is not None:
                self._record(self.renderer.read_rgb())
        self._draw_notices()  # on the screen only: not in the recording or a screenshot
        self.pygame.display.flip()
        return True

    def _looks(self) -> tuple:
        """Everything a frame shows besides what events and worker messages change."""
        return (
            self.playback.step,
            self.model.available_step(),
            self.camera,
            self.show_panel,
            self.panel_state.controls_open,
            self.panel_state.timeline_open,
            self.show_help,
            self.wireframe,
            frozenset(self.hidden),
            self.theme,
            self._alert(),
            self.message,
            self.pending.note if self.pending else "",
            self.window_size,
        )

    def layout(self):
        """Where the docked panels and the 3-D view go this frame (app/layout.py)."""
        from sandbox.app import layout

        state = self.panel_state
        ui = self.gui.ui * self.gui.font_scale
        declared = self.scenario.view is not None  # its [view] plots carry the claim
        column = declared and self.lecture  # big type needs the view's full height
        share = (
            layout.INSTRUMENTS_WIDTH
            if column
            else layout.INSTRUMENTS_HEIGHT
            if declared
            else layout.TIMELINE_HEIGHT
        )
        open_ = (state.controls_open, state.timeline_open)
        return layout.docked(self.window_size, ui, *open_, share, timeline_right=column)

    def _frame_camera(self, state, area, captions=None) -> None:
        """Frame the surface in the part of the view that no panel covers, the first time and
        again whenever that part moves (a panel collapsed, the window resized, an alert shown),
        unless the user has moved the camera: then it stays theirs."""
        region = self.renderer.region
        if self.camera is not None:
            if self.camera is not self.framed or same_region(region, self.framed_region):
                return
            self.renderer.draw(state, None, area, captions)  # again, with the view re-framed
        self.camera = self.framed = self.renderer.camera
        self.framed_region = region

    def _alert(self) -> str:
        if self.model.failure:
            return f"Worker failed: {self.model.failure}  (press r to restart)"
        return self.reload_error

    def _panels(self, state) -> None:
        from sandbox.app import panel, plots

        alert = state.alert

        view = panel.PanelView(
            scenario=self.scenario,
            source=self.source.name if self.source else "",
            colors=self.model.colors,
            hidden=frozenset(self.hidden),
            current=panel.current_values(self.scenario, self.playback.step),
            choices=self._scenario_choices(),
            message=self.message,
            message_is_error=self.message_is_error,
            busy=f"{self.pending.note}…" if self.pending else "",
            details={trail.name: trail.label for trail in state.trails},
            notes=state.hud_lines,
        )
        timeline = plots.TimelineView(
            names=[run.name for run in self.model.scenario.runs],
            colors=self.model.colors,
            histories=self.model.histories,
            hidden=frozenset(self.hidden),
            step=self.playback.step,
            available=self.model.available_step(),
            steps=self.model.scenario.steps,
            paused=self.playback.paused,
            speed=self.playback.speed,
            measured=bool(self.model.sharpness),
        )
        gui = self.gui
        layout = self.layout()
        gui.begin_frame()
        actions = panel.control_panel(gui, view, self.panel_state, layout.controls)
        actions += plots.timeline_window(gui, timeline, layout.timeline, self.panel_state)
        rects = self.panel_state.item_rects
        left, right = layout.timeline[0], layout.timeline[2]
        if alert:  # just above the timeline, wherever the user has moved it
            bottom = rects["plots"][1] if "plots" in rects else self.window_size[1]
            gui.banner(alert, left, right, bottom - 8 * gui.ui)
        gui.end_frame(self.renderer.targets.final_fbo)
        for action in actions:
            self.apply(action)

    def _scenario_choices(self) -> list:
        """The picker's entries, listed again at most every RELOAD_POLL_SECONDS (a folder scan
        per frame would sit on the render loop)."""
        listed, choices = self._choices
        now = time.monotonic()
        if now - listed > RELOAD_POLL_SECONDS:
            choices = lecture.scenario_choices(self.user_dir, self.source)
            self._choices = (now, choices)
        return choices

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

    # --- actions from the panels -------------------------------------------------------------
    def apply(self, action) -> None:
        from sandbox.app.panel import Command, LiveEdit, RestartEdit
        from sandbox.scenario import edit
        from sandbox.scenario.load import ScenarioError

        try:
            if isinstance(action, LiveEdit):
                at = self.playback.step
                scenario = edit.live_change(self.scenario, action.run, action.key, action.value, at)
                note = f"{action.key} = {action.value:.4g} for {action.run} from step {at}"
                self.restart_with(scenario, at, f"applying {note}")
                self.say(note)
            elif isinstance(action, RestartEdit):
                scenario = edit.restart_change(self.scenario, action.path, action.value)
                self.edits[action.path] = action.value
                note = ", ".join(f"{path[-1]} = {value}" for path, value in self.edits.items())
                # the title says what was changed: "with skip connections" must not stay
                scenario = scenario.model_copy(
                    update={"title": f"{self.base_title} (edited: {note})"}
                )
                self.restart_with(
                    scenario,
                    note=f"restarting with {action.path[-1]} = {action.value}",
                    keep_showing=True,
                )
                self.pygame.display.set_caption(f"Loss Landscape Sandbox: {scenario.title}")
                self.say(f"{action.path[-1]} = {action.value}: runs restarted")
            elif isinstance(action, Command):
                self.command(action.name, action.value)
        except ScenarioError as error:
            self.say(f"not applied: {error}", error=True)

    def command(self, name: str, value=None) -> None:
        playback = self.playback
        if name == "toggle":
            playback.paused = not playback.paused
        elif name == "step":
            playback.paused = True
            playback.jump(playback.step + 1, self.model.available_step())
        elif name == "faster":
            playback.speed *= 2
        elif name == "slower":
            playback.speed = max(playback.speed / 2, 1 / 64)
        elif name == "scrub":
            playback.jump(int(value), self.model.available_step())
        elif name == "visible":
            index, visible = value
            self.hidden.discard(index) if visible else self.hidden.add(index)
        elif name == "open":
            self.open(Path(value))
        elif name == "save":
            self.save(str(value))

    def save(self, name: str) -> Path | None:
        from sandbox.scenario.edit import save_scenario

        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.user_dir / path
        if path.suffix != ".toml":
            path = path.with_suffix(".toml")
        origin = self.source.name if self.source else "an unsaved scenario"
        header = f"Saved from the Loss Landscape Sandbox on {time.strftime('%Y-%m-%d')}"
        try:
            save_scenario(self.scenario, path, f"{header}, edited from {origin}.")
        except OSError as error:
            self.say(f"could not save {path}: {error.strerror or error}", error=True)
            return None
        self.say(f"saved {path}")
        self._choices = (-math.inf, [])  # the picker shows the new file at once
        return path

    # --- input -----------------------------------------------------------------------------
    def handle(self, event) -> None:
        """React to one pygame event (the panels see it first when they are shown)."""
        pg = self.pygame
        panel = self.show_panel
        if panel:
            self.gui.process_event(event)
        if event.type == pg.QUIT:
            self.running = False
        elif event.type == pg.KEYDOWN:
            if not (panel and self.gui.wants_keyboard):
                self.key(event.key)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button in (1, 3):
            if not (panel and self.gui.wants_mouse):
                self.drag = (event.button, event.pos)
        elif event.type == pg.MOUSEBUTTONUP:
            self.drag = None
        elif event.type == pg.MOUSEMOTION and self.drag and self.camera is not None:
            self.mouse_drag(event.pos)
        elif event.type == pg.MOUSEWHEEL and self.camera is not None:
            if not (panel and self.gui.wants_mouse):
                # wheel up (away from the user) comes closer; "natural" scrolling flips y
                notches = -event.y if getattr(event, "flipped", False) else event.y
                self.camera = self.camera.zoom(ZOOM_PER_WHEEL**notches)
        elif event.type in (pg.VIDEORESIZE, pg.WINDOWSIZECHANGED):
            self.resize(self.pygame.display.get_surface().get_size())

    def key(self, key: int) -> None:
        """A key press, through the one key table (app/keys.py) that the help overlay and the
        README show."""
        if self._key_commands is None:
            from sandbox.app.keys import key_commands

            self._key_commands = key_commands(self.pygame)
        command = self._key_commands.get(key)
        if command in ("toggle", "step", "faster", "slower"):
            self.command(command)
        elif command is not None:
            getattr(self, f"_key_{command}")()

    def _key_quit(self) -> None:
        self.running = False

    def _key_restart(self) -> None:
        self.worker.close()
        self.start()

    def _key_fullscreen(self) -> None:
        pg = self.pygame
        self.fullscreen = not self.fullscreen
        pg.display.toggle_fullscreen()
        self.resize(pg.display.get_surface().get_size())

    def _key_screenshot(self) -> None:
        self.screenshot(Path(f"sandbox-step{self.playback.step:06d}.png"))

    def _key_record(self) -> None:
        self.stop_recording() if self.recorder else self.start_recording()

    def _key_help(self) -> None:
        self.show_help = not self.show_help

    def _key_grid(self) -> None:
        self.wireframe = not self.wireframe

    def _key_panels(self) -> None:
        self.show_panel = not self.show_panel  # a framed camera follows (_frame_camera)

    def _key_next_caption(self) -> None:
        self.next_caption()

    def _key_previous_caption(self) -> None:
        self.previous_caption()

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

    def mouse_drag(self, pos: tuple[int, int]) -> None:
        button, (x0, y0) = self.drag
        dx, dy = pos[0] - x0, pos[1] - y0
        self.drag = (button, pos)
        if button == 1:
            self.camera = self.camera.orbit(-dx * ORBIT_PER_PIXEL, dy * ORBIT_PER_PIXEL)
        else:  # the surface follows the cursor (exactly so at the depth of the view's centre)
            height = self.window_size[1]
            self.camera = self.camera.pan(dx / height, -dy / height)

    def resize(self, size: tuple[int, int]) -> None:
        """The window changed size: render at the new size (the camera keeps its aspect)."""
        if size != self.window_size and min(size) >= 16:
            self.window_size = size
            self.stop_recording()  # a video's frame size cannot change mid-stream
            self.renderer.resize(size)
            self.gui.resize(size)

    def _go_fullscreen(self) -> None:
        """Lecture mode: fill the screen (where there is no screen, keep the window's size)."""
        pg = self.pygame
        desktop = pg.display.get_desktop_sizes()
        if os.environ.get("SDL_VIDEODRIVER") == "offscreen" or not desktop:
            return
        try:
            pg.display.toggle_fullscreen()
        except pg.error:
            return
        self.window_size = pg.display.get_surface().get_size()

    # --- output ----------------------------------------------------------------------------
    def screenshot(self, path: Path) -> Path | None:
        """Save the frame as a PNG (without the notices); says where, or why not (None)."""
        from sandbox.render.frames import save_png

        path = Path(path).absolute()
        try:
            save_png(self.renderer.read_rgb(), path)
        except OSError as error:
            self.notify(f"could not save {path}: {error.strerror or error}", error=True)
            return None
        self.notify(f"saved {path}")
        return path

    def start_recording(self) -> None:
        """Record what the window shows to sandbox-<date>-<time>.mp4, at the speed it is shown."""
        from sandbox.app.recording import Recording

        path = Path(f"sandbox-{time.strftime('%Y%m%d-%H%M%S')}.mp4").absolute()
        try:
            self.recorder = Recording(path, time.monotonic())
        except OSError as error:
            self.notify(f"cannot record in {path.parent}: {error.strerror or error}", error=True)
            return
        self.notify("recording… (v to stop)")

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            seconds = recorder.finish(time.monotonic())
        except OSError as error:
            self.notify(f"recording failed: {error.strerror or error}", error=True)
            return
        self.notify(f"saved recording {recorder.path}, {seconds:.1f} s")

    def _record(self, rgb=None) -> None:
        """The recording gets the frame just drawn, or (None) hears that time passed."""
        try:
            if rgb is None:
                self.recorder.tick(time.monotonic())
            else:
                self.recorder.add(rgb, time.monotonic())
        except OSError as error:  # disk full, ffmpeg gone: stop, and say so
            recorder, self.recorder = self.recorder, None
            recorder.abort(error)
            self.notify(f"recording stopped: {error.strerror or error}", error=True)

    def notify(self, message: str, error: bool = False) -> None:
        """`say`, and show it over the frame for a few seconds (seen with the panels hidden)."""
        from sandbox.app.recording import toast

        self.say(message, error)
        self.toast = toast(message, time.monotonic(), error)

    def _notices_key(self) -> tuple:
        """What the notices show now: the frame is drawn again when it changes."""
        from sandbox.app.recording import minutes

        now = time.monotonic()
        shown = self.toast.shown(now) if self.toast else ""
        elapsed = minutes(self.recorder.elapsed(now)) if self.recorder else ""
        return shown, elapsed

    def _draw_notices(self) -> None:
        from sandbox.render.notices import draw_notices

        message, elapsed = self._notices_key()
        if not (message or elapsed):
            return
        screen = self.ctx.screen
        screen.use()
        screen.viewport = (0, 0, *self.window_size)
        error = self.toast is not None and self.toast.error
        draw_notices(
            self.renderer.overlay, self.window_size, self._notice_corner(), message, error, elapsed
        )

    def _notice_corner(self) -> tuple[float, float]:
        """The bottom left of the part of the window that the panels leave free, in pixels."""
        if self.show_panel:
            left, _, _, bottom = self.layout().view
            return left, bottom
        return 0.0, float(self.window_size[1])


def default_user_dir() -> Path:
    """Where the picker looks for the user's scenarios and "Save as" writes them."""
    return Path(os.environ.get("SANDBOX_USER_DIR", Path.home() / "sandbox-scenarios"))


def run_app(
    scenario: Scenario,
    *,
    size: tuple[int, int] = (1280, 720),
    frames: int | None = None,
    screenshot: Path | None = None,
    source: Path | None = None,
    lecture_mode: bool = False,
    playlist: list[Path] | None = None,
) -> int:
    """Open the window and run until closed, or for `frames` frames of progress, then save
    `screenshot`. Returns the exit code: 1 when a scripted run got nothing from the worker or
    the worker failed (a screenshot of a blank or stale view must not pass for a result)."""
    app = App(scenario, size, source=source, lecture_mode=lecture_mode, playlist=playlist)
    clock = app.pygame.time.Clock()
    count, stalled_since, computed = 0, time.monotonic(), -1
    try:
        while app.running and (frames is None or count < frames):
            drew = app.frame()
            if app.model.available_step() > computed:
                stalled_since, computed = time.monotonic(), app.model.available_step()
            if frames is not None:
                if app.model.failure or time.monotonic() - stalled_since > STALL_TIMEOUT:
                    break  # a screenshot of whatever is there rather than a hang
                count += app.last_state is not None and not _waiting(app)
            # capped, and slower while nothing changes: the cycles go to the training
            clock.tick(FPS if drew else IDLE_FPS)
        if screenshot is not None and app.screenshot(screenshot) is None:
            print(f"error: {app.message}", file=sys.stderr)
            return 1
    finally:
        app.close()
    if frames is None:
        return 0
    steps = app.scenario.steps
    print(
        f"shown step {app.playback.step} of {steps}; computed {max(computed, 0)}", file=sys.stderr
    )
    if app.model.failure:
        print(f"error: the worker failed: {app.model.failure}", file=sys.stderr)
        return 1
    if computed < 0:
        print(f"error: no step computed in {STALL_TIMEOUT:.0f} s", file=sys.stderr)
        return 1
    return 0


def _waiting(app: App) -> bool:
    """Whether playback is held up by the worker (the next step to show is not computed yet):
    such frames are not progress, so `--frames N` shows N frames of the runs moving however
    slow the machine, instead of N frames of one step."""
    playback = app.playback
    ahead = playback.step >= app.model.available_step() and not app.worker.finished
    return (not playback.paused and ahead) or playback.target is not None
