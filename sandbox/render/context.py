"""The one module that creates OpenGL contexts: headless or attached to a pygame window.

Both give a `moderngl.Context` of at least OpenGL 3.3 core; the renderer draws into its own
framebuffer either way, so the headless path is a peer of the window, not a test hack.

Headless contexts come from EGL on Linux (no display needed) and from the platform's own
standalone backend on macOS (CGL) and Windows (WGL), as glcontext chooses them. Only the Linux
paths run here; docs/platforms.md says what is tested and what is not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import moderngl

GL_REQUIRE = 330
DEFAULT_BACKEND = None  # moderngl's `backend=None`: glcontext's standalone default (GLX/CGL/WGL)

_LINUX_HEADLESS_HELP = (
    "Headless rendering needs EGL and an OpenGL 3.3 driver. On Debian/Ubuntu install Mesa's "
    "software rasteriser: `apt-get install libegl1 libgl1-mesa-dri` (works without a GPU or a "
    "display); on a GPU machine install the vendor's EGL driver."
)
_HEADLESS_HELP = {
    "darwin": "Headless rendering on macOS uses CGL and needs macOS 10.9 or later, whose "
    "OpenGL 3.3+ core profile every Mac since 2012 has.",
    "win32": "Headless rendering on Windows uses WGL and needs a graphics driver with OpenGL "
    "3.3; without one (a virtual machine, a remote desktop), put Mesa's opengl32.dll from the "
    "mesa-dist-win project next to python.exe.",
}
_WINDOW_HELP = {
    "darwin": "A window on macOS needs an OpenGL 3.3 core profile (macOS 10.9 or later).",
    "win32": "A window on Windows needs a graphics driver with OpenGL 3.3 (update the GPU "
    "driver; a remote desktop session may offer only OpenGL 1.1).",
}
_LINUX_WINDOW_HELP = (
    "A window needs a display and an OpenGL 3.3 driver: run under X11/Wayland, or `xvfb-run -a`, "
    "or set SDL_VIDEODRIVER=offscreen (EGL, no display). SDL_VIDEODRIVER=dummy has no OpenGL."
)


class NoOpenGL(RuntimeError):
    """No usable OpenGL context could be created; the message says what is missing."""


def headless_backends(platform: str, environ: Mapping[str, str]) -> list[str | None]:
    """The moderngl standalone backends to try, in order, on `platform` (a `sys.platform`
    value): macOS and Windows have one (`DEFAULT_BACKEND`: CGL, WGL; glcontext has no EGL
    there). Elsewhere EGL first: it needs no display and is what CI and the frames on record
    use. Then, only where an X display exists, GLX as a fallback for a driver without EGL; it
    is never tried without one (it would fail with a message about X instead of EGL's)."""
    if platform in ("darwin", "win32"):
        return [DEFAULT_BACKEND]
    return ["egl", DEFAULT_BACKEND] if environ.get("DISPLAY") else ["egl"]


def headless_help(platform: str) -> str:
    return _HEADLESS_HELP.get(platform, _LINUX_HEADLESS_HELP)


def window_help(platform: str) -> str:
    return _WINDOW_HELP.get(platform, _LINUX_WINDOW_HELP)


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 3.3+ context (no window, no display needed): the first of
    `headless_backends` that works; when none does, the error names each one's failure."""
    failures = []
    for backend in headless_backends(sys.platform, os.environ):
        options = {} if backend is DEFAULT_BACKEND else {"backend": backend}
        try:
            ctx = moderngl.create_standalone_context(require=GL_REQUIRE, **options)
        except Exception as error:  # moderngl raises plain Exception subclasses from glcontext
            failures.append(f"{backend or 'default'}: {error}")
            continue
        return _checked_version(ctx, headless_help(sys.platform))
    tried = "; ".join(failures)
    message = f"could not create a headless OpenGL context ({tried}). {headless_help(sys.platform)}"
    raise NoOpenGL(message)


def _checked_version(ctx: moderngl.Context, help_text: str) -> moderngl.Context:
    """`ctx` if it is OpenGL 3.3 or later; else a NoOpenGL naming the version found."""
    if ctx.version_code < GL_REQUIRE:
        found = f"with version code {ctx.version_code}"
        try:  # the driver's own words, e.g. "2.1 Metal - 76.3" (moderngl's code is 0 there)
            found = ctx.info["GL_VERSION"]
        except Exception:  # a legacy context may refuse some of the queries info makes
            pass
        raise NoOpenGL(f"OpenGL {found} found, 3.3 or later needed. {help_text}")
    return ctx


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
    # macOS makes OpenGL 3.2+ contexts only forward compatible (moderngl issue #581); elsewhere
    # the flag only removes what a core profile already lacks. It is a value of the FLAGS
    # attribute: passed as an attribute itself, its number (2) would set the blue bits.
    pygame.display.gl_set_attribute(
        pygame.GL_CONTEXT_FLAGS, pygame.GL_CONTEXT_FORWARD_COMPATIBLE_FLAG
    )
    pygame.display.gl_set_attribute(pygame.GL_DOUBLEBUFFER, 1)
    flags = pygame.OPENGL | pygame.DOUBLEBUF | (pygame.RESIZABLE if resizable else 0)
    try:
        surface = pygame.display.set_mode(size, flags)
    except pygame.error as error:
        message = f"could not open an OpenGL window ({error}). {window_help(sys.platform)}"
        raise NoOpenGL(message) from error
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
        message = f"no OpenGL context on the current window ({error}). {window_help(sys.platform)}"
        raise NoOpenGL(message) from error
    return _checked_version(ctx, window_help(sys.platform))
