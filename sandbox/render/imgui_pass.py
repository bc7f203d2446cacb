"""Draws Dear ImGui's draw data (control panel, live plots) with moderngl into any framebuffer.

imgui-bundle's own Python renderers need PyOpenGL and draw to the window; this one draws into
our offscreen frame, so screenshots, videos and tests see the panel exactly as the window does.
It honours ImGui's RendererHasTextures protocol (the font atlas grows as new sizes and glyphs
are used): textures are created, updated and destroyed when ImGui asks.
"""

from __future__ import annotations

import ctypes

import moderngl
import numpy as np

from sandbox.render.shaders import load_program

TEXTURE_UNIT = 5
# ImGui's vertex (imgui.VERTEX_SIZE = 20 bytes): position 2 × f32, uv 2 × f32, colour 4 × u8.
IMGUI_VERTEX_FORMAT = "2f 2f 4f1"


class ImGuiPass:
    """Owns the GL side of one ImGui context: program, buffers, textures."""

    def __init__(self, ctx: moderngl.Context):
        from imgui_bundle import imgui

        self.imgui = imgui
        self.ctx = ctx
        self.program = load_program(ctx, "imgui")
        self.vertices = ctx.buffer(reserve=1 << 16, dynamic=True)
        self.indices = ctx.buffer(reserve=1 << 15, dynamic=True)
        self.vao = ctx.vertex_array(
            self.program,
            [(self.vertices, IMGUI_VERTEX_FORMAT, "in_pos", "in_uv", "in_color")],
            index_buffer=self.indices,
            index_element_size=imgui.INDEX_SIZE,
        )
        self.textures: dict[int, moderngl.Texture] = {}
        io = imgui.get_io()
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
        limit = ctx.info.get("GL_MAX_TEXTURE_SIZE", 4096)
        imgui.get_platform_io().renderer_texture_max_width = limit
        imgui.get_platform_io().renderer_texture_max_height = limit

    def release(self) -> None:
        for texture in self.textures.values():
            texture.release()
        self.textures.clear()
        for resource in (self.vao, self.vertices, self.indices, self.program):
            resource.release()

    # --- textures (font atlas) ---------------------------------------------------------------
    def update_textures(self, draw_data) -> None:
        imgui = self.imgui
        for tex in draw_data.textures or ():
            status = tex.status
            if status == imgui.ImTextureStatus.want_create or (
                status == imgui.ImTextureStatus.want_updates and tex.tex_id not in self.textures
            ):
                texture = self.ctx.texture((tex.width, tex.height), 4, self._pixels(tex))
                texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
                texture.repeat_x = texture.repeat_y = False
                self.textures[texture.glo] = texture
                tex.set_tex_id(texture.glo)
                tex.status = imgui.ImTextureStatus.ok
            elif status == imgui.ImTextureStatus.want_updates:
                # Atlas updates are rare (a new font size or glyph): send the whole image.
                self.textures[tex.tex_id].write(self._pixels(tex))
                tex.status = imgui.ImTextureStatus.ok
            elif status == imgui.ImTextureStatus.want_destroy and tex.unused_frames > 0:
                texture = self.textures.pop(tex.tex_id, None)
                if texture is not None:
                    texture.release()
                tex.set_tex_id(0)
                tex.status = imgui.ImTextureStatus.destroyed

    @staticmethod
    def _pixels(tex) -> bytes:
        return np.ascontiguousarray(tex.get_pixels_array(), dtype=np.uint8).tobytes()

    # --- drawing ------------------------------------------------------------------------------
    def render(self, draw_data, fbo: moderngl.Framebuffer) -> None:
        """Draw `draw_data` over what `fbo` holds (sizes in pixels, one pixel per ImGui unit)."""
        imgui, ctx = self.imgui, self.ctx
        self.update_textures(draw_data)
        width, height = fbo.size
        fbo.use()
        ctx.viewport = (0, 0, width, height)
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.program["u_viewport"].value = (float(width), float(height))
        self.program["u_texture"].value = TEXTURE_UNIT
        index_size = imgui.INDEX_SIZE  # 4: one draw list never needs a base vertex offset
        try:
            for commands in draw_data.cmd_lists:
                self._upload(self.vertices, commands.vtx_buffer, imgui.VERTEX_SIZE)
                self._upload(self.indices, commands.idx_buffer, index_size)
                for command in commands.cmd_buffer:
                    if command.elem_count == 0:
                        continue
                    texture = self.textures.get(command.tex_ref.get_tex_id())
                    if texture is None:
                        continue
                    texture.use(TEXTURE_UNIT)
                    x0, y0, x1, y1 = command.clip_rect
                    x0, y0 = max(x0, 0.0), max(y0, 0.0)
                    x1, y1 = min(x1, width), min(y1, height)
                    if x1 <= x0 or y1 <= y0:
                        continue
                    ctx.scissor = (int(x0), int(height - y1), int(x1 - x0), int(y1 - y0))
                    self.vao.render(
                        moderngl.TRIANGLES, vertices=command.elem_count, first=command.idx_offset
                    )
        finally:
            ctx.scissor = None

    @staticmethod
    def _upload(buffer: moderngl.Buffer, source, item_size: int) -> None:
        size = source.size() * item_size
        if size > buffer.size:
            buffer.orphan(max(size, 2 * buffer.size))
        if size:
            buffer.write(ctypes.string_at(source.data_address(), size))
