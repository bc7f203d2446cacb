"""The drawing sections of `sandbox bench`: frame times of the renderer, and of the app's own
loop while a network trains in its background worker."""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

from sandbox.bench.workload import ENDLESS_STEPS, Sizes, network_scenario_text


def bench_frames(sizes: Sizes) -> dict:
    """Median and p95 frame time (draw + finish): idle (a paused app being turned), and while a
    network trains beside it with every trail a point longer each frame (a running app)."""
    from sandbox.app.worker import BackgroundWorker
    from sandbox.render import Renderer, default_camera, headless_context
    from sandbox.render.examples import grown, heavy_scene
    from sandbox.scenario.load import parse_scenario

    ctx = headless_context()
    renderer = Renderer(ctx, sizes.frame_size)
    state = heavy_scene(sizes.trail_points, 4, sizes.frame_heights)
    camera = default_camera(state, renderer.size)

    def frame_times(frames: int, worker: BackgroundWorker | None = None) -> list[float]:
        """With a worker, as the app runs: its messages drained every frame (so it never waits
        on a full queue) and every trail a point longer."""
        times = []
        for index in range(frames):
            scene = grown(state, index, frames) if worker else state
            start = time.perf_counter()
            if worker:
                worker.drain()
            renderer.draw(scene, camera.orbit(0.5 * index, 0.0))
            ctx.finish()
            times.append((time.perf_counter() - start) * 1e3)
        return times

    frame_times(3)  # warm-up: shader compilation, glyph atlas
    idle = frame_times(sizes.frames)
    training = parse_scenario(network_scenario_text(sizes, steps=ENDLESS_STEPS))
    worker = BackgroundWorker(training).start()
    try:
        while not worker.drain(1):  # training has started once messages flow
            time.sleep(0.05)
        busy = frame_times(sizes.frames, worker)
    finally:
        worker.close()
        renderer.release()
    return {
        "median_ms": statistics.median(idle),
        "p95_ms": float(np.percentile(idle, 95)),
        "p95_ms_training": float(np.percentile(busy, 95)),
        "median_ms_training": statistics.median(busy),
        "size": list(sizes.frame_size),
        "gl_renderer": ctx.info["GL_RENDERER"],
    }


# The app's own loop in a fresh interpreter (a process gets one OpenGL context through pygame,
# and this one already holds a headless context): prints the frame times as JSON.
APP_LOOP_CODE = """
import json, sys, time
from sandbox.app.window import FPS, App
from sandbox.scenario.load import load_scenario, parse_scenario

source, width, height, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scenario = parse_scenario(source) if "\\n" in source else load_scenario(source)
app = App(scenario, (width, height))
clock = app.pygame.time.Clock()
try:
    deadline = time.monotonic() + 120
    while app.model.available_step() < 1 and time.monotonic() < deadline:
        app.frame()
        clock.tick(FPS)
    for _ in range(10):  # warm-up: shaders, glyphs, panel fonts
        app.frame()
        clock.tick(FPS)
    times, first, began = [], app.model.available_step(), time.perf_counter()
    while len(times) < frames:  # frames that drew (one with nothing new to show draws nothing)
        start = time.perf_counter()
        if app.frame():
            times.append((time.perf_counter() - start) * 1e3)
        clock.tick(FPS)
    steps_per_s = (app.model.available_step() - first) / (time.perf_counter() - began)
    print(json.dumps({"times": times, "steps": app.model.available_step(), "rate": steps_per_s}))
finally:
    app.close()
"""


APP_LOOP_SCENARIO = "edge_of_stability"  # bundled: two networks training, sharpness measured


def bench_app_loop(sizes: Sizes, quick: bool = False) -> dict:
    """`App.frame()` (drain the worker, draw, control panel and live plots, present) in an
    offscreen window of the frame size, while a bundled network scenario trains in the app's
    own background worker: the render loop a user of the app gets (`--quick`: a tiny network)."""
    import os
    import subprocess
    import sys

    from sandbox.resources import find_scenario

    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy"}
    width, height = sizes.frame_size
    source = (
        network_scenario_text(sizes, steps=ENDLESS_STEPS)
        if quick
        else str(find_scenario(APP_LOOP_SCENARIO))
    )
    args = [str(width), str(height), str(sizes.frames)]

    def measure() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", APP_LOOP_CODE, source, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the app loop benchmark failed: {done.stderr.strip()[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    measured = measure()
    # A student's laptop: another program keeps one core busy (a browser tab, a video call)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        hogged = measure()
    finally:
        hog.kill()
        hog.wait()
    return {
        "app_median_ms_training": statistics.median(measured["times"]),
        "app_p95_ms_training": float(np.percentile(measured["times"], 95)),
        "app_scenario": "bench network" if quick else APP_LOOP_SCENARIO,
        "app_steps_trained": measured["steps"],
        "app_steps_per_s": measured["rate"],
        "app_steps_per_s_busy_core": hogged["rate"],
        "app_p95_ms_busy_core": float(np.percentile(hogged["times"], 95)),
    }
