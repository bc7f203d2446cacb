"""Every vertex layout the renderer uploads, declared once as a numpy dtype.

Field names are the GLSL attribute names; `check_layout` compares a layout with what the compiled
program actually declares, so a renamed or resized attribute fails loudly at start-up instead of
drawing garbage.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np


@dataclass(frozen=True)
class VertexLayout:
    """A numpy dtype of float32 fields, per vertex or per instance."""

    dtype: np.dtype
    per_instance: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.dtype.names or ())

    @property
    def format(self) -> str:
        """The moderngl buffer format, e.g. ``"4f 4f 3f/i"``."""
        parts = [f"{self.components(name)}f" for name in self.names]
        return " ".join(parts) + ("/i" if self.per_instance else "")

    def components(self, name: str) -> int:
        sub, _ = self.dtype.fields[name]
        return int(np.prod(sub.shape)) if sub.shape else 1

    def empty(self, count: int) -> np.ndarray:
        return np.zeros(count, dtype=self.dtype)

    def vertex_array(
        self, ctx: moderngl.Context, program: moderngl.Program, buffer: moderngl.Buffer, **kwargs
    ) -> moderngl.VertexArray:
        """A VAO binding `buffer` laid out as this layout, checked against `program` first."""
        check_layout(program, self)
        return ctx.vertex_array(program, [(buffer, self.format, *self.names)], **kwargs)


def _layout(*fields: tuple, per_instance: bool = False) -> VertexLayout:
    dtype = np.dtype(list(fields))
    for name in dtype.names:
        if dtype.fields[name][0].base != np.float32:
            raise TypeError(f"layout field {name} must be float32")
    return VertexLayout(dtype, per_instance)


SURFACE_VERTEX = _layout(("in_uv", "f4", 2))
SEGMENT_VERTEX = _layout(
    ("in_p0", "f4", 3),  # start, world space (projected in the vertex shader)
    ("in_p1", "f4", 3),  # end
    ("in_color", "f4", 3),
    ("in_fade", "f4", 2),  # 1 = fresh, 0 = old, at each end: old parts are thinner and muted
    ("in_width", "f4"),  # multiplies the pass's line width
    ("in_dash", "f4"),  # dash period in pixels; 0 = solid
    ("in_cap", "f4"),  # 1 = round cap at the end; 0 = the next segment starts here, draws the joint
)  # one row per segment in numpy; each row is uploaded 4 times, once per quad corner
BALL_INSTANCE = _layout(
    ("in_center", "f4", 3),  # world position
    ("in_color", "f4", 3),
    ("in_radius", "f4"),  # pixels
    ("in_style", "f4"),  # 0 sphere, 1 hollow ring (diverged), 2 small foot marker
    per_instance=True,
)
GLYPH_VERTEX = _layout(("in_pos", "f4", 2), ("in_uv", "f4", 2), ("in_color", "f4", 4))
RECT_INSTANCE = _layout(
    ("in_rect", "f4", 4),  # x, y, width, height in pixels from the top left
    ("in_color", "f4", 4),  # straight (not premultiplied) RGBA
    ("in_radius", "f4"),  # corner radius in pixels
    per_instance=True,
)


class LayoutMismatch(TypeError):
    """A vertex layout and a compiled program disagree on attribute names or sizes."""


def check_layout(program: moderngl.Program, layout: VertexLayout) -> None:
    """Raise `LayoutMismatch` unless `program`'s attributes are exactly the layout's fields."""
    attributes = {
        name: program[name]
        for name in program
        if isinstance(program[name], moderngl.Attribute) and not name.startswith("gl_")
    }
    wanted = set(layout.names)
    if set(attributes) != wanted:
        raise LayoutMismatch(
            f"program attributes {sorted(attributes)} != layout fields {sorted(wanted)} "
            "(an attribute the shader never uses is optimised away: use it or drop the field)"
        )
    for name, attribute in attributes.items():
        size = attribute.dimension * attribute.array_length
        if attribute.shape != "f" or size != layout.components(name):
            raise LayoutMismatch(
                f"attribute {name}: shader has {size} x {attribute.shape!r}, "
                f"layout has {layout.components(name)} x float32"
            )
