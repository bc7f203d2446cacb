"""Draws line segments (trails, drop lines, axes) and ball markers over the surface."""

from __future__ import annotations

import moderngl
import numpy as np

from sandbox.render.layouts import BALL_INSTANCE, SEGMENT_VERTEX
from sandbox.render.overlay_pass import GrowingBuffer
from sandbox.render.shaders import load_program
from sandbox.render.trail_geometry import screen_segments

OUTLINE_COLOR = (0.03, 0.03, 0.05, 0.9)


class TrajectoryPass:
    """Screen-space quads: one per line segment (4 vertices each), one per ball (instanced)."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.line_program = load_program(ctx, "lines")
        self.ball_program = load_program(ctx, "balls")
        self._segments = GrowingBuffer(ctx, 1 << 20)
        self._quad_indices = GrowingBuffer(ctx, 1 << 16)
        self._quad_capacity = 0
        self._balls = GrowingBuffer(ctx, 1 << 12)
        self._segment_vao = SEGMENT_VERTEX.vertex_array(
            ctx,
            self.line_program,
            self._segments.buffer,
            index_buffer=self._quad_indices.buffer,
            index_element_size=4,
        )
        self._ball_vao = BALL_INSTANCE.vertex_array(ctx, self.ball_program, self._balls.buffer)

    def release(self) -> None:
        for resource in (
            self._segment_vao,
            self._ball_vao,
            self._segments,
            self._quad_indices,
            self._balls,
        ):
            resource.release()

    def draw_segments(
        self,
        segments: np.ndarray,
        view_proj: np.ndarray,
        viewport: tuple[int, int],
        width_px: float,
        outline_px: float,
    ) -> None:
        """WORLD_SEGMENT rows as a dark rim pass under a colour pass, so lines read over any
        surface colour.

        All rims go first: overlapping segments of one path then never draw a rim across the
        path's own colour. Lines test depth against the surface but do not write it: the rim
        and core quads of a segment would otherwise hide each other.
        """
        rows = screen_segments(segments, view_proj, viewport)
        if len(rows) == 0:
            return
        ctx, program = self.ctx, self.line_program
        self._segments.write(np.repeat(rows, 4))  # one copy per quad corner
        self._ensure_quads(len(rows))
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        program["u_viewport"].value = viewport
        program["u_width_px"].value = width_px
        program["u_outline_px"].value = outline_px
        program["u_outline_color"].value = OUTLINE_COLOR
        target = ctx.fbo
        target.depth_mask = False
        for core_pass in (0.0, 1.0):
            program["u_core_pass"].value = core_pass
            self._segment_vao.render(moderngl.TRIANGLES, vertices=6 * len(rows))
        target.depth_mask = True

    def _ensure_quads(self, count: int) -> None:
        """Index buffer for `count` quads of 4 vertices: two triangles each."""
        if count <= self._quad_capacity:
            return
        capacity = max(count, 2 * self._quad_capacity, 1024)
        base = np.arange(capacity, dtype=np.uint32)[:, None] * 4
        self._quad_indices.write((base + np.array([0, 1, 2, 2, 1, 3], dtype=np.uint32)).ravel())
        self._quad_capacity = capacity

    def draw_balls(self, balls: np.ndarray, mvp: np.ndarray, viewport: tuple[int, int]) -> None:
        """BALL_INSTANCE rows, blended, with whatever depth test the caller set."""
        if len(balls) == 0:
            return
        self._balls.write(balls)
        program = self.ball_program
        program["u_mvp"].write(mvp.T.astype("f4").tobytes())
        program["u_viewport"].value = viewport
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self._ball_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(balls))
