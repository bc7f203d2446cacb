"""2-D overlay in pixels from the top left: rounded rectangles, then text, in one flush.

Callers queue shapes with `rect` and `text` and call `flush` once per layer; each layer is two
kinds of draw call (rectangles, then one per font atlas), blended premultiplied.
"""

from __future__ import annotations

import moderngl
import numpy as np

from sandbox.render.layouts import GLYPH_VERTEX, RECT_INSTANCE
from sandbox.render.shaders import load_program
from sandbox.render.text import FONT_BOLD, FONT_REGULAR, FontAtlas

ATLAS_UNIT = 2
HALO = (0.02, 0.02, 0.03, 0.8)
RGBA = tuple[float, float, float, float]


class GrowingBuffer:
    """A GL buffer that keeps its identity (so VAOs stay valid) and grows when needed."""

    def __init__(self, ctx: moderngl.Context, initial_bytes: int = 1 << 16):
        self.buffer = ctx.buffer(reserve=initial_bytes, dynamic=True)

    def write(self, data: np.ndarray) -> None:
        raw = data.tobytes()
        if len(raw) > self.buffer.size:
            self.buffer.orphan(max(len(raw), 2 * self.buffer.size))
        self.buffer.write(raw)

    def release(self) -> None:
        self.buffer.release()


class OverlayPass:
    """Queues rectangles and text; draws them over whatever the framebuffer holds."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.rect_program = load_program(ctx, "rects")
        self.text_program = load_program(ctx, "text")
        self._rect_buffer = GrowingBuffer(ctx)
        self._text_buffer = GrowingBuffer(ctx)
        self._rect_vao = RECT_INSTANCE.vertex_array(
            ctx, self.rect_program, self._rect_buffer.buffer
        )
        self._text_vao = GLYPH_VERTEX.vertex_array(ctx, self.text_program, self._text_buffer.buffer)
        self._atlases: dict[tuple[bool, int], FontAtlas] = {}
        self._rects: list[tuple] = []
        self._glyphs: dict[tuple[bool, int], list[np.ndarray]] = {}
        self.halo = HALO  # behind text; a light theme wants a light halo

    def release(self) -> None:
        for atlas in self._atlases.values():
            atlas.release()
        for resource in (self._rect_vao, self._text_vao, self._rect_buffer, self._text_buffer):
            resource.release()

    def font(self, px: float, bold: bool = False) -> FontAtlas:
        key = (bold, max(6, round(px)))
        if key not in self._atlases:
            halo = max(2, round(key[1] / 9))
            self._atlases[key] = FontAtlas(
                self.ctx, FONT_BOLD if bold else FONT_REGULAR, key[1], halo
            )
        return self._atlases[key]

    def rect(
        self, x: float, y: float, w: float, h: float, color: RGBA, radius: float = 0.0
    ) -> None:
        self._rects.append(((x, y, w, h), color, radius))

    def text(
        self,
        text: str,
        x: float,
        y: float,
        px: float,
        color: RGBA = (1.0, 1.0, 1.0, 1.0),
        bold: bool = False,
        align: str = "left",
        valign: str = "top",
    ) -> float:
        """Queue `text`; returns its width in pixels."""
        atlas = self.font(px, bold)
        self._glyphs.setdefault((bold, atlas.px), []).append(
            atlas.quads(text, x, y, color, align, valign)
        )
        return atlas.measure(text)

    def measure(self, text: str, px: float, bold: bool = False) -> float:
        return self.font(px, bold).measure(text)

    def flush(self, viewport: tuple[int, int]) -> None:
        """Draw everything queued (rectangles first), then forget it."""
        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        if self._rects:
            rows = RECT_INSTANCE.empty(len(self._rects))
            rows["in_rect"] = [r[0] for r in self._rects]
            rows["in_color"] = [r[1] for r in self._rects]
            rows["in_radius"] = [r[2] for r in self._rects]
            self._rect_buffer.write(rows)
            self.rect_program["u_viewport"].value = viewport
            self._rect_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(rows))
        for key, chunks in self._glyphs.items():
            vertices = np.concatenate(chunks)
            if len(vertices) == 0:
                continue
            atlas = self._atlases[key]
            atlas.upload()
            atlas.texture.use(ATLAS_UNIT)
            self._text_buffer.write(vertices)
            self.text_program["u_viewport"].value = viewport
            self.text_program["u_atlas"].value = ATLAS_UNIT
            self.text_program["u_halo"].value = self.halo
            self._text_vao.render(moderngl.TRIANGLES, vertices=len(vertices))
        self._rects, self._glyphs = [], {}

    def discard(self) -> None:
        """Forget everything queued without drawing it (a layout measured, not shown)."""
        self._rects, self._glyphs = [], {}
