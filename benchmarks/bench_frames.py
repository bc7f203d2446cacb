"""Benchmark: renderer frame time, headless, for a heavy scene.

    python benchmarks/bench_frames.py [--size 1280x720] [--frames 60] [--samples 0]
                                      [--mesh-cells 64] [--fxaa] [--scale 1.0] [--growing]
                                      [--scenario NAME] [--passes] [--png PATH]

Scene: a 256 x 256 height field and 4 noisy optimiser paths of 10,000 points each (they converge,
then jitter in place, the costly case for thick lines); the camera orbits a little every frame
(a paused app being turned: trail segments stay on the GPU). With --growing every trail also
gains a point per frame, as while the app runs, so the trails are rebuilt and re-uploaded every
frame (new `Trail` objects each frame, as the app makes them). Prints the median and p95
of (a) draw + finish (what a window pays before swapping) and (b) draw + read_rgb (what a video
frame costs), in milliseconds, with the GL renderer. Absolute figures move with machine load;
compare configurations within one run.

--scenario draws a bundled scenario (or a file) at its last step instead, computed first (e.g.
edge_of_stability: 2,000 bouncing steps, the costliest real trails). --passes adds where a
frame's CPU goes, per pass: the CPU time of Mesa's llvmpipe raster threads and of the main
thread (Python, and llvmpipe's vertex work and binning), from /proc on Linux. CPU time moves far
less with the host's load than wall time (which varied 1.5x between runs minutes apart here),
so compare changes with it. On llvmpipe a pass costs about what its pixels and triangles cost;
the shader's arithmetic barely counts (a constant-colour shader saves ~10 %).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

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


def raster_cpu_s() -> float:
    """CPU seconds used so far by this process's llvmpipe raster threads (0 elsewhere)."""
    total = 0
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        if "(llvmpipe" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def measure_passes(renderer: Renderer, state: SceneState, frames: int) -> dict:
    """Raster-thread and main-thread CPU milliseconds per frame of each pass, keyed by
    (the renderer's step, the GL program or operation). Every GL call is finished on its own,
    so the figures add up to more wall time than a frame without those waits takes."""
    import moderngl

    ctx = renderer.ctx
    programs = {
        renderer.surface.program.glo: "surface",
        renderer.trajectories.line_program.glo: "lines",
        renderer.trajectories.ball_program.glo: "balls",
        renderer.overlay.rect_program.glo: "panels",
        renderer.overlay.text_program.glo: "text",
    }
    programs.update({vao.program.glo: name for name, vao in renderer._fullscreen.items()})
    costs: dict = collections.defaultdict(lambda: [0.0, 0.0])
    step = ["frame"]

    def timed(label, call):
        def run(*args, **kwargs):
            ctx.finish()
            raster, main = raster_cpu_s(), time.thread_time()
            out = call(*args, **kwargs)
            ctx.finish()
            cost = costs[(step[0], label(*args))]
            cost[0] += raster_cpu_s() - raster
            cost[1] += time.thread_time() - main
            return out

        return run

    def during(name, call):
        def run(*args, **kwargs):
            step[0] = name
            try:
                return call(*args, **kwargs)
            finally:
                step[0] = "frame"

        return run

    patches = [
        (moderngl.VertexArray, "render", lambda vao, *a, **k: programs.get(vao.program.glo, "?")),
        (moderngl.Framebuffer, "clear", lambda *a, **k: "clear"),
        (moderngl.Context, "copy_framebuffer", lambda *a, **k: "copy"),
    ]
    saved = [(cls, name, getattr(cls, name)) for cls, name, _ in patches]
    for cls, name, label in patches:
        setattr(cls, name, timed(label, getattr(cls, name)))
    for name in ("_main_view", "_minimap", "_hud", "_post_process"):
        setattr(renderer, name, during(name.strip("_"), getattr(renderer, name)))
    try:
        camera = default_camera(state, renderer.size)
        for index in range(frames + 3):
            if index == 3:
                costs.clear()
            renderer.draw(state, camera.orbit(0.01 * (index % 2), 0.0))
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)
        for name in ("_main_view", "_minimap", "_hud", "_post_process"):
            vars(renderer).pop(name)
    return {key: (r * 1e3 / frames, m * 1e3 / frames) for key, (r, m) in costs.items()}


def scenario_state(name: str) -> SceneState:
    """The scene of a scenario at its last step (the runs are computed here first)."""
    from sandbox.app.headless import scene_states
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import load_scenario

    return list(scene_states(load_scenario(find_scenario(name)), 2))[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--samples", type=int, default=0, help="MSAA samples (0 = FXAA only)")
    parser.add_argument("--mesh-cells", type=int, default=64)
    parser.add_argument("--fxaa", action="store_true", help="depth-guided FXAA pass")
    parser.add_argument("--scale", type=float, default=1.0, help="internal 3-D render scale")
    parser.add_argument("--growing", action="store_true", help="trails grow every frame")
    parser.add_argument("--scenario", help="a scenario at its last step instead of the heavy scene")
    parser.add_argument("--passes", action="store_true", help="CPU per pass (Linux, llvmpipe)")
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
    state = scenario_state(args.scenario) if args.scenario else heavy_scene()
    print(f"GL: {ctx.info['GL_RENDERER']}")
    trails = args.scenario or "4 x 10k"
    print(
        f"size {size[0]}x{size[1]}  heights {state.heights.shape}  trails {trails}  "
        f"mesh {args.mesh_cells}²  samples {args.samples}  fxaa {args.fxaa}  "
        f"scale {args.scale}  growing {args.growing}"
    )
    for label, read in (("draw + finish", False), ("draw + read_rgb", True)):
        ms = measure(renderer, state, args.frames, read, args.growing)
        print(f"{label:16s} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms")
    if args.passes:
        costs = measure_passes(renderer, state, args.frames)
        print(f"{'CPU ms per frame':28s} {'raster':>7s} {'main':>7s}")
        for (where, what), (raster, main) in sorted(costs.items(), key=lambda kv: -sum(kv[1])):
            print(f"{where + ': ' + what:28s} {raster:7.1f} {main:7.1f}")
        totals = np.sum(list(costs.values()), axis=0)
        print(f"{'all passes':28s} {totals[0]:7.1f} {totals[1]:7.1f}")
    if args.png:
        from sandbox.render.frames import save_png

        save_png(renderer.read_rgb(), args.png)


if __name__ == "__main__":
    main()
