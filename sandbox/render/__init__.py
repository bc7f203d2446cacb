"""The 3-D view: draws plain numpy scene data with moderngl, in a window or headless.

Nothing here creates a GL context or a window at import time; `context` is the one module that
does, when asked. The renderer never imports torch or the optimiser code.
"""

from __future__ import annotations

from sandbox.render.camera import OrbitCamera
from sandbox.render.context import NoOpenGL, headless_context, open_window, window_context
from sandbox.render.frames import render_frames, write_video
from sandbox.render.opening_view import default_camera
from sandbox.render.renderer import Renderer
from sandbox.render.scene import RUN_COLORS, SceneState, Trail
from sandbox.render.shaders import ShaderError

__all__ = [
    "RUN_COLORS",
    "NoOpenGL",
    "OrbitCamera",
    "Renderer",
    "SceneState",
    "ShaderError",
    "Trail",
    "default_camera",
    "headless_context",
    "open_window",
    "render_frames",
    "window_context",
    "write_video",
]
