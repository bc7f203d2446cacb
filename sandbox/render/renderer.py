"""The renderer: one `draw(state, camera)` call renders a frame into an offscreen framebuffer.

Frame = backdrop, lit surface with contours, axes, trails, drop lines and balls (optionally
multisampled), a top-down mini-map in a corner, FXAA, then the HUD text on top (kept out of the
anti-aliasing blur). Headless callers `read_rgb()`; a window calls `present()`, which draws the
frame onto the screen with a fullscreen triangle (never a read or blit of the default framebuffer,
which misbehave under moderngl/EGL).
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from sandbox.render import hud
from sandbox.render.axes import axes
from sandbox.render.camera import OrbitCamera, look_at, orthographic
from sandbox.render.overlay_pass import OverlayPass
from sandbox.render.scene import SceneState
from sandbox.render.shaders import load_program
from sandbox.render.surface_pass import SurfaceLook, SurfacePass
from sandbox.render.trail_geometry import balls, drop_line, trail_segments
from sandbox.render.trajectory_pass import TrajectoryPass
from sandbox.render.world import PreparedTrail, WorldTransform, prepare_trail

IMAGE_UNIT = 3
BACKDROP_TOP, BACKDROP_BOTTOM = (0.20, 0.22, 0.27), (0.07, 0.08, 0.10)
MINIMAP_BACKDROP = (0.06, 0.07, 0.09, 1.0)
MINIMAP_FRACTION = 0.30  # of the frame height, for the longer side of the footprint


def default_camera(state: SceneState, size: tuple[int, int]) -> OrbitCamera:
    """The opening view of a scene: the whole surface and its axis labels, from the front left."""
    world = WorldTransform.from_state(state)
    grid_h = world.normalised_heights(state.heights)
    rows, cols = grid_h.shape
    i = np.linspace(0, rows - 1, min(rows, 33)).round().astype(int)
    j = np.linspace(0, cols - 1, min(cols, 33)).round().astype(int)
    v, u = np.meshgrid(i / (rows - 1), j / (cols - 1), indexing="ij")
    surface = world.world(np.column_stack([u.ravel(), v.ravel()]), grid_h[np.ix_(i, j)].ravel())
    # the base frame widened by the room the tick labels and axis names need
    ax, ay = world.half_extent
    margin = 0.22
    base = np.array([[sx * (ax + margin), sy * (ay + margin), 0.0] for sx in (-1, 1) for sy in (-1, 1)])
    return OrbitCamera.framing(np.vstack([surface, base]), size[0] / size[1], target_z=0.3 * world.zscale)


def camera_light(camera: OrbitCamera) -> tuple[float, float, float]:
    """A light above and to the left of the viewer, so relief reads the same from any side."""
    right, _, forward = camera.basis()
    flat_forward = np.array([forward[0], forward[1], 0.0])
    light = -0.6 * right - 0.35 * flat_forward / max(np.linalg.norm(flat_forward), 1e-9)
    light = light + np.array([0.0, 0.0, 0.8])
    return tuple(float(c) for c in light / np.linalg.norm(light))


class Renderer:
    """Draws `SceneState`s with an `OrbitCamera` into a `size` = (width, height) framebuffer.

    Parameters
    ----------
    samples
        MSAA samples for the 3-D passes (0 = none; FXAA still smooths edges).
    fxaa
        Run the FXAA pass over the 3-D image.
    mesh_cells
        Surface mesh resolution per side; the height texture keeps the grid's full detail.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        size: tuple[int, int],
        *,
        samples: int = 0,
        fxaa: bool = True,
        mesh_cells: int = 96,
    ):
        self.ctx, self.samples, self.use_fxaa = ctx, samples, fxaa
        self.surface = SurfacePass(ctx, mesh_cells)
        self.trajectories = TrajectoryPass(ctx, self.surface)
        self.overlay = OverlayPass(ctx)
        self._fullscreen = {
            name: ctx.vertex_array(load_program(ctx, name), [])
            for name in ("background", "fxaa", "blit")
        }
        self._targets: list = []
        # moderngl rebinds the current framebuffer after creating objects: it must never be
        # one of ours that was released, so step back to this one before releasing them
        self._home_fbo = ctx.fbo or ctx.detect_framebuffer(0)
        self.resize(size)

    # --- framebuffers ---------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def resize(self, size: tuple[int, int]) -> None:
        """Reallocate the framebuffers for a new frame size (width, height)."""
        width, height = int(size[0]), int(size[1])
        if width < 16 or height < 16:
            raise ValueError(f"frame size must be at least 16x16, got {size}")
        self._release_targets()
        self._size = (width, height)
        ctx, make = self.ctx, self._targets.append
        depth = ctx.depth_renderbuffer(self._size, samples=self.samples)
        if self.samples:
            color = ctx.renderbuffer(self._size, 4, samples=self.samples)
            self.scene_fbo = ctx.framebuffer([color], depth)
            self.scene_image = ctx.texture(self._size, 4)
            self._resolve_fbo = ctx.framebuffer([self.scene_image])
            for item in (color, self._resolve_fbo):
                make(item)
        else:
            self.scene_image = ctx.texture(self._size, 4)
            self.scene_fbo = ctx.framebuffer([self.scene_image], depth)
            self._resolve_fbo = None
        for item in (depth, self.scene_fbo, self.scene_image):
            make(item)
        if self.use_fxaa:
            self.final_image = ctx.texture(self._size, 4)
            self.final_fbo = ctx.framebuffer([self.final_image])
            make(self.final_image)
            make(self.final_fbo)
        else:
            self.final_image = self.scene_image
            self.final_fbo = self._resolve_fbo or self.scene_fbo
        self.scene_image.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.final_image.filter = (moderngl.LINEAR, moderngl.LINEAR)

    def _release_targets(self) -> None:
        if self._targets:
            self._home_fbo.use()
        for item in self._targets:
            item.release()
        self._targets = []

    def release(self) -> None:
        """Free every GL object this renderer made (the context stays)."""
        self._release_targets()
        for vao in self._fullscreen.values():
            vao.release()
        for part in (self.surface, self.trajectories, self.overlay):
            part.release()

    # --- a frame --------------------------------------------------------------------------------
    def draw(self, state: SceneState, camera: OrbitCamera | None = None) -> None:
        """Render one frame of `state` into the offscreen framebuffer."""
        camera = camera or default_camera(state, self._size)
        world = WorldTransform.from_state(state)
        grid_h = world.normalised_heights(state.heights)
        self.surface.set_heights(grid_h)
        trails = [prepare_trail(trail, world, grid_h) for trail in state.trails]
        ui = self._size[1] / 720

        self.scene_fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self.scene_fbo.clear(depth=1.0)
        self._backdrop()
        labels = self._main_view(state, world, grid_h, trails, camera, ui)
        minimap_box = self._minimap(state, world, grid_h, trails, ui) if state.show_minimap else None
        self._post_process()
        self._hud(state, trails, labels, minimap_box, ui)

    def _backdrop(self) -> None:
        program = self._fullscreen["background"].program
        program["u_top"].value, program["u_bottom"].value = BACKDROP_TOP, BACKDROP_BOTTOM
        self.ctx.disable(moderngl.DEPTH_TEST)
        self._fullscreen["background"].render(moderngl.TRIANGLES, vertices=3)

    def _main_view(self, state, world, grid_h, trails, camera, ui) -> list:
        ctx, size = self.ctx, self._size
        mvp = camera.view_projection(size[0] / size[1])
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.depth_func = "<="
        look = SurfaceLook(camera_light(camera), grid=state.wireframe, line_px=1.5 * ui)
        self.surface.draw(world, mvp, look)
        axis_segments, labels = axes(world, camera, size, state.axis_labels)
        self.trajectories.draw_segments(axis_segments, world, mvp, size, 2.0 * ui, 1.0 * ui)
        self._trails(world, grid_h, trails, mvp, size, (0, 0, *size), ui, 1.0)
        return labels

    def _trails(self, world, grid_h, trails, mvp, viewport_size, viewport, ui, scale) -> None:
        """Paths, then drop lines, then balls (always on top: the current point must be seen)."""
        self.ctx.viewport = viewport
        paths = [trail_segments(t, world, grid_h, mvp, viewport_size, 1.5) for t in trails]
        drops = [drop_line(t, 10 * ui) for t in trails]
        width, outline = 7.0 * ui * scale, 1.7 * ui * scale
        if paths:
            self.trajectories.draw_segments(np.concatenate(paths), world, mvp, viewport_size, width, outline)
        self.ctx.disable(moderngl.DEPTH_TEST)
        if drops:
            self.trajectories.draw_segments(np.concatenate(drops), world, mvp, viewport_size, width, outline)
        markers = balls(trails, 11.0 * ui * scale, with_feet=True)
        self.trajectories.draw_balls(markers, world, mvp, viewport_size)

    def _minimap(self, state, world, grid_h, trails, ui) -> tuple[int, int, int, int]:
        """A top-down orthographic view in the bottom-right corner; returns its (x, y, w, h)."""
        ax, ay = world.half_extent
        longer = MINIMAP_FRACTION * self._size[1]
        w, h = round(longer * ax / max(ax, ay)), round(longer * ay / max(ax, ay))
        x = self._size[0] - w - round(hud.MARGIN * ui)
        y_top = self._size[1] - h - round(hud.MARGIN * ui)
        viewport = (x, self._size[1] - y_top - h, w, h)
        self.scene_fbo.clear(*MINIMAP_BACKDROP, depth=1.0, viewport=viewport)
        view = look_at(np.array([0.0, 0.0, 5.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]))
        mvp = orthographic(ax, ay, 0.1, 10.0) @ view
        self.ctx.viewport = viewport
        self.ctx.enable(moderngl.DEPTH_TEST)
        light = tuple(np.array([-0.5, 0.5, 1.0]) / math.sqrt(1.5))
        self.surface.draw(world, mvp, SurfaceLook(light, 0.6, line_px=1.2 * ui))
        self._trails(world, grid_h, trails, mvp, (w, h), viewport, ui, 0.55)
        self.ctx.viewport = (0, 0, *self._size)
        return x, y_top, w, h

    def _post_process(self) -> None:
        if self._resolve_fbo is not None:
            self.ctx.copy_framebuffer(self._resolve_fbo, self.scene_fbo)
        if not self.use_fxaa:
            return
        self.final_fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self.ctx.disable(moderngl.DEPTH_TEST)
        self.scene_image.use(IMAGE_UNIT)
        self._fullscreen["fxaa"].program["u_image"].value = IMAGE_UNIT
        self._fullscreen["fxaa"].render(moderngl.TRIANGLES, vertices=3)

    def _hud(self, state, trails, labels, minimap_box, ui) -> None:
        self.final_fbo.use()
        overlay = self.overlay
        hud.axis_labels(overlay, labels, ui)
        hud.title_panel(overlay, state, ui)
        hud.legend(overlay, state, trails, ui, self._size[0])
        if minimap_box is not None:
            hud.minimap_frame(overlay, minimap_box, ui)
        if state.alert:
            hud.alert_banner(overlay, state.alert, ui, self._size)
        overlay.flush(self._size)
        if state.help:
            hud.help_panel(overlay, ui, self._size)
            overlay.flush(self._size)

    # --- output ---------------------------------------------------------------------------------
    def read_rgb(self) -> np.ndarray:
        """The last frame as an (H, W, 3) uint8 array, top row first."""
        width, height = self._size
        raw = self.final_fbo.read(components=3, alignment=1)
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)[::-1].copy()

    def present(self, screen: moderngl.Framebuffer, window_size: tuple[int, int]) -> None:
        """Draw the last frame onto `screen` (e.g. `ctx.screen`), letterboxed to keep its aspect."""
        width, height = window_size
        scale = min(width / self._size[0], height / self._size[1])
        w, h = round(self._size[0] * scale), round(self._size[1] * scale)
        screen.use()
        screen.viewport = (0, 0, width, height)
        screen.clear(0.0, 0.0, 0.0, 1.0)
        screen.viewport = ((width - w) // 2, (height - h) // 2, w, h)
        self.ctx.disable(moderngl.BLEND)
        self.ctx.disable(moderngl.DEPTH_TEST)
        self.final_image.use(IMAGE_UNIT)
        self._fullscreen["blit"].program["u_image"].value = IMAGE_UNIT
        self._fullscreen["blit"].render(moderngl.TRIANGLES, vertices=3)
