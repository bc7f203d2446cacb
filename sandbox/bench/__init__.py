"""`sandbox bench`: how fast the sandbox is on this machine, against this machine's own limits.

Every figure is compared with a baseline measured in the same run (a naive per-point loop, a
large matmul's GFLOP/s, a bare torch.optim loop), because shared machines are noisy: compare
ratios, not absolute numbers, across machines. `--quick` shrinks every size for a CI smoke test.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sandbox.bench.compute import (
    bench_first_surface,
    bench_grid,
    bench_sharpness,
    bench_spectrum,
    bench_training,
)
from sandbox.bench.convnet import bench_cnn
from sandbox.bench.frames import APP_LOOP_CODE, APP_LOOP_SCENARIO, bench_app_loop, bench_frames
from sandbox.bench.modulenet import bench_module
from sandbox.bench.workload import ENDLESS_STEPS, QUICK, Sizes, network_scenario_text
from sandbox.trace.progress import counted, progress_bar

__all__ = [
    "APP_LOOP_CODE",
    "APP_LOOP_SCENARIO",
    "ENDLESS_STEPS",
    "QUICK",
    "Sizes",
    "bench_app_loop",
    "bench_cnn",
    "bench_first_surface",
    "bench_frames",
    "bench_grid",
    "bench_module",
    "bench_sharpness",
    "bench_spectrum",
    "bench_training",
    "main_bench",
    "network_scenario_text",
    "print_table",
    "run_bench",
    "write_json",
]


def run_bench(
    quick: bool = False, sections: tuple[str, ...] | None = None, progress: bool = False
) -> dict:
    """Every benchmark section; CUDA for grid and sharpness when available. `progress`: a bar
    over the sections on a terminal, a line every few seconds where stderr is a log."""
    sizes = QUICK if quick else Sizes()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    results: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(), "quick": quick}
    plan = {
        "grid": lambda: bench_grid(sizes, device),
        "first_surface": lambda: bench_first_surface(sizes),
        "sharpness": lambda: bench_sharpness(sizes, device),
        "spectrum": lambda: bench_spectrum(sizes, device),
        "frame": lambda: {**bench_frames(sizes), **bench_app_loop(sizes, quick)},
        "training": lambda: bench_training(sizes),
        "cnn": lambda: bench_cnn(quick),
        "module": lambda: bench_module(quick),
    }
    chosen = [name for name in plan if sections is None or name in sections]
    bar = progress_bar(len(chosen), "bench", "sections", enabled=progress)
    for name in counted(chosen, bar):
        results[name] = plan[name]()
    return results


def print_table(results: dict) -> None:
    """The results as a readable table."""
    for section, values in results.items():
        if not isinstance(values, dict):
            print(f"{section:<14} {values}")
            continue
        for key, value in values.items():
            shown = f"{value:,.4g}" if isinstance(value, float) else value
            print(f"{section:<14} {key:<20} {shown}")


def write_json(results: dict, path: Path) -> None:
    from sandbox.trace.io import write_json_atomic

    write_json_atomic(Path(path), results)


def main_bench(json_path: Path | None, quick: bool, sections: list[str] | None) -> int:
    results = run_bench(quick, tuple(sections) if sections else None, progress=True)
    print_table(results)
    if json_path is not None:
        write_json(results, json_path)
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, dict)}))
    return 0
