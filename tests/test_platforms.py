"""Platform conventions: which headless OpenGL backend each platform gets, the window's
forward-compatible core context, and Cmd as the shortcut key on macOS.

Only Linux runs here. Where the code only chooses (a backend's name, a modifier's bits, ImGui's
macOS flag), the platform is faked and the choice checked; the real CGL, WGL and Cocoa paths are
untested (docs/platforms.md).
"""

from __future__ import annotations

import json
import sys

import pygame
import pytest
from app_doubles import HeadlessApp, StreamWorkers
from offscreen import python

from sandbox.render import context
from sandbox.render.context import DEFAULT_BACKEND, NoOpenGL, headless_backends


# --- headless backends --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("platform", "environ", "backends"),
    [
        ("linux", {}, ["egl"]),  # no display needed, as in CI
        ("linux", {"DISPLAY": ":0"}, ["egl", DEFAULT_BACKEND]),  # GLX after EGL, with X only
        ("freebsd14", {}, ["egl"]),  # other Unixes as Linux: glcontext's default is X11 there too
        ("darwin", {"DISPLAY": ":0"}, [DEFAULT_BACKEND]),  # CGL: glcontext has no EGL on macOS
        ("win32", {}, [DEFAULT_BACKEND]),  # WGL
    ],
)
def test_each_platform_gets_its_headless_backends(platform, environ, backends):
    assert headless_backends(platform, environ) == backends


class FakeContext:
    def __init__(self, version_code: int = 450, gl_version: str = "4.5 (Core Profile)"):
        self.version_code = version_code
        self.info = {"GL_VERSION": gl_version}


def record_attempts(monkeypatch, platform: str, display: str | None, works: set) -> list:
    """Fake `sys.platform`, DISPLAY and moderngl's standalone contexts: the backends named in
    `works` ("default" for none named) give a context, the others fail. Returns the calls."""
    calls: list[dict] = []

    def create(**options):
        calls.append(options)
        name = options.get("backend", "default")
        if name not in works:
            raise Exception(f"{name} unavailable")
        return FakeContext()

    monkeypatch.setattr(sys, "platform", platform)
    if display is None:
        monkeypatch.delenv("DISPLAY", raising=False)
    else:
        monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setattr(context.moderngl, "create_standalone_context", create)
    return calls


def test_headless_context_falls_back_to_glx_only_where_egl_fails_under_x(monkeypatch):
    calls = record_attempts(monkeypatch, "linux", ":0", works={"default"})
    assert isinstance(context.headless_context(), FakeContext)
    assert calls == [{"backend": "egl", "require": 330}, {"require": 330}]
    calls = record_attempts(monkeypatch, "linux", ":0", works={"egl", "default"})
    context.headless_context()
    assert calls == [{"backend": "egl", "require": 330}]  # EGL wins when it works


@pytest.mark.parametrize(
    ("platform", "display", "tried", "help_words"),
    [
        ("linux", None, ["egl: egl unavailable"], ["apt-get install libegl1 libgl1-mesa-dri"]),
        ("linux", ":0", ["egl: egl unavailable", "default: default unavailable"], ["libegl1"]),
        ("darwin", None, ["default: default unavailable"], ["CGL", "macOS 10.9"]),
        ("win32", None, ["default: default unavailable"], ["WGL", "opengl32.dll", "mesa-dist-win"]),
    ],
)
def test_no_headless_context_says_what_was_tried_and_what_to_install(
    monkeypatch, platform, display, tried, help_words
):
    calls = record_attempts(monkeypatch, platform, display, works=set())
    with pytest.raises(NoOpenGL) as caught:
        context.headless_context()
    message = str(caught.value)
    assert message.startswith(f"could not create a headless OpenGL context ({'; '.join(tried)}).")
    assert all(words in message for words in help_words), message
    assert len(calls) == len(tried)


def test_an_old_opengl_is_refused_with_the_version_the_driver_gave(monkeypatch):
    """moderngl issue #581: a Mac's legacy context is OpenGL 2.1 (version code 0 to moderngl)."""
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(context.moderngl, "get_context", lambda: FakeContext(0, "2.1 Metal - 76.3"))
    with pytest.raises(NoOpenGL, match=r"^OpenGL 2\.1 Metal - 76\.3 found, 3\.3 or later needed"):
        context.window_context()


