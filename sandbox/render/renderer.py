"""The renderer: one `draw(state, camera)` call renders a frame into an offscreen framebuffer.

Frame = lit surface with contours, axes, trails, drop lines and balls (optionally multisampled),
a top-down mini-map in a corner, an optional post pass (FXAA and/or upscaling), then the HUD on
top at full resolution. Headless callers `read_rgb()`; a window calls `present()`, which draws
the frame onto the screen with a fullscreen triangle (never a read or blit of the default
framebuffer, which misbehave under moderngl/EGL).

Software GL (llvmpipe) sets the budget: every fullscreen pass costs ~10 ms at 720p, so the
default frame has none; lines, contours, balls and text are anti-aliased in their shaders.
"""

from __future__ import annotations

import math
from dataclasses import replace

import moderngl
import numpy as np

from sandbox.render import hud
from sandbox.render.axes import axes
from sandbox.render.camera import OrbitCamera, camera_light, look_at, orthographic
from sandbox.render.framing import GAP, Box, Region, clear_box, to_region
from sandbox.render.hud_layout import HudLayout
from sandbox.render.opening_view import default_camera
from sandbox.render.overlay_pass import OverlayPass
from sandbox.render.picking import DrawnView
from sandbox.render.scene import SceneState
from sandbox.render.shaders import load_program
from sandbox.render.stats import RenderStats
from sandbox.render.step_arrows import ball_spots, step_arrows
from sandbox.render.surface_pass import MESH_CELLS, SurfaceLook, SurfacePass
from sandbox.render.targets import FrameTargets
from sandbox.render.trail_geometry import (
    ARROW_PX,
    STEP_PX,
    WORLD_SEGMENT,
    PathCache,
    ball_fronts,
    balls,
    drop_line,
    exit_arrows,
    path_segments,
    thinning_step,
)
from sandbox.render.trajectory_pass import TrajectoryPass
from sandbox.render.world import WorldTransform

IMAGE_UNIT, DEPTH_UNIT = 3, 4
MINIMAP_FRACTION = 0.30  # of the frame height, for the longer side of the footprint
LABEL_ROOM = 24.0  # pixels (at 720 of height) between the framed picture and the clear box
MINIMAP_SCALE = 0.55  # line widths and ball sizes in the mini-map
MINIMAP_BUDGET = 0.35  # fraction of TRAIL_BUDGET used in the mini-map
# Segments per trail for its old (thin, muted) part and its bright recent tail, in the main view;
# the mini-map gets MINIMAP_BUDGET of them. Enough for smooth curves at 720p; bounds frame time.
TRAIL_BUDGET = (400, 500)


