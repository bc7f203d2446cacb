"""Draws line segments (trails, drop lines, axes) and ball markers over the surface."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import moderngl
import numpy as np

from sandbox.render.layouts import BALL_INSTANCE, SEGMENT_VERTEX
from sandbox.render.overlay_pass import GrowingBuffer
from sandbox.render.shaders import load_program
from sandbox.render.trail_geometry import segment_vertices

OUTLINE_COLOR = (0.03, 0.03, 0.05, 0.9)


class SegmentBuffer:
    """World-space segments on the GPU with the key they were built for: a frame whose key
    matches draws them again without building or uploading anything."""

    def __init__(self, ctx: moderngl.Context, program: moderngl.Program, quads: GrowingBuffer):
        self._vertices = GrowingBuffer(ctx, 1 << 20)
        self.vao = SEGMENT_VERTEX.vertex_array(
            ctx, program, self._vertices.buffer, index_buffer=quads.buffer, index_element_size=4
        )
        self.count = 0
        self._key: Hashable = None
        self._owners: tuple = ()

    def update(self, key: Hashable, owners: tuple, build: Callable[[], np.ndarray]) -> bool:
        """Upload `build()` (WORLD_SEGMENT rows) unless the buffer already holds `key`; returns
        whether it uploaded.

        `owners` are kept alive with the key, so ids of theirs inside the key stay unique.
        """
        if self._key is not None and key == self._key:
            return False
        rows = segment_vertices(build())
        if len(rows):
            self._vertices.write(np.repeat(rows, 4))  # one copy per quad corner
        self.count, self._key, self._owners = len(rows), key, owners
        return True

    def release(self) -> None:
        self.vao.release()
        self._vertices.release()


class TrajectoryPass:
    """Screen-space quads: one per line segment (4 vertices each), one per ball (instanced)."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.line_program = load_program(ctx, "lines")
        self.ball_program = load_program(ctx, "balls")
        self._quad_indices = GrowingBuffer(ctx, 1 << 16)
        self._quad_capacity = 0
        self._balls = GrowingBuffer(ctx, 1 << 12)
        self._scratch = SegmentBuffer(ctx, self.line_program, self._quad_indices)
        self._kept: dict[str, SegmentBuffer] = {}
        self._ball_vao = BALL_INSTANCE.vertex_array(ctx, self.ball_program, self._balls.buffer)

    def release(self) -> None:
        for resource in (
            *self._kept.values(),
            self._scratch,
            self._ball_vao,
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
        """WORLD_SEGMENT rows, uploaded for this draw only (axes, drop lines); see `_render`."""
        self._scratch.update(None, (), lambda: segments)
        self._render(self._scratch, view_proj, viewport, width_px, outline_px)

    def draw_kept_segments(
        self,
        name: str,
        key: Hashable,
        owners: tuple,
        build: Callable[[], np.ndarray],
        view_proj: np.ndarray,
        viewport: tuple[int, int],
        width_px: float,
        outline_px: float,
    ) -> int | None:
        """Segments kept in buffer `name` between frames, rebuilt by `build` only when `key`
        changes (trails: a camera move alone uploads nothing); returns how many segments it
        uploaded, None when it uploaded nothing."""
        if name not in self._kept:
            self._kept[name] = SegmentBuffer(self.ctx, self.line_program, self._quad_indices)
        buffer = self._kept[name]
        uploaded = buffer.update(key, owners, build)
        self._render(buffer, view_proj, viewport, width_px, outline_px)
        return buffer.count if uploaded else None

    def _render(
        self,
        buffer: SegmentBuffer,
        view_proj: np.ndarray,
        viewport: tuple[int, int],
        width_px: float,
        outline_px: float,
    ) -> None:
        """A dark rim pass under a colour pass, so lines read over any surface colour.

        All rims go first: overlapping segments of one path then never draw a rim across the
        path's own colour. Lines test depth against the surface but do not write it: the rim
        and core quads of a segment would otherwise hide each other.
        """
        if buffer.count == 0:
            return
        ctx, program = self.ctx, self.line_program
        self._ensure_quads(buffer.count)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        program["u_mvp"].write(view_proj.T.astype("f4").tobytes())
        program["u_viewport"].value = viewport
        program["u_width_px"].value = width_px
        program["u_outline_px"].value = outline_px
        program["u_outline_color"].value = OUTLINE_COLOR
        target = ctx.fbo
        target.depth_mask = False
        for core_pass in (0.0, 1.0):
            program["u_core_pass"].value = core_pass
            buffer.vao.render(moderngl.TRIANGLES, vertices=6 * buffer.count)
        target.depth_mask = True

    def _ensure_quads(self, count: int) -> None:
        """Index buffer for `count` quads of 4 vertices: two triangles each."""
        if count <= self._quad_capacity:
            return
        capacity = max(count, 2 * self._quad_capacity, 1024)
        base = np.arange(capacity, dtype=np.uint32)[:, None] * 4
        self._quad_indices.write((base + np.array([0, 1, 2, 2, 1, 3], dtype=np.uint32)).ravel())
        self._quad_capacity = capacity

    def draw_balls(
        self,
        balls: np.ndarray,
        mvp: np.ndarray,
        viewport: tuple[int, int],
        see_through: bool = False,
    ) -> None:
        """BALL_INSTANCE rows, blended, always in full view. `see_through`: tested against the
        depth buffer, the parts behind the surface drawn faint; each ball's quad lies at its
        centre, so callers move the centres to the balls' fronts (`trail_geometry.ball_fronts`).
        """
        if len(balls) == 0:
            return
        self._balls.write(balls)
        program, ctx = self.ball_program, self.ctx
        program["u_mvp"].write(mvp.T.astype("f4").tobytes())
        program["u_viewport"].value = viewport
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        if not see_through:
            program["u_hidden"].value = 0.0
            self._ball_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(balls))
            return
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.fbo.depth_mask = False
        for hidden, test in ((0.0, "<="), (1.0, ">")):
            ctx.depth_func = test
            program["u_hidden"].value = hidden
            self._ball_vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=len(balls))
        ctx.fbo.depth_mask = True
        ctx.depth_func = "<="
        ctx.disable(moderngl.DEPTH_TEST)
