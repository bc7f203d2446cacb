"""Dear ImGui (imgui-bundle) inside our pygame window: one context, fonts, theme, input, drawing.

The app builds its panels between `begin_frame` and `end_frame` each frame; `end_frame` draws
ImGui's output over the rendered 3-D frame (into the same offscreen framebuffer, so screenshots
and recordings include the panels). `wants_mouse` / `wants_keyboard` tell the app which events
belong to the panels (a drag on a slider must not orbit the camera).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from sandbox.app.keys import MACOS, shortcut_name
from sandbox.resources import data_dir

BASE_FONT_PX = 19  # at 720 pixels of height; everything scales with the window
LECTURE_FONT_SCALE = 1.15  # as the HUD (theme.LECTURE.type_scale)
DOCKED_MIN_HEIGHT = 60  # a docked window is never shorter than this (at 720 px): its title bar


class Docked(NamedTuple):
    """A docked window this frame: whether it is open (not collapsed to its title bar) and its
    rectangle (pixels: left, top, right, bottom), which the tests and the layout read back."""

    open: bool
    rect: tuple[float, float, float, float]


class Gui:
    """An ImGui + ImPlot context bound to one moderngl context and one pygame window."""

    def __init__(
        self, ctx, size: tuple[int, int], *, light: bool = False, mods=None, platform=None
    ):
        import pygame
        from imgui_bundle import imgui, implot

        from sandbox.render.imgui_pass import ImGuiPass

        self.imgui, self.implot, self.pygame = imgui, implot, pygame
        self.context = imgui.create_context()
        self.plot_context = implot.create_context()
        io = imgui.get_io()
        io.set_ini_filename("")  # window layout is ours; never write imgui.ini into the cwd
        # macOS conventions (Cmd+C/V/A/Z in text fields, Cmd+click on a slider, Option+arrow by
        # word): ImGui swaps Cmd and Ctrl as the keys arrive, so the Super key must be sent.
        # Its macOS build already defaults to this; set here, a test can fake the platform.
        platform = platform or sys.platform
        io.config_mac_osx_behaviors = platform == MACOS
        self.shortcut = shortcut_name(platform)  # for tooltips: "Ctrl+click", "Cmd+click"
        fonts = data_dir("assets") / "fonts"
        # Anti-aliased lines from geometry, not from lines baked into the atlas: every texel the
        # panels sample then lands exactly on a pixel, and the atlas can be sampled NEAREST,
        # which costs less on software GL (see ImGuiPass)
        io.fonts.flags |= imgui.ImFontAtlasFlags_.no_baked_lines
        # the first font added is ImGui's default; 1.92 bakes it at whatever size is asked for
        io.fonts.add_font_from_file_ttf(str(fonts / "DejaVuSans.ttf"), BASE_FONT_PX)
        self.gl = ImGuiPass(ctx)
        self.light = light
        self.font_scale = LECTURE_FONT_SCALE if light else 1.0
        self._applied_scale = 1.0
        self.size = size
        self._last_time: float | None = None
        self._keys = _key_map(pygame, imgui)
        self._modifier_bits = (  # KMOD_GUI is ⌘ on a Mac, the Windows key elsewhere
            (imgui.Key.mod_ctrl, pygame.KMOD_CTRL),
            (imgui.Key.mod_shift, pygame.KMOD_SHIFT),
            (imgui.Key.mod_alt, pygame.KMOD_ALT),
            (imgui.Key.mod_super, pygame.KMOD_GUI),
        )
        self._mods = mods or pygame.key.get_mods  # the modifier keys held (the backend knows)
        self.set_theme(light)
        self.resize(size)

    # --- appearance ---------------------------------------------------------------------------
    @property
    def ui(self) -> float:
        """Scale of everything relative to a 720-pixel-high window."""
        return self.size[1] / 720

    def set_theme(self, light: bool) -> None:
        imgui, implot = self.imgui, self.implot
        self.light = light
        style = imgui.get_style()
        if light:  # lecture mode: dark text on white survives projectors
            imgui.style_colors_light(style)
            implot.style_colors_light()
            style.set_color_(imgui.Col_.window_bg, imgui.ImVec4(1.0, 1.0, 1.0, 0.94))
        else:
            imgui.style_colors_dark(style)
            implot.style_colors_dark()
            style.set_color_(imgui.Col_.window_bg, imgui.ImVec4(0.05, 0.06, 0.08, 0.92))
        # Opaque plot areas: the 3-D scene's labels must not show through a curve.
        plot_style = implot.get_style()
        plot_bg = imgui.ImVec4(*((0.97, 0.97, 0.98) if light else (0.08, 0.09, 0.11)), 1.0)
        for part in (implot.Col_.plot_bg, implot.Col_.frame_bg):
            plot_style.set_color_(part, plot_bg)
        style.window_rounding = 8.0
        style.frame_rounding = 4.0
        style.grab_min_size = 14.0

    def resize(self, size: tuple[int, int]) -> None:
        self.size = size
        scale = self.ui * self.font_scale
        self.imgui.get_style().scale_all_sizes(scale / self._applied_scale)
        self._applied_scale = scale
        self.imgui.get_io().display_size = size

    def font_px(self) -> float:
        return BASE_FONT_PX * self.ui * self.font_scale

    # --- input --------------------------------------------------------------------------------
    @property
    def wants_mouse(self) -> bool:
        return self.imgui.get_io().want_capture_mouse

    @property
    def wants_keyboard(self) -> bool:
        # Only while typing in a text field: the app's one-key shortcuts (space, p, arrows)
        # must keep working after a click on a slider or a drag of a panel.
        return self.imgui.get_io().want_text_input

    def process_event(self, event) -> None:
        """Feed one pygame event to ImGui (the app decides separately whether to act on it)."""
        pg, io = self.pygame, self.imgui.get_io()
        if event.type == pg.MOUSEMOTION:
            io.add_mouse_pos_event(*event.pos)
        elif event.type in (pg.MOUSEBUTTONDOWN, pg.MOUSEBUTTONUP) and event.button in (1, 2, 3):
            io.add_mouse_pos_event(*event.pos)
            button = {1: 0, 3: 1, 2: 2}[event.button]
            io.add_mouse_button_event(button, event.type == pg.MOUSEBUTTONDOWN)
        elif event.type == pg.MOUSEWHEEL:
            io.add_mouse_wheel_event(event.x, event.y)
        elif event.type in (pg.KEYDOWN, pg.KEYUP):
            down = event.type == pg.KEYDOWN
            mods = self._mods()
            for imgui_mod, pygame_mod in self._modifier_bits:
                io.add_key_event(imgui_mod, bool(mods & pygame_mod))
            if event.key in self._keys:
                io.add_key_event(self._keys[event.key], down)
        elif event.type == pg.TEXTINPUT:
            for char in event.text:
                io.add_input_character(ord(char))

    # --- a frame ------------------------------------------------------------------------------
    def begin_frame(self) -> None:
        now = time.perf_counter()
        io = self.imgui.get_io()
        io.delta_time = 1 / 60 if self._last_time is None else max(now - self._last_time, 1e-4)
        self._last_time = now
        self.imgui.get_style().font_size_base = self.font_px()
        self.imgui.new_frame()

    def banner(self, message: str, left: float, right: float, bottom: float) -> None:
        """A red banner ending at `bottom`, centred between `left` and `right` (the worker
        failed, a reload was refused). ImGui's foreground list draws over every panel, so none
        can hide it; a long message wraps instead of running off the window."""
        imgui = self.imgui
        pad = 10 * self.ui
        room = max(right - left - 2 * pad, 240 * self.ui)
        text = imgui.calc_text_size(message, False, room)
        width, height = text.x + 2 * pad, text.y + 2 * pad
        x, top = max((left + right - width) / 2, 0.0), max(bottom - height, 0.0)
        red = imgui.color_convert_float4_to_u32(imgui.ImVec4(0.70, 0.08, 0.08, 0.95))
        white = imgui.color_convert_float4_to_u32(imgui.ImVec4(1.0, 1.0, 1.0, 1.0))
        draw = imgui.get_foreground_draw_list()
        draw.add_rect_filled(
            imgui.ImVec2(x, top), imgui.ImVec2(x + width, top + height), red, 8 * self.ui
        )
        draw.add_text(
            imgui.get_font(),
            imgui.get_font_size(),
            imgui.ImVec2(x + pad, top + pad),
            white,
            message,
            room,
        )

    @contextmanager
    def docked_window(self, title: str, box: tuple, open_: bool) -> Iterator[Docked]:
        """A window fixed at `box` (pixels: left, top, right, bottom; see app/layout.py), moved
        and sized by the layout only, its title bar's arrow the one thing the user can change.
        `open_` is what that arrow said last frame: a window first shown closed (lecture mode's
        controls) starts collapsed. Yields the window as ImGui has it now; the body draws its
        contents only when it is open, and the window is ended however the body leaves."""
        imgui = self.imgui
        left, top, right, bottom = box
        height = max(bottom - top, DOCKED_MIN_HEIGHT * self.ui * self.font_scale)
        imgui.set_next_window_pos((left, top), imgui.Cond_.always)
        imgui.set_next_window_size((right - left, height), imgui.Cond_.always)
        if not open_:
            imgui.set_next_window_collapsed(True, imgui.Cond_.first_use_ever)
        flags = imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize
        opened = imgui.begin(title, None, flags)[0]
        low, extent = imgui.get_window_pos(), imgui.get_window_size()
        try:
            yield Docked(opened, (low.x, low.y, low.x + extent.x, low.y + extent.y))
        finally:
            imgui.end()

    def end_frame(self, fbo) -> None:
        """Finish the frame and draw it over `fbo`'s contents."""
        self.imgui.render()
        self.gl.render(self.imgui.get_draw_data(), fbo)

    def release(self) -> None:
        self.gl.release()
        self.implot.destroy_context(self.plot_context)
        self.imgui.destroy_context(self.context)


