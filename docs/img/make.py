"""The README's pictures, made by the project's own commands: app frames from `sandbox gallery`,
animations from `sandbox replay --video`.

Run from anywhere with the package installed (a few minutes; offscreen, no display needed):

    python docs/img/make.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
FRAME_SIZE = "960x540"
FRAMES = {  # scenario: the step drawn
    "saddle": 150,
    "learning_rate": 30,
    "himmelblau": 30,
    "adaptive_steps": 270,
    "mode_connectivity": 600,
}
GIF_FPS = "12"
# scenario: (frames, size). rosenbrock opens the README: 96 frames at 12 fps are 8 s, and at
# 640x360 the captions and the legend stay legible (1.6 MB); saddle, in the gallery, is done by
# step 50 of 400, so 4 s at 480x270 show it.
GIFS = {"saddle": (48, "480x270"), "rosenbrock": (96, "640x360")}


def sandbox(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sandbox", *args], check=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="readme-img-") as scratch:
        gallery = Path(scratch) / "gallery"
        sandbox("gallery", str(gallery), "--only", *FRAMES, "--size", FRAME_SIZE)
        for name, step in FRAMES.items():
            image = Image.open(gallery / name / f"step{step:06d}.png").convert("RGB")
            # 256 colours keep a frame near 60 kB; the octree keeps each run's colour (a median
            # cut merged the red run into the magenta one)
            small = image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            small.save(HERE / f"{name}.png", optimize=True)
        for name, (count, size) in GIFS.items():
            out = Path(scratch) / name
            gif = HERE / f"{name}.gif"
            sandbox(
                "replay",
                name,
                "--out",
                str(out),
                "--video",
                str(gif),
                "--force",
                "--quiet",
                "--video-frames",
                str(count),
                "--size",
                size,
                "--fps",
                GIF_FPS,
            )
    placed_balls()


def placed_balls() -> None:
    """placing.png: the app driven with synthetic clicks and a drag (placing.py)."""
    subprocess.run([sys.executable, str(HERE / "placing.py")], check=True)


if __name__ == "__main__":
    main()