class Renderer:
    """Draws `SceneState`s with an `OrbitCamera` into a `size` = (width, height) framebuffer.

    Parameters
    ----------
    samples
        MSAA samples for the 3-D passes. 0 (the default) leaves only the surface's silhouette
        aliased: lines, contours, balls and text are anti-aliased in their shaders. 4 costs
        about twice the surface's time on llvmpipe; `render_frames` and `write_video` use it.
    fxaa
        Smooth the silhouette with FXAA instead (found from depth, so lines stay crisp); a
        fullscreen pass costs ~10-30 ms at 720p on llvmpipe, nothing on a GPU.
    render_scale
        Draw the 3-D scene at this fraction of `size` and upscale it (the HUD stays sharp):
        0.75 roughly halves the fragment work on software GL.
    mesh_cells
        Surface mesh resolution per side; the height texture keeps the grid's full detail.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        size: tuple[int, int],
        *,
        samples: int = 0,
        fxaa: bool = False,
        render_scale: float = 1.0,
        mesh_cells: int = MESH_CELLS,
    ):
        self.ctx = ctx
        self._options = (samples, render_scale, fxaa)
        self.surface = SurfacePass(ctx, mesh_cells)
        self.trajectories = TrajectoryPass(ctx)
        self.overlay = OverlayPass(ctx)
        self._paths = PathCache()
        self.stats = RenderStats()
        self.layout = HudLayout(self.overlay, size)
        self.clear: Box | None = None  # the last frame's largest rectangle free of HUD panels
        # the last frame's HUD layout (arrangement, mini-map kept, caption as a subtitle) and
        # the top view's (x, y, w, h) in frame pixels (None when not drawn)
        self.hud_layout: tuple[str, bool, bool] | None = None
        self.minimap_box: tuple[int, int, int, int] | None = None
        self._last_heights: tuple = (None, None, None)  # heights array, its key, what it gave
        self._axes: tuple = (None, None, None)  # key, segments and labels of the last axes
        self._minimap_key: object = None
        self._minimap_image: list = []  # texture, depth, framebuffer of the cached top view
        self._fullscreen = {
            name: ctx.vertex_array(load_program(ctx, name), []) for name in ("fxaa", "blit")
        }
        self._home_fbo = ctx.fbo or ctx.detect_framebuffer(0)
        self.targets: FrameTargets | None = None
        self.hud_boxes: list[Box] = []  # the last frame's title, legend, mini-map ... (pixels)
        self.region: Region | None = None  # where the last frame's view could frame the surface
        self.camera: OrbitCamera | None = None  # the last frame's camera
        self.drawn: DrawnView | None = None  # its surface and camera, for picking
        self.resize(size)

    @property
    def size(self) -> tuple[int, int]:
        return self.targets.size

    def resize(self, size: tuple[int, int]) -> None:
        """Reallocate the framebuffers for a new frame size (width, height)."""
        samples, scale, fxaa = self._options
        if self.targets is not None:
            self.targets.release()
        self.targets = FrameTargets(self.ctx, size, samples, scale, fxaa, self._home_fbo)

    def release(self) -> None:
        """Free every GL object this renderer made (the context stays)."""
        self.targets.release()
        self._release_minimap_image()
        for vao in self._fullscreen.values():
            vao.release()
        for part in (self.surface, self.trajectories, self.overlay):
            part.release()

    # --- a frame --------------------------------------------------------------------------------
    def draw(
        self,
        state: SceneState,
        camera: OrbitCamera | None = None,
        area: Box | None = None,
        captions: Box | None = None,
    ) -> None:
        """Render one frame of `state` into the offscreen framebuffer.

        `area` (pixels: left, top, right, bottom; default the whole frame) is the part of the
        frame that is the 3-D view's: the app's docked panels take the rest. The title, legend,
        mini-map and subtitles are laid out inside it, and without a `camera` the surface is
        framed in the largest rectangle of it that none of them covers (`self.region`); the
        camera used is kept as `self.camera`. `captions` (pixels), when given, is where the
        lecture subtitle goes instead of the foot of `area`.
        """
        size = self.targets.size
        area = area or (0.0, 0.0, float(size[0]), float(size[1]))
        self.stats.frames += 1
        world, grid_h = self._heights(state)
        paths = self._paths.paths(
            state.trails, world, grid_h, self.surface.vertex_heights, self.surface.heights_key
        )
        trails = [path.trail for path in paths]
        ui = size[1] / 720 * state.theme.type_scale
        minimap = self._minimap_box(world, area, ui) if state.show_minimap else None
        self.layout.size, self.layout.captions = size, captions
        layout = self.layout.arrange(state, trails, ui, area, minimap)
        self.stats.layouts_measured = self.layout.measured
        minimap = minimap if layout[1] else None
        self.hud_layout, self.minimap_box = layout, minimap
        panels = self.layout.panels(state, trails, ui, area, minimap, layout)
        self.stats.legends_measured = self.layout.legend.measured
        self.hud_boxes = panels
        # the camera fits the surface and its axes' room (world units) inside the clear box
        # less LABEL_ROOM pixels: tick labels and axis names keep their size in pixels, so in a
        # small picture (lecture mode beside its plots) they stuck out of the frame
        self.clear = left, top, right, bottom = clear_box(area, panels, GAP * ui)
        room = min(LABEL_ROOM * ui, 0.1 * (right - left), 0.1 * (bottom - top))
        self.region = to_region((left + room, top + room, right - room, bottom - room), size)
        camera = camera or default_camera(state, size, self.region)
        self.camera, self.drawn = camera, DrawnView(world, grid_h, camera, size)
        targets = self.targets
        targets.scene_fbo.use()
        self.ctx.disable(moderngl.BLEND)
        targets.scene_fbo.clear(*state.theme.backdrop, depth=1.0)
        scene_ui = targets.scene_size[1] / 720  # sizes below are for a 720-pixel-high frame
        labels = self._main_view(state, world, paths, camera, scene_ui)
        if minimap is not None:
            to_scene = targets.scene_size[1] / size[1]
            in_scene = [round(v * to_scene) for v in minimap]
            self._minimap(world, paths, scene_ui, state.theme, in_scene)
        self._post_process()
        to_final = size[1] / targets.scene_size[1]
        labels = [replace(label, x=label.x * to_final, y=label.y * to_final) for label in labels]
        self._hud(state, labels, panels, ui)

    def _heights(self, state: SceneState) -> tuple[WorldTransform, np.ndarray]:
        """The world transform and normalised heights of `state`, uploaded. The same heights
        array (scene arrays are never changed in place: the app makes new ones) with the same
        bounds and scale reuses the last frame's, which saves ~1 ms of numpy and hashing."""
        key = (state.bounds, state.log_height)
        if state.heights is self._last_heights[0] and key == self._last_heights[1]:
            return self._last_heights[2]
        world = WorldTransform.from_state(state)
        grid_h = world.normalised_heights(state.heights)
        self.surface.set_heights(grid_h)
        self.stats.heights_uploaded += 1
        self._last_heights = (state.heights, key, (world, grid_h))
        return world, grid_h

    def _main_view(self, state, world, paths, camera, ui) -> list:
        ctx, size = self.ctx, self.targets.scene_size
        mvp = camera.view_projection(size[0] / size[1])
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.depth_func = "<="
        look = SurfaceLook(camera_light(camera), grid=state.wireframe, line_px=1.5 * ui)
        self.surface.draw(world, mvp, look)
        key = (world, camera, size, state.axis_labels)
        if key != self._axes[0]:  # a still camera: ~1.5 ms of numpy per frame saved
            self._axes = (key, *axes(world, camera, size, state.axis_labels))
            self.stats.axes_built += 1
        _, axis_segments, labels = self._axes
        uploaded = self.trajectories.draw_kept_segments(
            "axes", key, (), lambda: axis_segments, mvp, size, 2.0 * ui, 1.0 * ui
        )
        self.stats.uploaded("axes", uploaded)
        spots, heights = ball_spots(paths), self.surface.vertex_heights
        arrows = step_arrows(state.trails, spots, world, heights, mvp, size)
        self._trails("main", paths, mvp, size, (0, 0, *size), ui, 1.0, TRAIL_BUDGET, arrows)
        return labels

    def _trails(self, view, paths, mvp, viewport_size, viewport, ui, scale, budget, marks=None):
        """Paths, then drop lines, arrowheads where paths leave the view and `marks` (anatomy
        arrows), then balls (always seen: the current point must be; faint where the surface
        covers them).

        The paths' segments stay on the GPU in buffer `view` while the paths and their thinning
        steps stay the same: orbiting the camera uploads nothing.
        """
        self.ctx.viewport = viewport
        width, outline = 7.0 * ui * scale, 1.7 * ui * scale
        steps = tuple(thinning_step(mvp, viewport_size, p.box) for p in paths)

        def build() -> np.ndarray:
            # a step stands for at most STEP_PX pixels: widths in world units are at least this
            rows = [
                path_segments(p, step, budget, width * step / STEP_PX)
                for p, step in zip(paths, steps, strict=True)
            ]
            return np.concatenate(rows) if rows else np.zeros(0, dtype=WORLD_SEGMENT)

        key = (tuple(map(id, paths)), steps, budget, width)
        uploaded = self.trajectories.draw_kept_segments(
            view, key, tuple(paths), build, mvp, viewport_size, width, outline
        )
        self.stats.uploaded(view, uploaded)
        self.ctx.disable(moderngl.DEPTH_TEST)
        if paths:
            marks = [drop_line(p, 10 * ui) for p in paths] + ([] if marks is None else [marks])
            marks += [exit_arrows(p, mvp, viewport_size, ARROW_PX * ui * scale) for p in paths]
            marks = np.concatenate(marks)
            self.trajectories.draw_segments(marks, mvp, viewport_size, width, outline)
        rows = balls(paths, 11.0 * ui * scale)
        # in the main view, parts of balls behind the surface are drawn faint (a ball at the
        # bottom of a narrow pit, seen over its rim); the top view has no depth of its own
        see_through = view == "main"
        if see_through:
            rows = ball_fronts(rows, mvp, viewport_size)
        self.trajectories.draw_balls(rows, mvp, viewport_size, see_through)

    def _minimap_box(self, world, area: Box, ui: float) -> tuple[int, int, int, int]:
        """The top view's (x, y, w, h) in frame pixels: the bottom-right corner of `area`, its
        longer side MINIMAP_FRACTION of the area's height."""
        ax, ay = world.half_extent
        longer = MINIMAP_FRACTION * (area[3] - area[1])
        w, h = round(longer * ax / max(ax, ay)), round(longer * ay / max(ax, ay))
        x = round(area[2] - w - hud.MARGIN * ui)
        y_top = round(area[3] - h - hud.MARGIN * ui)
        return x, y_top, w, h

    def _minimap(self, world, paths, ui, theme, box) -> None:
        """The top-down orthographic view at `box` = (x, y, w, h) in scene pixels from the top
        left."""
        width, height = self.targets.scene_size
        ax, ay = world.half_extent
        x, y_top, w, h = box
        viewport = (x, height - y_top - h, w, h)
        view = look_at(np.array([0.0, 0.0, 5.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]))
        mvp = orthographic(ax, ay, 0.1, 10.0) @ view
        image = self._minimap_surface(world, mvp, (w, h), ui, theme.minimap_backdrop)
        self.targets.scene_fbo.use()
        # The opaque blit covers the viewport and the top view draws without a depth test, so
        # nothing needs clearing (~1 ms of raster), unless FXAA will look for edges in its depth.
        if self.targets.fxaa:
            self.targets.scene_fbo.clear(depth=1.0, viewport=viewport)
        self.ctx.viewport = viewport
        self.ctx.disable(moderngl.BLEND)
        self.ctx.disable(moderngl.DEPTH_TEST)
        image.use(IMAGE_UNIT)
        self._fullscreen["blit"].program["u_image"].value = IMAGE_UNIT
        self._fullscreen["blit"].render(moderngl.TRIANGLES, vertices=3)
        budget = tuple(round(b * MINIMAP_BUDGET) for b in TRAIL_BUDGET)
        self._trails("minimap", paths, mvp, (w, h), viewport, ui, MINIMAP_SCALE, budget)
        self.ctx.viewport = (0, 0, width, height)

    def _minimap_surface(self, world, mvp, size, ui, backdrop) -> moderngl.Texture:
        """The top view of the surface as an image of `size`, redrawn only when the heights,
        the world transform, the size or the scale change: it never depends on the camera."""
        key = (self.surface.heights_key, world, size, ui, backdrop)
        if key != self._minimap_key:
            if not self._minimap_image or self._minimap_image[0].size != size:
                self._release_minimap_image()
                image = self.ctx.texture(size, 4)
                image.filter = (moderngl.NEAREST, moderngl.NEAREST)  # copied 1:1
                depth = self.ctx.depth_renderbuffer(size)
                self._minimap_image = [image, depth, self.ctx.framebuffer([image], depth)]
            fbo = self._minimap_image[2]
            fbo.use()
            fbo.clear(*backdrop, depth=1.0)
            self.ctx.viewport = (0, 0, *size)
            self.ctx.enable(moderngl.DEPTH_TEST)
            light = tuple(np.array([-0.5, 0.5, 1.0]) / math.sqrt(1.5))
            self.surface.draw(world, mvp, SurfaceLook(light, 0.6, line_px=1.2 * ui))
            self._minimap_key = key
            self.stats.top_views_drawn += 1
        return self._minimap_image[0]

    def _release_minimap_image(self) -> None:
        self._home_fbo.use()  # moderngl rebinds the current framebuffer: never a released one
        for item in reversed(self._minimap_image):
            item.release()
        self._minimap_image, self._minimap_key = [], None

    def _post_process(self) -> None:
        """Resolve, then FXAA (or a plain upscale) into the final image."""
        targets = self.targets
        targets.resolve()
        if not targets.post:
            return
        targets.final_fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self.ctx.disable(moderngl.DEPTH_TEST)
        targets.scene_image.use(IMAGE_UNIT)
        vao = self._fullscreen["fxaa" if targets.fxaa else "blit"]
        vao.program["u_image"].value = IMAGE_UNIT
        if targets.fxaa:
            targets.scene_depth.use(DEPTH_UNIT)
            vao.program["u_depth"].value = DEPTH_UNIT
        vao.render(moderngl.TRIANGLES, vertices=3)

    def _hud(self, state, labels, panels: list[Box], ui) -> None:
        size = self.targets.size
        self.targets.final_fbo.use()
        overlay, theme = self.overlay, state.theme
        hud.axis_labels(overlay, labels, ui, theme, panels)  # never over a panel's text
        overlay.flush(size)
        if state.help:
            self.draw_help(state.help, theme)

    def draw_help(self, rows: tuple[tuple[str, str], ...], theme) -> None:
        """The key help overlay (`rows` of keys and what they do, then what the marks on the
        view mean) over the finished frame: the window calls it after its panels."""
        size = self.targets.size
        self.targets.final_fbo.use()
        hud.help_panel(self.overlay, size[1] / 720 * theme.type_scale, size, theme, rows)
        self.overlay.flush(size)

    def draw_waiting(self, title: str, message: str, theme, error: bool = False) -> None:
        """A frame with no surface yet: the scenario's title and `message` (the landscape being
        computed, or why the worker stopped), centred, so that opening or switching a scenario
        shows the new one at once instead of a blank window."""
        fbo = self.targets.final_fbo
        fbo.use()
        fbo.clear(*theme.backdrop)
        hud.waiting_panel(self.overlay, self.targets.size, title, message, theme, error)
        self.overlay.flush(self.targets.size)

    # --- output ---------------------------------------------------------------------------------
    def read_rgb(self) -> np.ndarray:
        """The last frame as an (H, W, 3) uint8 array, top row first."""
        width, height = self.size
        raw = self.targets.final_fbo.read(components=3, alignment=1)
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)[::-1].copy()

    def present(self, screen: moderngl.Framebuffer, window_size: tuple[int, int]) -> None:
        """Draw the last frame onto `screen` (e.g. `ctx.screen`), letterboxed to keep its aspect."""
        width, height = window_size
        frame_w, frame_h = self.size
        if (width, height) == (frame_w, frame_h):
            self.ctx.copy_framebuffer(screen, self.targets.image_fbo)
            return
        scale = min(width / frame_w, height / frame_h)
        w, h = round(frame_w * scale), round(frame_h * scale)
        screen.use()
        screen.viewport = (0, 0, width, height)
        screen.clear(0.0, 0.0, 0.0, 1.0)
        screen.viewport = ((width - w) // 2, (height - h) // 2, w, h)
        self.ctx.disable(moderngl.BLEND)
        self.ctx.disable(moderngl.DEPTH_TEST)
        self.targets.final_image.use(IMAGE_UNIT)
        self._fullscreen["blit"].program["u_image"].value = IMAGE_UNIT
        self._fullscreen["blit"].render(moderngl.TRIANGLES, vertices=3)
