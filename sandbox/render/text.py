"""Text: glyphs rendered once by pygame.font (FreeType, no display needed) into a GL atlas.

Each atlas holds one font at one pixel size. Its red channel is the glyph's coverage, its green
channel the coverage dilated by a few pixels, which the text shader draws as a dark halo so labels
stay legible over any part of the surface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np

from sandbox.render.layouts import GLYPH_VERTEX
from sandbox.resources import data_dir

FONT_REGULAR = "DejaVuSans.ttf"
FONT_BOLD = "DejaVuSans-Bold.ttf"
ATLAS_SIZE = (1024, 1024)
REPLACEMENT = "?"  # drawn for a character the font cannot draw
# Laid-out strings remembered per atlas: the title and legend repeat every frame; labels that
# move with the camera do not, so the memo is emptied when it grows past this.
LAYOUT_MEMO = 512


def font_path(name: str) -> Path:
    return data_dir("assets") / "fonts" / name


def _pygame_font():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame.font  # a display is not needed for fonts

    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font


def dilate(coverage: np.ndarray, radius: int) -> np.ndarray:
    """Max-filter of an (H, W) uint8 image over a disk, growing it by `radius` on every side."""
    rows, cols = coverage.shape
    out = np.zeros((rows + 2 * radius, cols + 2 * radius), dtype=np.uint8)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy <= radius * radius + radius:
                view = out[radius + dy : radius + dy + rows, radius + dx : radius + dx + cols]
                np.maximum(view, coverage, out=view)
    return out


@dataclass(frozen=True)
class Glyph:
    """Where a glyph sits in the atlas (pixels, halo included) and how far it advances the pen."""

    x: int
    y: int
    width: int
    height: int
    advance: int


class FontAtlas:
    """One font at one pixel size, glyphs added on first use."""

    def __init__(self, ctx: moderngl.Context, font_file: str, px: int, halo_px: int):
        self.px, self.halo = px, halo_px
        self._font = _pygame_font().Font(str(font_path(font_file)), px)
        self.ascent = self._font.get_ascent()
        self.line_height = self._font.get_linesize()
        self._pixels = np.zeros((ATLAS_SIZE[1], ATLAS_SIZE[0], 2), dtype=np.uint8)
        self.texture = ctx.texture(ATLAS_SIZE, 2, dtype="f1")
        self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._glyphs: dict[str, Glyph] = {}
        self._shelf = (0, 0, 0)  # x, y, row height
        self._dirty = False
        self._widths: dict[str, int] = {}
        self._layouts: dict[tuple, np.ndarray] = {}

    def release(self) -> None:
        self.texture.release()

    def _add(self, char: str) -> Glyph:
        """Render one glyph with its halo into the atlas (shelf packing)."""
        import pygame.surfarray

        surface = self._font.render(char, True, (255, 255, 255))
        coverage = pygame.surfarray.array_alpha(surface).T  # (H, W)
        halo = dilate(coverage, self.halo)
        glyph = np.zeros_like(halo)
        rows, cols = coverage.shape
        glyph[self.halo : self.halo + rows, self.halo : self.halo + cols] = coverage
        height, width = halo.shape
        x, y, row = self._shelf
        if x + width > ATLAS_SIZE[0]:
            x, y, row = 0, y + row + 1, 0
        if y + height > ATLAS_SIZE[1]:
            raise RuntimeError(f"glyph atlas full at {self.px}px ({len(self._glyphs)} glyphs)")
        self._pixels[y : y + height, x : x + width] = np.stack([glyph, halo], axis=-1)
        self._shelf = (x + width + 1, y, max(row, height))
        self._dirty = True
        metrics = self._font.metrics(char)[0]
        return Glyph(x, y, width, height, metrics[4] if metrics else cols)

    def glyph(self, char: str) -> Glyph:
        if char not in self._glyphs:
            try:
                self._glyphs[char] = self._add(char)
            except (RuntimeError, ValueError):  # pygame.error is a RuntimeError
                if char == REPLACEMENT:
                    raise
                # a character FreeType cannot draw ("Text has zero width": a joiner, a control
                # character) or the atlas is full: a "?" in its place, not a failed frame
                self._glyphs[char] = self.glyph(REPLACEMENT)
        return self._glyphs[char]

    def measure(self, text: str) -> int:
        """Width of `text` in pixels."""
        if text not in self._widths:
            if len(self._widths) >= LAYOUT_MEMO:
                self._widths.clear()
            self._widths[text] = sum(self.glyph(char).advance for char in text)
        return self._widths[text]

    def upload(self) -> None:
        if self._dirty:
            self.texture.write(self._pixels.tobytes())
            self._dirty = False

    def quads(
        self,
        text: str,
        x: float,
        y: float,
        color: tuple[float, float, float, float],
        align: str = "left",
        valign: str = "top",
    ) -> np.ndarray:
        """Six `GLYPH_VERTEX` rows per glyph placing `text` at (x, y) pixels from the top left.

        `align` is left/center/right of x; `valign` top/middle/baseline of y. The rows are
        remembered by their inputs (callers must not modify them).
        """
        key = (text, x, y, tuple(color), align, valign)
        if key not in self._layouts:
            if len(self._layouts) >= LAYOUT_MEMO:
                self._layouts.clear()
            self._layouts[key] = self._layout(text, x, y, color, align, valign)
        return self._layouts[key]

    def _layout(self, text, x, y, color, align, valign) -> np.ndarray:
        width = self.measure(text)
        pen = round(x - {"left": 0, "center": width / 2, "right": width}[align])
        top = round(y - {"top": 0, "middle": self.line_height / 2, "baseline": self.ascent}[valign])
        out = GLYPH_VERTEX.empty(6 * len(text))
        count = 0
        for char in text:
            glyph = self.glyph(char)
            if not char.isspace():
                out[6 * count : 6 * count + 6] = self._glyph_quad(glyph, pen, top, color)
                count += 1
            pen += glyph.advance
        return out[: 6 * count]

    def _glyph_quad(self, glyph: Glyph, pen: int, top: int, color: tuple) -> np.ndarray:
        x0, y0 = pen - self.halo, top - self.halo
        x1, y1 = x0 + glyph.width, y0 + glyph.height
        u0, v0 = glyph.x / ATLAS_SIZE[0], glyph.y / ATLAS_SIZE[1]
        u1, v1 = (glyph.x + glyph.width) / ATLAS_SIZE[0], (glyph.y + glyph.height) / ATLAS_SIZE[1]
        quad = GLYPH_VERTEX.empty(6)
        corners = [(x0, y0, u0, v0), (x1, y0, u1, v0), (x1, y1, u1, v1)]
        corners += [(x0, y0, u0, v0), (x1, y1, u1, v1), (x0, y1, u0, v1)]
        quad["in_pos"] = [c[:2] for c in corners]
        quad["in_uv"] = [c[2:] for c in corners]
        quad["in_color"] = color
        return quad
