"""Running the real window in a subprocess, offscreen (SDL_VIDEODRIVER=offscreen: EGL, no X).

One process per test: a process gets one OpenGL context through pygame, and the renderer tests
of the session already hold a headless one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ENV = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy"}


def python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `code` (dedented) in a fresh interpreter with the offscreen window environment."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def sandbox(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the `sandbox` command (as `python -m sandbox`) offscreen."""
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