EGL_SCRIPT = """
import json, os
import moderngl
from sandbox.render import context

os.environ["DISPLAY"] = ":99"  # no X server there: GLX would fail
calls = []
real = moderngl.create_standalone_context
moderngl.create_standalone_context = lambda **options: calls.append(options) or real(**options)
ctx = context.headless_context()
print(json.dumps({"calls": calls, "version": ctx.version_code}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="EGL is Linux's backend")
def test_this_linux_machine_renders_headless_through_egl():
    """The frames on record come from EGL: a display present must not change that. In its own
    process: a second context made current here would take the session's place."""
    p = python(EGL_SCRIPT, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    made = json.loads(p.stdout.strip().splitlines()[-1])
    assert made["calls"] == [{"backend": "egl", "require": 330}] and made["version"] >= 330


FORWARD_COMPATIBLE_SCRIPT = """
import ctypes, ctypes.util
from sandbox.render.context import open_window

open_window((64, 64), "flags")
egl = ctypes.CDLL(ctypes.util.find_library("EGL"))  # SDL's offscreen driver makes it with EGL
egl.eglGetProcAddress.restype = ctypes.c_void_p
egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
address = egl.eglGetProcAddress(b"glGetIntegerv")
get_integer = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.POINTER(ctypes.c_int))(address)
flags = ctypes.c_int(-1)
get_integer(0x821E, ctypes.byref(flags))  # GL_CONTEXT_FLAGS
print("flags", flags.value)
"""


def test_the_window_asks_the_driver_for_a_forward_compatible_core_context():
    """macOS makes no other kind of 3.2+ context; here Mesa reports the flag it was asked for
    (GL_CONTEXT_FLAG_FORWARD_COMPATIBLE_BIT = 1; 0 before the window asked for it)."""
    p = python(FORWARD_COMPATIBLE_SCRIPT, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert int(p.stdout.split("flags")[-1]) & 1


# --- Cmd on macOS -------------------------------------------------------------------------------
def test_the_shortcut_key_is_cmd_on_macos_and_ctrl_elsewhere():
    from sandbox.app.keys import shortcut_mask, shortcut_name

    assert shortcut_mask(pygame, "darwin") == pygame.KMOD_GUI == pygame.KMOD_META
    assert shortcut_mask(pygame, "linux") == shortcut_mask(pygame, "win32") == pygame.KMOD_CTRL
    assert [shortcut_name(p) for p in ("darwin", "linux", "win32")] == ["Cmd", "Ctrl", "Ctrl"]


class TextField:
    """One ImGui text field of a `Gui` made for `platform`, focused, typed into through pygame
    events as a keyboard sends them (the modifier held as its own key, down then up)."""

    def __init__(self, ctx, platform: str):
        from sandbox.app.gui import Gui

        self.held = 0
        self.home = ctx.fbo or ctx.detect_framebuffer(0)  # bound again before ours goes (Renderer)
        self.gui = Gui(ctx, (480, 270), mods=lambda: self.held, platform=platform)
        self.color = ctx.renderbuffer((480, 270), 4)
        self.fbo = ctx.framebuffer(color_attachments=[self.color])
        self.text = ""
        self.frame(focus=True)

    def frame(self, focus: bool = False) -> None:
        imgui = self.gui.imgui
        self.gui.begin_frame()
        imgui.set_next_window_pos((0, 0))
        imgui.set_next_window_size((480, 270))
        imgui.begin("field")
        if focus:
            imgui.set_keyboard_focus_here()
        self.text = imgui.input_text("##field", self.text)[1]
        imgui.end()
        self.gui.end_frame(self.fbo)

    def key(self, kind: int, key: int, held: int) -> None:
        self.held = held  # what pygame.key.get_mods() says as the event is handled
        self.gui.process_event(pygame.event.Event(kind, key=key, mod=held, unicode="", scancode=0))
        self.frame()

    def type(self, text: str) -> None:
        self.gui.process_event(pygame.event.Event(pygame.TEXTINPUT, text=text))
        self.frame()

    def chord(self, modifier_key: int, modifier: int, key: int) -> None:
        self.key(pygame.KEYDOWN, modifier_key, modifier)
        self.key(pygame.KEYDOWN, key, modifier)
        self.key(pygame.KEYUP, key, modifier)
        self.key(pygame.KEYUP, modifier_key, 0)

    def close(self) -> None:
        self.home.use()
        self.fbo.release()
        self.color.release()
        self.gui.release()


CMD = (pygame.K_LGUI, pygame.KMOD_LGUI)
CTRL = (pygame.K_LCTRL, pygame.KMOD_LCTRL)


@pytest.mark.parametrize(
    ("platform", "modifier", "selects_all"),
    [("darwin", CMD, True), ("darwin", CTRL, False), ("linux", CTRL, True), ("linux", CMD, False)],
)
def test_text_fields_take_the_platforms_shortcut_key(ctx, platform, modifier, selects_all):
    """Select all, then type: the text is replaced where the chord selected all (Cmd+A on
    macOS, Ctrl+A elsewhere), appended to where it did not. ImGui's macOS behaviour is a flag
    it reads at run time, so faking the platform runs the code a Mac runs."""
    field = TextField(ctx, platform)
    try:
        field.frame()  # the focus lands
        field.type("hello")
        field.chord(*modifier, pygame.K_a)
        field.type("Z")
        assert field.text == ("Z" if selects_all else "helloZ")
    finally:
        field.close()


@pytest.mark.parametrize(
    ("platform", "modifier", "toggles"),
    [
        ("darwin", 0, True),
        ("darwin", pygame.KMOD_LGUI, False),  # Cmd+H hides the app on macOS: not the help too
        ("darwin", pygame.KMOD_LCTRL, True),
        ("linux", pygame.KMOD_LCTRL, False),
        ("linux", pygame.KMOD_LGUI, True),
    ],
)
def test_a_chord_with_the_shortcut_key_is_no_one_key_command(ctx, platform, modifier, toggles):
    with HeadlessApp(ctx, workers=StreamWorkers(), platform=platform) as driver:
        app = driver.app
        driver.post(pygame.KEYDOWN, key=pygame.K_h, mod=modifier, unicode="h", scancode=0)
        assert app.show_help is toggles
