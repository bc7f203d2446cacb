"""Renderer output: PNG frames, videos, a real window, and numbers printed for people."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from pictures import EXACT, assert_pictures_match
from PIL import Image

from sandbox.render import Renderer
from sandbox.render.examples import saddle_scene
from sandbox.render.frames import render_frames, video_size, write_video


def test_render_frames_writes_identical_pngs_atomically(ctx, tmp_path):
    states = [saddle_scene(step) for step in (5, 40)]
    first = render_frames(states, (160, 96), tmp_path / "a", ctx=ctx)
    second = render_frames(states, (160, 96), tmp_path / "b", ctx=ctx)
    assert [p.name for p in first] == ["frame_00000.png", "frame_00001.png"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert not list((tmp_path / "a").glob(".*part"))


def test_videos_are_written_as_mp4_and_gif(ctx, tmp_path):
    import imageio_ffmpeg

    states = [saddle_scene(step) for step in (5, 10, 15)]
    mp4 = write_video(states, tmp_path / "run.mp4", (100, 60), fps=10, ctx=ctx)
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert tuple(meta["size"]) == video_size((100, 60)) == (112, 64)
    assert sum(1 for _ in reader) == 3
    gif = write_video(states, tmp_path / "run.gif", (100, 60), fps=10, ctx=ctx)
    assert gif.read_bytes()[:6] == b"GIF89a"


WINDOW_SCRIPT = """
import sys
from sandbox.render.context import open_window
from sandbox.render.examples import saddle_scene
from sandbox.render.frames import save_png
from sandbox.render.renderer import Renderer

import numpy as np

surface, ctx = open_window((320, 180), "smoke")
renderer = Renderer(ctx, (320, 180))
renderer.draw(saddle_scene(20))
renderer.present(ctx.screen, (320, 180))  # the window's own size: the frame is copied as it is
assert ctx.error == "GL_NO_ERROR", ctx.error
shown = np.frombuffer(ctx.screen.read(components=3, alignment=1), np.uint8)
ctx.error  # moderngl's read asks the window's framebuffer for GL_COLOR_ATTACHMENT0: flag cleared
assert np.array_equal(shown.reshape(180, 320, 3)[::-1], renderer.read_rgb())
renderer.present(ctx.screen, (400, 180))  # another size: scaled and letterboxed
import pygame
pygame.display.flip()
assert ctx.error == "GL_NO_ERROR", ctx.error
save_png(renderer.read_rgb(), sys.argv[1])
"""


def test_a_real_window_presents_the_frame_and_saves_a_screenshot(ctx, tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy"}
    shot = tmp_path / "shot.png"
    subprocess.run(
        [sys.executable, "-c", WINDOW_SCRIPT, str(shot)], env=env, check=True, timeout=120
    )
    image = np.asarray(Image.open(shot))
    headless = Renderer(ctx, (320, 180))  # the same frame, drawn in the tests' EGL context
    headless.draw(saddle_scene(20))
    expected = headless.read_rgb()
    headless.release()
    assert image.std() > 20  # a drawn frame (measured 34.5 headless)
    assert_pictures_match(image, expected, EXACT, "window-vs-headless")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.917e-46, "< 1e-12"),  # the probe's legend: float noise at the bottom of a minimum
        (0.0006999, "7e-4"),
        (0.0001431, "1.43e-4"),
        (0.001019, "0.00102"),
        (0.1313, "0.131"),
        (1.0, "1"),
        (40.2097, "40.2"),
        (1500.0, "1500"),
        (5.77e17, "5.77e17"),
        (9.336e33, "9.34e33"),
        (-2.5, "-2.5"),
        (-3e-13, "≈ 0"),
        (0.0, "0"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
    ],
)
def test_numbers_are_printed_for_people(value, text):
    from sandbox.render.numbers import human

    assert human(value) == text


def test_a_window_never_opens_larger_than_the_display():
    """Issue 17: `present` opened 1920x1080 on a 1280x720 screen, cutting off the title,
    subtitles and legend; lecture mode fills the display it is on."""
    from sandbox.render.context import fit_to_display

    assert fit_to_display((1920, 1080), (1280, 720)) == (1280, 720)
    assert fit_to_display((1280, 720), (1920, 1080)) == (1280, 720)
    assert fit_to_display((1600, 600), (1280, 720)) == (1280, 600)
    assert fit_to_display((1920, 1080), (1280, 720), fill=True) == (1280, 720)
    assert fit_to_display((1280, 720), (3840, 2160), fill=True) == (3840, 2160)
    assert fit_to_display((800, 600), None, fill=True) == (800, 600)  # offscreen: as asked
    assert fit_to_display((800, 600), (0, 0)) == (800, 600)
