"""Benchmark: renderer frame time, headless, for a heavy scene.

    python benchmarks/bench_frames.py [--size 1280x720] [--frames 60] [--samples 0]
                                      [--mesh-cells 64] [--fxaa] [--scale 1.0] [--growing]
                                      [--png PATH]

Scene: a 256 x 256 height field and 4 noisy optimiser paths of 10,000 points each (they converge,
then jitter in place, the costly case for thick lines); the camera orbits a little every frame
(a paused app being turned: trail segments stay on the GPU). With --growing every trail also
gains a point per frame, as while the app runs, so the trails are rebuilt and re-uploaded every
frame (new `Trail` objects each frame, as the app makes them). Prints the median and p95
of (a) draw + finish (what a window pays before swapping) and (b) draw + read_rgb (what a video
frame costs), in milliseconds, with the GL renderer. Absolute figures move with machine load;
compare configurations within one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sandbox.render import Renderer, SceneState, default_camera, headless_context
from sandbox.render.examples import grown, heavy_scene


def measure(
    renderer: Renderer, state: SceneState, frames: int, read: bool, growing: bool = False
) -> np.ndarray:
    """Milliseconds per frame over `frames` frames, the camera turning 0.5 degrees per frame."""
    camera = default_camera(state, renderer.size)
    times = []
    for index in range(frames + 5):
        scene = grown(state, index, frames + 5) if growing else state
        start = time.perf_counter()
        renderer.draw(scene, camera.orbit(0.5 * index, 0.0))
        if read:
            renderer.read_rgb()
        else:
            renderer.ctx.finish()
        if index >= 5:  # warm-up: shader compilation, glyph atlas, buffer growth
            times.append((time.perf_counter() - start) * 1e3)
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--samples", type=int, default=0, help="MSAA samples (0 = FXAA only)")
    parser.add_argument("--mesh-cells", type=int, default=64)
    parser.add_argument("--fxaa", action="store_true", help="depth-guided FXAA pass")
    parser.add_argument("--scale", type=float, default=1.0, help="internal 3-D render scale")
    parser.add_argument("--growing", action="store_true", help="trails grow every frame")
    parser.add_argument("--png", help="also save the last frame here, to look at")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    ctx = headless_context()
    renderer = Renderer(
        ctx,
        size,
        samples=args.samples,
        fxaa=args.fxaa,
        render_scale=args.scale,
        mesh_cells=args.mesh_cells,
    )
    state = heavy_scene()
    print(f"GL: {ctx.info['GL_RENDERER']}")
    print(
        f"size {size[0]}x{size[1]}  heights {state.heights.shape}  trails 4 x 10k  "
        f"mesh {args.mesh_cells}²  samples {args.samples}  fxaa {args.fxaa}  "
        f"scale {args.scale}  growing {args.growing}"
    )
    for label, read in (("draw + finish", False), ("draw + read_rgb", True)):
        ms = measure(renderer, state, args.frames, read, args.growing)
        print(f"{label:16s} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms")
    if args.png:
        from sandbox.render.frames import save_png

        save_png(renderer.read_rgb(), args.png)


if __name__ == "__main__":
    main()
