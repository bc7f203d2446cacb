"""The lit, colormapped height-field surface, and the height texture every 3-D pass samples.

The mesh is coarse (`mesh_cells` per side) and displaced by the height texture in the vertex
shader; colour, light and contours come from the texture per fragment. On software GL the cost is
the triangle count, so a fine texture on a coarse mesh keeps the detail and the frame budget. The
mesh's lines gather where the heights bend (`world.mesh_ticks`): a pit narrower than an even
cell still has vertices at its bottom, so a ball resting there is drawn in it, not on a lid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import moderngl
import numpy as np

from sandbox.render.colormap import load_colormap
from sandbox.render.layouts import SURFACE_VERTEX
from sandbox.render.shaders import load_program
from sandbox.render.world import MeshHeights, WorldTransform, mesh_heights

HEIGHT_UNIT, COLORMAP_UNIT = 0, 1
# Mesh cells per side. Triangle setup dominates the surface on llvmpipe (96 cells: ~12 ms a frame
# at 720p, 64: ~8 ms); a 256² height texture on 64 cells looks the same from any default view.
MESH_CELLS = 64
# Grid lines per side when the wireframe toggle is on: every fourth mesh line of the default
# mesh; denser grids wash the colours out at lecture-hall distance.
GRID_CELLS = 16


def grid_vertices(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SURFACE_VERTEX rows of the tensor grid with lines at `u` and `v`, row by row (row = v)."""
    vertices = SURFACE_VERTEX.empty(len(u) * len(v))
    vertices["in_uv"] = np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)
    return vertices


def grid_mesh(cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (SURFACE_VERTEX) and triangle indices of a cells x cells grid over [0, 1]^2.

    Each cell is split along its (0,0)-(1,1) diagonal; `world.mesh_height` assumes exactly
    this split.
    """
    ticks = np.linspace(0.0, 1.0, cells + 1)
    vertices = grid_vertices(ticks, ticks)
    row, col = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    a = (row * (cells + 1) + col).ravel()  # (u, v) = (col, row): the cell's (0, 0) corner
    b, c, d = a + 1, a + cells + 2, a + cells + 1  # (1, 0), (1, 1), (0, 1)
    indices = np.stack([a, b, c, a, c, d], axis=1).astype(np.uint32).ravel()
    return vertices, indices


@dataclass(frozen=True)
class SurfaceLook:
    """How the surface is shaded in one view."""

    light: tuple[float, float, float]  # unit vector towards the light, world space
    light_strength: float = 1.1
    contours: int = 14
    grid: bool = False
    line_px: float = 1.4


class SurfacePass:
    """Owns the mesh, the height texture and the colormap texture."""

    def __init__(
        self, ctx: moderngl.Context, mesh_cells: int = MESH_CELLS, colormap: str = "viridis"
    ):
        self.ctx, self.mesh_cells = ctx, mesh_cells
        self.program = load_program(ctx, "surface")
        vertices, indices = grid_mesh(mesh_cells)
        self._vbo = ctx.buffer(vertices.tobytes())
        self._ibo = ctx.buffer(indices.tobytes())
        self.vao = SURFACE_VERTEX.vertex_array(
            ctx, self.program, self._vbo, index_buffer=self._ibo, index_element_size=4
        )
        # 8-bit RGBA: the frame is 8-bit anyway, and llvmpipe filters unorm8 fastest
        table = np.round(load_colormap(colormap) * 255).astype(np.uint8)
        table = np.concatenate([table, np.full((256, 1), 255, np.uint8)], axis=1)
        self.colormap = ctx.texture((256, 1), 4, table.tobytes())
        self.colormap.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.colormap.repeat_x = self.colormap.repeat_y = False
        self.heights: moderngl.Texture | None = None
        self.vertex_heights = MeshHeights.uniform(mesh_cells)  # CPU copy of the drawn mesh
        self._heights_digest = b""

    def release(self) -> None:
        for resource in (self.vao, self._vbo, self._ibo, self.colormap, self.heights):
            if resource is not None:
                resource.release()

    def set_heights(self, grid_h: np.ndarray) -> None:
        """Upload an (H, W) grid of normalised heights (with its slopes) unless already there."""
        grid = np.ascontiguousarray(grid_h, dtype=np.float32)
        digest = (
            hashlib.blake2b(grid.tobytes(), digest_size=16).digest() + repr(grid.shape).encode()
        )
        if digest == self._heights_digest:
            return
        rows, cols = grid.shape
        dh_dv, dh_du = np.gradient(grid.astype(np.float64), 1 / (rows - 1), 1 / (cols - 1))
        data = np.stack([grid, dh_du, dh_dv], axis=-1).astype(np.float32)  # (H, W, 3)
        size = (cols, rows)
        if self.heights is None or self.heights.size != size:
            if self.heights is not None:
                self.heights.release()
            self.heights = self.ctx.texture(size, 3, dtype="f4")
            self.heights.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.heights.repeat_x = self.heights.repeat_y = False
        self.heights.write(data.tobytes())  # row 0 (lowest y) is the texture's first row: v = 0
        mesh = mesh_heights(grid.astype(np.float64), self.mesh_cells)
        self._vbo.write(grid_vertices(mesh.u, mesh.v).tobytes())
        self.vertex_heights = mesh
        self._heights_digest = digest

    @property
    def heights_key(self) -> bytes:
        """Changes whenever the height texture and `vertex_heights` do."""
        return self._heights_digest

    def draw(self, world: WorldTransform, mvp: np.ndarray, look: SurfaceLook) -> None:
        program = self.program
        self.heights.use(HEIGHT_UNIT)
        self.colormap.use(COLORMAP_UNIT)
        program["u_height"].value = HEIGHT_UNIT
        program["u_half_extent"].value = world.half_extent
        program["u_zscale"].value = world.zscale
        program["u_colormap"].value = COLORMAP_UNIT
        program["u_mvp"].write(mvp.T.astype("f4").tobytes())
        program["u_light"].value = look.light
        program["u_light_strength"].value = look.light_strength
        program["u_contours"].value = float(look.contours)
        program["u_grid"].value = float(GRID_CELLS if look.grid else 0)
        program["u_line_px"].value = look.line_px
        self.vao.render(moderngl.TRIANGLES)
