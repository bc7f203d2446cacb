"""Benchmark: renderer frame time, headless, for a heavy scene.

    python benchmarks/bench_frames.py [--size 1280x720] [--frames 60] [--samples 0] [--mesh-cells 96]

Scene: a 256 x 256 height field and 4 trails of 10,000 points each; the camera orbits a little
every frame so the trails are re-thinned and re-uploaded as in the app. Prints the median and p95
of (a) draw + finish (what a window pays before swapping) and (b) draw + read_rgb (what a video
frame costs), in milliseconds, with the GL renderer. Absolute figures move with machine load;
compare configurations within one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sandbox.render import RUN_COLORS, Renderer, SceneState, Trail, default_camera, headless_context
from sandbox.render.examples import bumpy_surface, grid

BOUNDS = ((-2.0, 2.0), (-2.0, 2.0))


def heavy_scene(points: int = 10_000, trails: int = 4, resolution: int = 256) -> SceneState:
    """A bumpy 256² surface with `trails` wandering paths of `points` points each."""
    f = bumpy_surface()
    rng = np.random.default_rng(0)
    runs = []
    for i in range(trails):
        walk = np.cumsum(rng.normal(0, 0.02, size=(points, 2)), axis=0)
        xy = np.clip(walk + rng.uniform(-1, 1, size=2), -2, 2)
        loss = f(xy[:, 0], xy[:, 1])
        runs.append(Trail(f"run {i}", RUN_COLORS[i], xy, loss, label=f"loss {loss[-1]:.4f}"))
    return SceneState(
        "benchmark: 256² surface, 4 × 10k-point trails",
        BOUNDS,
        grid(f, BOUNDS, resolution),
        tuple(runs),
        points,
        caption="frame time benchmark",
    )


def measure(renderer: Renderer, state: SceneState, frames: int, read: bool) -> np.ndarray:
    """Milliseconds per frame over `frames` frames, the camera turning 0.5 degrees per frame."""
    camera = default_camera(state, renderer.size)
    times = []
    for index in range(frames + 5):
        start = time.perf_counter()
        renderer.draw(state, camera.orbit(0.5 * index, 0.0))
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
    parser.add_argument("--mesh-cells", type=int, default=96)
    parser.add_argument("--no-fxaa", action="store_true")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    ctx = headless_context()
    renderer = Renderer(
        ctx, size, samples=args.samples, fxaa=not args.no_fxaa, mesh_cells=args.mesh_cells
    )
    state = heavy_scene()
    print(f"GL: {ctx.info['GL_RENDERER']}")
    print(
        f"size {size[0]}x{size[1]}  heights {state.heights.shape}  trails 4 x 10k  "
        f"mesh {args.mesh_cells}²  samples {args.samples}  fxaa {not args.no_fxaa}"
    )
    for label, read in (("draw + finish", False), ("draw + read_rgb", True)):
        ms = measure(renderer, state, args.frames, read)
        print(f"{label:16s} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms")


if __name__ == "__main__":
    main()
