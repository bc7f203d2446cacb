"""The desktop app: a thin shell that composes the controller, a window backend, the renderer and
the ImGui panels.

The loop is thin: take the backend's input events, let the controller drain the worker's
messages and advance the shown step, draw `Renderer.draw(state, camera)`, let the panels draw
over the frame and collect their actions, hand them to the controller, present, flip. Training
never runs here (it is in the worker process), so a slow step never stalls a frame.

The backend is a pygame window (`PygameWindow`, the default) or a framebuffer (`Headless`):
`App(scenario, backend=Headless((1280, 720)))` is an object a test drives in-process, with
synthetic events (`backend.post`), `frame()`, commands and screenshots. What the app *does*
(playback, edits, restarts, captions, reloads) is in `sandbox.app.controller`, which needs no
window at all.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sandbox.app.backends import Headless, PygameWindow, WindowBackend
from sandbox.app.capture import Capture
from sandbox.app.controller import (
    CAPTION,
    WINDOW_COMMANDS,
    Command,
    Controller,
    default_user_dir,
)
from sandbox.app.frame import FrameDrawing
from sandbox.app.keys import shortcut_mask
from sandbox.app.playback import FPS, Clock
from sandbox.app.pointer import Pointer
from sandbox.scenario.schema import Scenario

__all__ = ["FPS", "App", "Command", "Headless", "PygameWindow", "default_user_dir", "run_app"]

ORBIT_PER_PIXEL = 0.3  # degrees
ZOOM_PER_WHEEL = 1.1  # closer by this factor per notch of the wheel turned up
IDLE_FPS = 20  # polls a second while nothing changes (input and new steps still wake it)
STALL_TIMEOUT = 120.0  # --frames mode gives up when no new step arrives for this long

# The controller's state, read and written through the app as before the split
_CONTROLLER_FIELDS = (
    "scenario", "model", "worker", "playback", "pending", "message", "message_is_error",
    "show_panel", "hidden", "camera", "show_help", "wireframe", "running", "last_state",
    "panel_state", "source", "playlist", "lecture", "user_dir", "edits", "base_title",
    "reload_error", "watch",
)  # fmt: skip


def _controller_field(name: str) -> property:
    def get(app: App):
        return getattr(app.controller, name)

    def put(app: App, value) -> None:
        setattr(app.controller, name, value)

    return property(get, put, doc=f"`Controller.{name}`")


class App(FrameDrawing, Capture):
    """One scenario (or a playlist) on a window backend: controller, renderer, panels."""

    def __init__(
        self,
        scenario: Scenario,
        size: tuple[int, int] = (1280, 720),
        *,
        source: Path | None = None,
        lecture_mode: bool = False,
        playlist: list[Path] | None = None,
        user_dir: Path | None = None,
        backend: WindowBackend | None = None,
        clock: Clock = time.monotonic,
        workers=None,
        platform: str | None = None,
    ):
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from sandbox.app.gui import Gui
        from sandbox.render.renderer import Renderer
        from sandbox.render.theme import DARK, LECTURE

        self.pygame = pygame  # its event types are the input vocabulary of every backend
        title = CAPTION.format(scenario.title)
        self.backend = backend or PygameWindow(size, title, fill=lecture_mode)
        self.backend.set_title(title)
        self.ctx = self.backend.ctx
        self.window_size = self.backend.size  # fitted to the display
        self.fullscreen = lecture_mode
        if lecture_mode:
            self.window_size = self.backend.go_fullscreen()
        self.theme = LECTURE if lecture_mode else DARK
        self.renderer = Renderer(self.ctx, self.window_size)
        self.platform = platform or sys.platform  # whose keyboard conventions (app/keys.py)
        self.gui = Gui(
            self.ctx,
            self.window_size,
            light=lecture_mode,
            mods=self.backend.modifiers,
            platform=self.platform,
        )
        self.drag: tuple[int, tuple[int, int]] | None = None
        self.pointer = Pointer()  # clicks drop balls, drags move starts (app/pointer.py)
        self._key_commands: dict[int, str] | None = None  # pygame key -> command (app/keys.py)
        self.setup_drawing()
        self.setup_capture()
        self.controller = Controller(
            scenario,
            source=source,
            lecture_mode=lecture_mode,
            playlist=playlist,
            user_dir=user_dir,
            clock=clock,
            workers=workers,
        )
        self._caption = self.controller.caption

    # --- lifecycle, delegated to the controller ---------------------------------------------
    def start(self) -> None:
        self.controller.start()

    def restart_with(self, scenario: Scenario, at: int = 0, note: str = "", **kwargs) -> None:
        self.controller.restart_with(scenario, at, note, **kwargs)

    def open(self, path: Path) -> bool:
        return self.controller.open(path)

    def save(self, name: str) -> Path | None:
        return self.controller.save(name)

    def say(self, message: str, error: bool = False) -> None:
        self.controller.say(message, error)

    def apply(self, action) -> None:
        self.controller.apply(action)

    def next_caption(self) -> None:
        self.controller.next_caption()

    def previous_caption(self) -> None:
        self.controller.previous_caption()

    def close(self) -> None:
        self.controller.close()
        self.stop_recording()
        self.gui.release()
        self.renderer.release()
        self.backend.close()

    # --- one frame -------------------------------------------------------------------------
    def frame(self) -> bool:
        """Take the input events, update the controller, then draw and present one frame.
        Returns whether it drew: when nothing changed (no input, no new steps, playback still),
        the frame on screen stays, and the CPU goes to the training (a student's laptop has two
        cores)."""
        events = self.backend.events()
        for event in events:
            self.handle(event)
        news = self.controller.update()
        self._show_caption()
        return self.draw_frame(changed=bool(events) or news)

    def _show_caption(self) -> None:
        if self.controller.caption != self._caption:
            self._caption = self.controller.caption
            self.backend.set_title(self._caption)

    def redraw(self) -> None:
        """Draw the next frame even if nothing has changed."""
        self._drawn = None

    # --- commands ----------------------------------------------------------------------------
    def command(self, command: Command | str, value=None) -> None:
        """Do `command`: the window's own (full screen, screenshot, recording) here, every
        other in the controller."""
        command = Command(command)
        if command not in WINDOW_COMMANDS:
            self.controller.command(command, value)
            self._show_caption()
        elif command is Command.FULLSCREEN:
            self.fullscreen = not self.fullscreen
            self.resize(self.backend.toggle_fullscreen())
        elif command is Command.SCREENSHOT:
            self.screenshot(Path(value or f"sandbox-step{self.playback.step:06d}.png"))
        elif command is Command.RECORD:
            self.stop_recording() if self.recorder else self.start_recording()

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
            typing = panel and self.gui.wants_keyboard
            # a chord with the shortcut modifier (Ctrl; Cmd on macOS) is no one-key command:
            # Ctrl+V meant for a text field must not start a recording, nor Cmd+H (which hides
            # the app on macOS) open the help
            chord = getattr(event, "mod", 0) & shortcut_mask(pg, self.platform)
            if not (typing or chord):
                self.key(event.key)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button in (1, 3):
            if not (panel and self.gui.wants_mouse):
                self.drag = (event.button, event.pos)
                if event.button == 1:
                    self.pointer.press(self, event.pos)
        elif event.type == pg.MOUSEBUTTONUP:
            if self.drag is not None and self.drag[0] == 1 == event.button:
                self.pointer.release(self, event.pos)
            self.drag = None
        elif event.type == pg.MOUSEMOTION and self.pointer.grabbed is not None and self.drag:
            self.pointer.motion(self, event.pos)
        elif event.type == pg.MOUSEMOTION and self.drag and self.camera is not None:
            self.mouse_drag(event.pos)
        elif event.type == pg.MOUSEWHEEL and self.camera is not None:
            if not (panel and self.gui.wants_mouse):
                # wheel up (away from the user) comes closer; "natural" scrolling flips y
                notches = -event.y if getattr(event, "flipped", False) else event.y
                self.camera = self.camera.zoom(ZOOM_PER_WHEEL**notches)
        elif event.type in (pg.VIDEORESIZE, pg.WINDOWSIZECHANGED):
            self.resize(self.backend.current_size())

    def key(self, key: int) -> None:
        """A key press, through the one key table (app/keys.py) that the help overlay and the
        README show."""
        if self._key_commands is None:
            from sandbox.app.keys import key_commands

            self._key_commands = key_commands(self.pygame)
        command = self._key_commands.get(key)
        if command is not None:
            self.command(Command(command))

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


for _name in _CONTROLLER_FIELDS:
    setattr(App, _name, _controller_field(_name))


def run_app(
    scenario: Scenario,
    *,
    size: tuple[int, int] = (1280, 720),
    frames: int | None = None,
    screenshot: Path | None = None,
    source: Path | None = None,
    lecture_mode: bool = False,
    playlist: list[Path] | None = None,
    backend: WindowBackend | None = None,
    commands: tuple[Command, ...] = (),
) -> int:
    """Open the window (or run on `backend`) until closed, or for `frames` frames of progress,
    then save `screenshot`; `commands` are done first (`--anatomy`: the arrows on). Returns the
    exit code: 1 when a scripted run got nothing from the worker or the worker failed (a
    screenshot of a blank or stale view must not pass for a result)."""
    app = App(
        scenario,
        size,
        source=source,
        lecture_mode=lecture_mode,
        playlist=playlist,
        backend=backend,
    )
    count, stalled_since, computed = 0, time.monotonic(), -1
    for command in commands:
        app.command(command)
    try:
        while app.running and (frames is None or count < frames):
            drew = app.frame()
            if app.model.available_step() > computed:
                stalled_since, computed = time.monotonic(), app.model.available_step()
            if frames is not None:
                if app.model.failure or time.monotonic() - stalled_since > STALL_TIMEOUT:
                    break  # a screenshot of whatever is there rather than a hang
                count += app.last_state is not None and not app.controller.waiting_for_worker()
            # capped, and slower while nothing changes: the cycles go to the training
            app.backend.pace(FPS if drew else IDLE_FPS)
        if screenshot is not None and app.screenshot(screenshot) is None:
            print(f"error: {app.message}", file=sys.stderr)
            return 1
    finally:
        app.close()
    return _scripted_exit(app, frames, computed)


def _scripted_exit(app: App, frames: int | None, computed: int) -> int:
    """What a scripted run (`--frames`) says it did, and its exit code."""
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


def offscreen_without_display() -> None:
    """With no display at all, render the window offscreen (EGL) instead of failing."""
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not has_display and "SDL_VIDEODRIVER" not in os.environ:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        print(
            "no display found: the window renders offscreen (use --frames N --screenshot PATH "
            "to see it)",
            file=sys.stderr,
        )
