"""Where the app's frames go: a pygame window, or a framebuffer with no window at all.

Both give the app a moderngl context, a `screen` framebuffer to present onto and a queue of
input events, as moderngl-window's windows do; the app draws the same way into either. pygame's
event objects are the input vocabulary of both (making one needs no display), so a test posts to
a `Headless` backend exactly the events a user's keyboard and mouse send to the window.
"""

from __future__ import annotations

import os
from typing import Protocol

import moderngl

from sandbox.render.context import headless_context, open_window


class WindowBackend(Protocol):
    """What the app needs of a window: a GL context, a screen, events, a title and a size."""

    ctx: moderngl.Context
    size: tuple[int, int]  # the window's size in pixels as opened (fitted to the display)

    @property
    def screen(self) -> moderngl.Framebuffer: ...

    def events(self) -> list: ...

    def modifiers(self) -> int: ...

    def set_title(self, title: str) -> None: ...

    def current_size(self) -> tuple[int, int]: ...

    def toggle_fullscreen(self) -> tuple[int, int]: ...

    def go_fullscreen(self) -> tuple[int, int]: ...

    def flip(self) -> None: ...

    def pace(self, fps: float) -> None: ...

    def close(self) -> None: ...


class PygameWindow:
    """A pygame window with an OpenGL 3.3 core context (`sandbox.render.context.open_window`)."""

    def __init__(self, size: tuple[int, int], title: str, *, fill: bool = False):
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self.pygame = pygame
        self.window, self.ctx = open_window(size, title, fill=fill)
        self.size = self.window.get_size()
        self._clock = pygame.time.Clock()

    @property
    def screen(self) -> moderngl.Framebuffer:
        return self.ctx.screen

    def events(self) -> list:
        return self.pygame.event.get()

    def modifiers(self) -> int:
        return self.pygame.key.get_mods()

    def set_title(self, title: str) -> None:
        self.pygame.display.set_caption(title)

    def current_size(self) -> tuple[int, int]:
        return self.pygame.display.get_surface().get_size()

    def toggle_fullscreen(self) -> tuple[int, int]:
        self.pygame.display.toggle_fullscreen()
        return self.current_size()

    def go_fullscreen(self) -> tuple[int, int]:
        """Lecture mode: fill the screen (where there is no screen, keep the window's size)."""
        pg = self.pygame
        desktop = pg.display.get_desktop_sizes()
        if os.environ.get("SDL_VIDEODRIVER") == "offscreen" or not desktop:
            return self.size
        try:
            pg.display.toggle_fullscreen()
        except pg.error:
            return self.size
        return self.current_size()

    def flip(self) -> None:
        self.pygame.display.flip()

    def pace(self, fps: float) -> None:
        """Wait so that frames come at most `fps` a second."""
        self._clock.tick(fps)

    def close(self) -> None:
        self.pygame.display.quit()


class Headless:
    """The app with no window: a standalone context (`headless_context`: EGL on Linux) and a
    framebuffer as its screen.

    Events are what a test posts (`post`); the screen holds what the window would show, notices
    included (`read_screen`). `ctx` may be a context the caller already has (a test session's):
    then `close` leaves it open.
    """

    def __init__(self, size: tuple[int, int] = (1280, 720), *, ctx: moderngl.Context | None = None):
        self.ctx = ctx or headless_context()
        self._own_context = ctx is None
        self.size = tuple(size)
        self.title = ""
        self.fullscreen = False
        self.queue: list = []
        self._mods = 0
        self._screen = self._make_screen(self.size)

    def _make_screen(self, size: tuple[int, int]) -> moderngl.Framebuffer:
        return self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer(size, 4)])

    @property
    def screen(self) -> moderngl.Framebuffer:
        return self._screen

    def post(self, event) -> None:
        """Queue an input event (a `pygame.event.Event`) for the app's next frame."""
        self.queue.append(event)

    def events(self) -> list:
        events, self.queue = self.queue, []
        for event in events:  # the modifier keys held, as pygame.key.get_mods() would say
            self._mods = getattr(event, "mod", self._mods)
        return events

    def modifiers(self) -> int:
        return self._mods

    def set_title(self, title: str) -> None:
        self.title = title

    def current_size(self) -> tuple[int, int]:
        return self.size

    def resize(self, size: tuple[int, int]) -> None:
        """The "window" takes a new size (post a VIDEORESIZE event for the app to follow)."""
        self._release_screen()
        self.size = tuple(size)
        self._screen = self._make_screen(self.size)

    def toggle_fullscreen(self) -> tuple[int, int]:
        self.fullscreen = not self.fullscreen  # no display to fill: the size stays
        return self.size

    def go_fullscreen(self) -> tuple[int, int]:
        return self.size

    def flip(self) -> None:
        """Nothing to swap; the screen framebuffer already holds the frame."""

    def pace(self, fps: float) -> None:
        """No display to keep pace with: frames come as fast as they are drawn."""

    def read_screen(self):
        """What the window would show now, notices included: (H, W, 3) uint8, top row first."""
        import numpy as np

        width, height = self.size
        raw = self._screen.read(components=3, alignment=1)
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)[::-1].copy()

    def _release_screen(self) -> None:
        for attachment in self._screen.color_attachments:
            attachment.release()
        self._screen.release()

    def close(self) -> None:
        self._release_screen()
        if self._own_context:
            self.ctx.release()
