"""Drive the real window offscreen in its own process: a script's helpers to post input.

Input is simulated with pygame events posted to the window, as a user's mouse would send them;
each script runs in its own process (one OpenGL context per process through pygame).
"""

from __future__ import annotations

import subprocess
import textwrap

from offscreen import python

DRIVER = """
import os, time
from pathlib import Path
import numpy as np
import pygame
from sandbox.app.window import App
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

def frames_until(condition, limit=90.0):
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        app.frame()
    assert condition(), "timed out"

def post(kind, **fields):
    pygame.event.post(pygame.event.Event(kind, **fields))
    app.frame()

def press(key):
    post(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)

def drag(rect, start, end):
    # a mouse drag across a widget, from fraction `start` to `end` of its width
    x0, y0, x1, y1 = rect
    y = int((y0 + y1) / 2)
    at = lambda f: int(x0 + f * (x1 - x0))
    post(pygame.MOUSEMOTION, pos=(at(start), y), rel=(0, 0), buttons=(0, 0, 0))
    post(pygame.MOUSEBUTTONDOWN, pos=(at(start), y), button=1)
    for k in range(1, 6):
        post(pygame.MOUSEMOTION, pos=(at(start + k * (end - start) / 5), y), rel=(1, 0),
             buttons=(1, 0, 0))
    post(pygame.MOUSEBUTTONUP, pos=(at(end), y), button=1)
"""


def drive(code: str) -> subprocess.CompletedProcess:
    return python(DRIVER + textwrap.dedent(code))


def ok(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), (
        p.stdout[-2000:] + p.stderr[-3000:]
    )
