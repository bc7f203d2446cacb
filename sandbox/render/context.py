"""The one module that creates OpenGL contexts: headless (EGL) or attached to a pygame window.

Both give a `moderngl.Context` of at least OpenGL 3.3 core; the renderer draws into its own
framebuffer either way, so the headless path is a peer of the window, not a test hack.
"""

from __future__ import annotations

import os

import moderngl

GL_REQUIRE = 330

_HEADLESS_HELP = (
    "Headless rendering needs EGL and an OpenGL 3.3 driver. On Debian/Ubuntu install Mesa's "
    "software rasteriser: `apt-get install libegl1 libgl1-mesa-dri` (works without a GPU or a "
    "display); on a GPU machine install the vendor's EGL driver."
)
_WINDOW_HELP = (
    "A window needs a display and an OpenGL 3.3 driver: run under X11/Wayland, or `xvfb-run -a`, "
    "or set SDL_VIDEODRIVER=offscreen (EGL, no display). SDL_VIDEODRIVER=dummy has no OpenGL."
)


class NoOpenGL(RuntimeError):
    """No usable OpenGL context could be created; the message says what is missing."""


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 3.3+ context through EGL (no window, no display needed)."""
    try:
        return moderngl.create_standalone_context(backend="egl", require=GL_REQUIRE)
    except Exception as error:  # moderngl raises plain Exception subclasses from glcontext
        message = f"could not create a headless OpenGL context ({error}). {_HEADLESS_HELP}"
        raise NoOpenGL(message) from error


def fit_to_display(
    size: tuple[int, int], desktop: tuple[int, int] | None, fill: bool = False
) -> tuple[int, int]:
    """The window size to open: `size` no larger than the display (a 1920x1080 window on a
    1280x720 screen cut off the title, subtitles and legend), or the display's size with
    `fill` (lecture mode: the projector's full screen). No display known: `size` as asked."""
    if not desktop or min(desktop) <= 0:
        return size
    if fill:
        return desktop
    return min(size[0], desktop[0]), min(size[1], desktop[1])


def open_window(size: tuple[int, int], title: str, resizable: bool = True, fill: bool = False):
    """A pygame window with an OpenGL 3.3 core context, `size` fitted to the display (see
    `fit_to_display`); returns (surface, moderngl context)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.display.init()
    offscreen = os.environ.get("SDL_VIDEODRIVER") == "offscreen"  # no display: frames as asked
    desktop = None if offscreen else next(iter(pygame.display.get_desktop_sizes()), None)
    size = fit_to_display(size, desktop, fill)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, pygame.GL_CONTEXT_PROFILE_CORE)
    pygame.display.gl_set_attribute(pygame.GL_DOUBLEBUFFER, 1)
    flags = pygame.OPENGL | pygame.DOUBLEBUF | (pygame.RESIZABLE if resizable else 0)
    try:
        surface = pygame.display.set_mode(size, flags)
    except pygame.error as error:
        raise NoOpenGL(f"could not open an OpenGL window ({error}). {_WINDOW_HELP}") from error
    pygame.display.set_caption(title)
    return surface, window_context()


def window_context() -> moderngl.Context:
    """The moderngl context of the current pygame OpenGL window (created once per process).

    `moderngl.create_context()` a second time fails under EGL; `get_context()` makes the context
    on its first call and returns the same one afterwards.
    """
    try:
        ctx = moderngl.get_context()  # init_context() on the first call, the same one afterwards
    except Exception as error:
        message = f"no OpenGL context on the current window ({error}). {_WINDOW_HELP}"
        raise NoOpenGL(message) from error
    if ctx.version_code < GL_REQUIRE:
        raise NoOpenGL(f"OpenGL {ctx.version_code} found, 3.3 needed. {_WINDOW_HELP}")
    return ctx
