"""Soak: the real app window (offscreen) on a long scenario, logging memory as it goes.

    SDL_VIDEODRIVER=offscreen python benchmarks/soak_app.py --minutes 60 --log soak.csv

Runs `App.frame()` at the app's frame rate on a long analytic scenario played at high speed,
restarting the scenario (as the r key does) whenever every run has ended, so one hour covers long
trails (their buffers halve when full) and several worker restarts. Every `--every` seconds it
appends one CSV row: elapsed seconds, frames, shown step, restarts, the app's RSS and its
anonymous part, and the worker's RSS, in MiB. `--leak` keeps every frame's scene state, to see
that the log shows a leak.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

SCENARIO = """
title = "soak"
steps = {steps}
[landscape]
kind = "analytic"
surface = "rosenbrock"
bounds = [[-2.0, 2.0], [-1.0, 3.0]]
[[runs]]
name = "GD"
optimizer = "gd"
lr = 0.001
start = [-1.2, 1.0]
[[runs]]
name = "Adam"
optimizer = "adam"
lr = 0.01
start = [-1.2, 1.0]
"""


def memory_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc/<pid>/status, in MiB (0 if it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def soak(app, minutes: float, every: float, log, leak: bool) -> None:
    """Draw frames at the app's rate for `minutes`, restarting the scenario whenever it ends."""
    from sandbox.app.window import FPS

    clock = app.pygame.time.Clock()
    kept, frames, restarts = [], 0, 0
    start = next_row = time.monotonic()
    while time.monotonic() - start < minutes * 60:
        app.frame()
        frames += 1
        if leak:
            kept.append(app.last_state)
        if app.model.finished or app.model.failure:
            app.worker.close()
            app.start()
            restarts += 1
        if time.monotonic() >= next_row:
            next_row += every
            worker = memory_mib(app.worker.process.pid or 0)
            elapsed = time.monotonic() - start
            log.write(f"{elapsed:.0f},{frames},{app.playback.step},{restarts},")
            # Anonymous memory apart: heap growth, not mapped files (fonts, libraries, Mesa)
            log.write(f"{memory_mib():.1f},{memory_mib(field='RssAnon'):.1f},{worker:.1f}\n")
            log.flush()
        clock.tick(FPS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between log rows")
    parser.add_argument("--log", type=Path, default=Path("soak.csv"))
    parser.add_argument("--leak", action="store_true", help="keep every frame's state (a leak)")
    args = parser.parse_args()

    from sandbox.app.window import App
    from sandbox.scenario.load import parse_scenario

    width, height = (int(v) for v in args.size.split("x"))
    app = App(parse_scenario(SCENARIO.format(steps=args.steps), "soak"), (width, height))
    with args.log.open("w", encoding="utf-8") as log:
        log.write("seconds,frames,step,restarts,app_rss_mib,app_anon_mib,worker_rss_mib\n")
        try:
            soak(app, args.minutes, args.every, log, args.leak)
        finally:
            app.close()
    print(args.log.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
