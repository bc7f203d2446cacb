"""The desktop app: a pygame window around `Renderer.draw(state, camera)`.

The loop is thin: drain the worker's messages into the view model, advance the shown step by the
playback speed, draw, flip. Training never runs here (it is in the worker process), so a slow
step never stalls a frame. `App` is a class with `handle(event)` and `frame()` so that tests can
drive it with synthetic events.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.app.model import ViewModel
from sandbox.app.worker import BackgroundWorker
from sandbox.scenario.schema import Scenario

PLAYBACK_SECONDS = 20.0  # a whole scenario plays in about this long at speed ×1
FPS = 60
ORBIT_PER_PIXEL = 0.3  # degrees
ZOOM_PER_WHEEL = 0.9
FIRST_SURFACE_TIMEOUT = 120.0  # --frames mode waits this long at most for something to draw


@dataclass
class Playback:
    """Which step is shown and how fast it advances."""

    step: int = 0
    speed: float = 1.0  # steps per frame
    paused: bool = False
    carry: float = 0.0  # fractional steps owed at speeds below one step per frame

    def advance(self, available: int) -> None:
        if self.paused:
            return
        self.carry += self.speed
        whole = int(self.carry)
        self.carry -= whole
        self.step = max(0, min(self.step + whole, available))


def default_speed(steps: int) -> float:
    return max(steps / (PLAYBACK_SECONDS * FPS), 0.25)


class App:
    """One scenario in a window: worker, view model, camera, playback, recording."""

    def __init__(self, scenario: Scenario, size: tuple[int, int] = (1280, 720)):
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from sandbox.render.context import open_window
        from sandbox.render.renderer import Renderer

        self.pygame = pygame
        self.scenario = scenario
        self.window, self.ctx = open_window(size, f"Loss Landscape Sandbox: {scenario.title}")
        self.window_size = size
        self.renderer = Renderer(self.ctx, size)
        self.camera = None
        self.show_help = False
        self.wireframe = False
        self.fullscreen = False
        self.recorder = None
        self.running = True
        self.drag: tuple[int, tuple[int, int]] | None = None
        self.last_state = None
        self.start()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """(Re)start the worker and the playback from step 0; the camera stays."""
        self.worker = BackgroundWorker(self.scenario).start()
        self.model = ViewModel(self.scenario)
        self.playback = Playback(speed=default_speed(self.scenario.steps))

    def close(self) -> None:
        self.worker.close()
        self.stop_recording()
        self.renderer.release()
        self.pygame.display.quit()

    # --- one frame -------------------------------------------------------------------------
    def frame(self) -> None:
        """Poll events and the worker, then draw and present one frame."""
        for event in self.pygame.event.get():
            self.handle(event)
        for message in self.worker.drain():
            self.model.apply(message)
        died = self.worker.died()
        if died and not self.model.failure:
            self.model.failure = died
        self.playback.advance(self.model.available_step())
        state = self.model.scene(self.playback.step, help=self.show_help, wireframe=self.wireframe)
        if state is None:
            self.ctx.screen.use()
            self.ctx.screen.clear(0.09, 0.10, 0.12, 1.0)  # surface still being computed
        else:
            if self.camera is None:
                from sandbox.render.renderer import default_camera

                self.camera = default_camera(state, self.renderer.size)
            self.renderer.draw(state, self.camera)
            self.renderer.present(self.ctx.screen, self.window_size)
            self.last_state = state
            if self.recorder is not None:
                self.recorder.append_data(self.renderer.read_rgb())
        self.pygame.display.flip()

    # --- input -----------------------------------------------------------------------------
    def handle(self, event) -> None:
        """React to one pygame event."""
        pg = self.pygame
        if event.type == pg.QUIT:
            self.running = False
        elif event.type == pg.KEYDOWN:
            self.key(event.key)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button in (1, 3):
            self.drag = (event.button, event.pos)
        elif event.type == pg.MOUSEBUTTONUP:
            self.drag = None
        elif event.type == pg.MOUSEMOTION and self.drag and self.camera is not None:
            self.mouse_drag(event.pos)
        elif event.type == pg.MOUSEWHEEL and self.camera is not None:
            self.camera = self.camera.zoom(ZOOM_PER_WHEEL**event.y)
        elif event.type in (pg.VIDEORESIZE, pg.WINDOWSIZECHANGED):
            self.resize(self.pygame.display.get_surface().get_size())

    def key(self, key: int) -> None:
        pg, playback = self.pygame, self.playback
        if key == pg.K_ESCAPE:
            self.running = False
        elif key == pg.K_SPACE:
            playback.paused = not playback.paused
        elif key == pg.K_PERIOD:
            playback.paused = True
            playback.step = min(playback.step + 1, self.model.available_step())
        elif key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS):
            playback.speed *= 2
        elif key in (pg.K_MINUS, pg.K_KP_MINUS):
            playback.speed = max(playback.speed / 2, 1 / 64)
        elif key == pg.K_r:
            self.worker.close()
            self.start()
        elif key == pg.K_f:
            self.fullscreen = not self.fullscreen
            pg.display.toggle_fullscreen()
            self.resize(pg.display.get_surface().get_size())
        elif key == pg.K_s:
            self.screenshot(Path(f"sandbox-step{playback.step:06d}.png"))
        elif key == pg.K_v:
            self.stop_recording() if self.recorder else self.start_recording()
        elif key == pg.K_h:
            self.show_help = not self.show_help
        elif key == pg.K_g:
            self.wireframe = not self.wireframe

    def mouse_drag(self, pos: tuple[int, int]) -> None:
        button, (x0, y0) = self.drag
        dx, dy = pos[0] - x0, pos[1] - y0
        self.drag = (button, pos)
        if button == 1:
            self.camera = self.camera.orbit(-dx * ORBIT_PER_PIXEL, dy * ORBIT_PER_PIXEL)
        else:
            self.camera = self.camera.pan(-dx / self.window_size[0], dy / self.window_size[1])

    def resize(self, size: tuple[int, int]) -> None:
        """The window changed size: render at the new size (the camera keeps its aspect)."""
        if size != self.window_size and min(size) >= 16:
            self.window_size = size
            self.stop_recording()  # a video's frame size cannot change mid-stream
            self.renderer.resize(size)

    # --- output ----------------------------------------------------------------------------
    def screenshot(self, path: Path) -> Path:
        from sandbox.render.frames import save_png

        return save_png(self.renderer.read_rgb(), path)

    def start_recording(self) -> None:
        import imageio.v2 as imageio

        path = f"sandbox-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        self.recorder = imageio.get_writer(
            path, fps=FPS, codec="libx264", quality=8, macro_block_size=16, pixelformat="yuv420p"
        )

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None


def run_app(
    scenario: Scenario,
    *,
    size: tuple[int, int] = (1280, 720),
    frames: int | None = None,
    screenshot: Path | None = None,
) -> int:
    """Open the window and run until closed (or for `frames` frames, then save `screenshot`)."""
    app = App(scenario, size)
    clock = app.pygame.time.Clock()
    count = 0
    deadline = time.monotonic() + FIRST_SURFACE_TIMEOUT
    try:
        while app.running and (frames is None or count < frames or app.last_state is None):
            if frames is not None and time.monotonic() > deadline:
                break  # a screenshot of whatever is there rather than a hang
            app.frame()
            count += app.model.available_step() >= 0  # count frames that show the runs
            clock.tick(FPS)
        if screenshot is not None:
            app.screenshot(screenshot)
    finally:
        app.close()
    return 0