def _key_map(pg, imgui) -> dict[int, object]:
    keys = {
        pg.K_TAB: imgui.Key.tab,
        pg.K_LEFT: imgui.Key.left_arrow,
        pg.K_RIGHT: imgui.Key.right_arrow,
        pg.K_UP: imgui.Key.up_arrow,
        pg.K_DOWN: imgui.Key.down_arrow,
        pg.K_HOME: imgui.Key.home,
        pg.K_END: imgui.Key.end,
        pg.K_DELETE: imgui.Key.delete,
        pg.K_BACKSPACE: imgui.Key.backspace,
        pg.K_RETURN: imgui.Key.enter,
        pg.K_KP_ENTER: imgui.Key.keypad_enter,
        pg.K_ESCAPE: imgui.Key.escape,
        pg.K_LCTRL: imgui.Key.left_ctrl,
        pg.K_RCTRL: imgui.Key.right_ctrl,
        pg.K_LSHIFT: imgui.Key.left_shift,
        pg.K_RSHIFT: imgui.Key.right_shift,
        pg.K_LALT: imgui.Key.left_alt,
        pg.K_RALT: imgui.Key.right_alt,
        pg.K_LGUI: imgui.Key.left_super,  # ⌘ on a Mac
        pg.K_RGUI: imgui.Key.right_super,
    }
    for letter in "acvxyz":  # select all, copy, paste, cut, redo, undo
        keys[getattr(pg, f"K_{letter}")] = getattr(imgui.Key, letter)
    return keys
