"""Draws line segments (trails, drop lines, axes) and ball markers over the surface."""

from __future__ import annotations

import moderngl
import numpy as np

from sandbox.render.layouts import BALL_INSTANCE, SEGMENT_INSTANCE
from sandbox.render.overlay_pass import GrowingBuffer
from sandbox.render.shaders import load_program
from sandbox.render.surface_pass import SurfacePass
from sandbox.render.world import WorldTransform

OUTLINE_COLOR = (0.03, 0.03, 0.05, 0.9)


class TrajectoryPass:
    """Instanced screen-space quads: one per segment, one per ball."""

    def __init__(self, ctx: moderngl.Context, surface: SurfacePass):
        self.ctx, self.surface = ctx, surface
        self.line_program = load_program(ctx, "lines")
        self.ball_program = load_program(ctx, "balls")
        self._segments = GrowingBuffer(ctx, 1 << 20)
        self._balls = GrowingBuffer(ctx, 1 << 12)
        self._segment_vao = SEGMENT_INSTANCE.vertex_array(ctx, self.line_program, self._segments.buffer)
        self._ball_vao = BALL_INSTANCE.vertex_array(ctx, self.ball_program, self._balls.buffer)

    def release(self) -> None:
        for resource in (self._segment_vao, self._ball_vao, self._segments, self._balls):
            resource.release()

    def _common(self, program, world: WorldTransform, mvp: np.ndarray, viewport) -> None:
        self.surface.bind_heightfield(program, world)
        program["u_mvp"].write(mvp.T.astype("f4").tobytes())
        program["u_viewport"].value = viewport

    def draw_segments(
        self,
        segments: np.ndarray,
        world: WorldTransform,
        mvp: np.ndarray,
        viewport: tuple[int, int],
        width_px: float,
        outline_px: float,
    ) -> None:
        """A dark outline pass under a colour pass, so lines read over any surface colour.

        All outlines go first: overlapping segments of one path then never draw an outline
        across the path's own colour. Lines test depth against the surface but do not write it:
        the outline and colour quads have different shapes, so their interpolated depths differ
        and the colour would otherwise fail the test against its own outline.
        """
        if len(segments) == 0:
            return
        ctx, program = self.ctx, self.line_program
        self._segments.write(segments)
        self._common(program, world, mvp, viewport)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        program["u_width_px"].value = width_px
        program["u_outline_color"].value = OUTLINE_COLOR
        target = ctx.fbo
        target.depth_mask = False
        for outline in ((outline_px, 0.0) if outline_px > 0 else (0.0,)):
            program["u_outline_px"].value = outline
            self._segment_vao.render(moderngl.TRIANGLES, vertices=6, instances=len(segments))
        target.depth_mask = True

    def draw_balls(
        self, balls: np.ndarray, world: WorldTransform, mvp: np.ndarray, viewport: tuple[int, int]
    ) -> None:
        if len(balls) == 0:
            return
        self._balls.write(balls)
        self._common(self.ball_program, world, mvp, viewport)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self._ball_vao.render(moderngl.TRIANGLES, vertices=6, instances=len(balls))
