"""Makes docs/img/own_model.png: the whole example of docs/own-model.md, run as written, its
window drawn offscreen for 300 frames (step 75 at the default speed) and saved.

    python docs/img/own_model.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]


def example_code(frames: int, screenshot: Path, size: tuple[int, int]) -> str:
    """The guide's whole example, its `show` call told to stop after `frames` frames."""
    text = (DOCS / "own-model.md").read_text(encoding="utf-8")
    section = text.split("## A whole example", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    call_end = 'slice={"span": 2})'
    assert call_end in code, "the example's show call changed: update docs/img/own_model.py"
    stop = f"frames={frames}, screenshot={str(screenshot)!r}, size={size})"
    return code.replace(call_end, f'slice={{"span": 2}}, {stop}')


if __name__ == "__main__":
    out = DOCS / "img" / "own_model.png"
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy"}
    code = example_code(300, out, (1280, 720))
    sys.exit(subprocess.run([sys.executable, "-c", code], env=env).returncode)
