"""The real window, offscreen (SDL_VIDEODRIVER=offscreen: EGL, no X server), in subprocesses.

Each test runs in its own process because a process gets one OpenGL context through pygame, and
the renderer tests in this session already hold a headless one.
"""

from __future__ import annotations

import numpy as np
import pytest
from offscreen import python, sandbox
from PIL import Image


@pytest.mark.slow
def test_run_saves_a_screenshot_of_the_real_window(tmp_path):
    shot = tmp_path / "shot.png"
    p = sandbox("run", "saddle", "--frames", "30", "--size", "640x360", "--screenshot", str(shot))
    assert p.returncode == 0, p.stderr
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape == (360, 640, 3)
    assert image.std() > 20 and len(np.unique(image.reshape(-1, 3), axis=0)) > 500


DRIVER = """
import os, signal, time
import pygame
from sandbox.app.window import App
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

app = App(load_scenario(find_scenario("saddle")), (480, 270))

def frames_until(condition, limit=60.0):
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        app.frame()
    assert condition(), "timed out"

def press(key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    app.frame()
"""


@pytest.mark.slow
def test_keys_drive_playback_and_restart():
    p = python(
        DRIVER
        + """
frames_until(lambda: app.playback.step > 5)
speed = app.playback.speed
press(pygame.K_SPACE)
paused_at = app.playback.step
for _ in range(5):
    app.frame()
assert app.playback.paused and app.playback.step == paused_at
press(pygame.K_PERIOD)
assert app.playback.step == paused_at + 1
press(pygame.K_EQUALS)
assert app.playback.speed == 2 * speed
press(pygame.K_h)
assert app.last_state.help
old = app.worker.process
press(pygame.K_r)
assert app.playback.step == 0 and not old.is_alive() and app.worker.process.is_alive()
press(pygame.K_ESCAPE)
assert not app.running
worker = app.worker.process
app.close()
assert not worker.is_alive()
print("ok")
"""
    )
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr[-2000:]


@pytest.mark.slow
def test_a_killed_worker_is_shown_and_r_restarts():
    p = python(
        DRIVER
        + """
frames_until(lambda: app.playback.step > 0)
os.kill(app.worker.process.pid, signal.SIGKILL)
frames_until(lambda: "stopped unexpectedly" in app.model.failure)
assert "press r to restart" in app.last_state.alert
press(pygame.K_r)
frames_until(lambda: app.playback.step > 0)
assert app.model.failure == "" and app.last_state.alert == ""
app.close()
print("ok")
"""
    )
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr[-2000:]


@pytest.mark.slow
def test_mouse_orbits_and_wheel_zooms():
    p = python(
        DRIVER
        + """
frames_until(lambda: app.camera is not None)
app.show_panel = False  # the panels take the mouse over them (tests/test_panel.py)
before = app.camera
for event in (pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(100, 100)),
              pygame.event.Event(pygame.MOUSEMOTION, pos=(160, 120), rel=(60, 20)),
              pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(160, 120))):
    app.handle(event)
assert app.camera != before
zoomed = app.camera
app.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1, flipped=False))
assert app.camera != zoomed
app.close()
print("ok")
"""
    )
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr[-2000:]
