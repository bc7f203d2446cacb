"""Renderer: shaders compile and report errors by file and line; the package stays apart.

Shader files and vertex layouts, the font atlas, and what importing the renderer may load.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.render import ShaderError
from sandbox.render.layouts import (
    BALL_INSTANCE,
    GLYPH_VERTEX,
    RECT_INSTANCE,
    SEGMENT_VERTEX,
    SURFACE_VERTEX,
    LayoutMismatch,
    check_layout,
)
from sandbox.render.shaders import load_program, program_names, shader_dir

RENDER_DIR = Path(__file__).resolve().parent.parent / "sandbox" / "render"


def test_every_program_compiles_and_follows_the_file_rules(ctx):
    names = program_names()
    assert {"surface", "lines", "balls", "text", "rects", "fxaa", "blit"} <= set(names)
    for name in names:
        lines = (shader_dir() / f"{name}.glsl").read_text().splitlines()
        assert lines[0] == "#version 330 core", name
        assert lines[1].startswith("// "), f"{name}.glsl: line 2 must say what the program is for"
        load_program(ctx, name).release()
    for include in set(p.stem for p in shader_dir().glob("*.glsl")) - set(names):
        assert (shader_dir() / f"{include}.glsl").read_text().startswith("// ")


BROKEN_INCLUDE = """// a helper with a typo on line 3
float helper(float x) {
    return x * undefined_name;
}
"""
BROKEN_PROGRAM = """#version 330 core
// broken on purpose
#include "helper.glsl"
#ifdef VERTEX_SHADER
void main() { gl_Position = vec4(helper(1.0)); }
#endif
#ifdef FRAGMENT_SHADER
out vec4 color;
void main() { color = vec4(1.0) + not_declared; }
#endif
"""


def test_compile_errors_name_the_file_and_line_through_includes(ctx, tmp_path):
    (tmp_path / "helper.glsl").write_text(BROKEN_INCLUDE)
    (tmp_path / "broken.glsl").write_text(BROKEN_PROGRAM)
    with pytest.raises(ShaderError) as caught:
        load_program(ctx, "broken", directory=tmp_path)
    assert ("helper.glsl", 3) in caught.value.locations
    assert str(caught.value).startswith("helper.glsl:3: vertex_shader:")
    (tmp_path / "helper.glsl").write_text(BROKEN_INCLUDE.replace("undefined_name", "2.0"))
    with pytest.raises(ShaderError, match=r"broken\.glsl:9: fragment_shader:.*not_declared"):
        load_program(ctx, "broken", directory=tmp_path)


def test_missing_include_is_reported_where_it_is_included(ctx, tmp_path):
    (tmp_path / "broken.glsl").write_text(BROKEN_PROGRAM)
    with pytest.raises(ShaderError, match=r"broken\.glsl:3: include not found: helper\.glsl"):
        load_program(ctx, "broken", directory=tmp_path)


def test_a_stage_from_an_include_is_compiled(ctx):
    """blit.glsl has its vertex stage in fullscreen.glsl: a blit must copy the texture."""
    import moderngl

    home = ctx.fbo or ctx.detect_framebuffer(0)
    program = load_program(ctx, "blit")
    vao = ctx.vertex_array(program, [])
    source = ctx.texture((4, 4), 4, np.full((4, 4, 4), 200, np.uint8).tobytes())
    image = ctx.texture((8, 8), 4)
    fbo = ctx.framebuffer([image])
    fbo.use()
    fbo.clear()
    ctx.viewport = (2, 2, 4, 4)
    source.use(0)
    program["u_image"].value = 0
    vao.render(moderngl.TRIANGLES, vertices=3)
    pixels = np.frombuffer(fbo.read(components=3), np.uint8).reshape(8, 8, 3)
    assert np.all(pixels[2:6, 2:6] == 200) and pixels.sum() == 200 * 3 * 16
    home.use()  # never leave a released framebuffer bound
    for item in (vao, program, fbo, image, source):
        item.release()


def test_vertex_layouts_match_their_programs(ctx):
    pairs = {
        "surface": SURFACE_VERTEX,
        "lines": SEGMENT_VERTEX,
        "balls": BALL_INSTANCE,
        "text": GLYPH_VERTEX,
        "rects": RECT_INSTANCE,
    }
    for name, layout in pairs.items():
        program = load_program(ctx, name)
        check_layout(program, layout)
        program.release()
    program = load_program(ctx, "balls")
    with pytest.raises(LayoutMismatch):
        check_layout(program, SEGMENT_VERTEX)
    program.release()


def test_characters_the_font_cannot_draw_become_a_question_mark(ctx):
    """Issue 15: a run name with a zero-width joiner or a NUL failed every frame with pygame's
    "Text has zero width"; text that reaches the renderer by another way than a checked file
    (the app, the Python API) must still draw."""
    from sandbox.render.text import REPLACEMENT, FontAtlas

    atlas = FontAtlas(ctx, "DejaVuSans.ttf", 20, 2)
    for char in ("\u200d", "\u0000"):
        assert atlas.glyph(char) == atlas.glyph(REPLACEMENT)
        assert atlas.measure(f"GD{char}") == atlas.measure(f"GD{REPLACEMENT}")
    assert atlas.glyph("η") != atlas.glyph(REPLACEMENT)  # what the font has, it draws


def test_render_package_never_imports_torch_or_the_training_code():
    forbidden = ("torch", "sandbox.optim", "sandbox.landscape")
    for path in RENDER_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_importing_the_renderer_opens_no_window_and_loads_no_torch():
    code = "import sys, sandbox.render; print(sorted({'torch', 'pygame'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
