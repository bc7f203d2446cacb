"""What the benchmarks run on: their sizes, the benchmark network, and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one benchmark run."""

    grid: int = 128
    naive_points: int = 512  # ~0.1 s of the loop: a shorter timing is mostly noise
    data_n: int = 1024
    hidden: int = 64
    matmul: int = 2048
    frame_size: tuple[int, int] = (1280, 720)
    frame_heights: int = 256
    trail_points: int = 10_000
    frames: int = 120  # p95 of fewer frames is the second-worst one: noise
    train_steps: int = 600


QUICK = Sizes(
    grid=16,
    naive_points=16,
    data_n=64,
    hidden=8,
    matmul=256,
    frame_size=(320, 180),
    frame_heights=32,
    trail_points=200,
    frames=5,
    train_steps=200,
)


# Steps of the scenarios trained beside the frame benchmarks: more than any measurement here
# reaches, and within the scenario work budget (a million steps of the benchmark network is
# ~45 minutes of work, which `check` refuses)
ENDLESS_STEPS = 100_000


def network_scenario_text(sizes: Sizes, steps: int, resolution: int = 51) -> str:
    """The benchmark's network: an MLP 2-h-h-1 (tanh) on moons, full-batch GD."""
    return f"""
title = "bench"
steps = {steps}
[landscape]
kind = "network"
loss = "bce"
[landscape.data]
name = "moons"
n = {sizes.data_n}
[landscape.model]
widths = [2, {sizes.hidden}, {sizes.hidden}, 1]
activation = "tanh"
[landscape.slice]
resolution = {resolution}
[[runs]]
name = "gd"
optimizer = "gd"
lr = 0.1
"""


def network_problem(sizes: Sizes, device: torch.device):
    """(scenario, prepared problem) of the benchmark network, ten steps long."""
    from sandbox.pipeline.prepare import prepare
    from sandbox.scenario.load import parse_scenario

    scenario = parse_scenario(network_scenario_text(sizes, steps=10))
    return scenario, prepare(scenario).problem


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The shortest of `repeats` timings of `fn()`, in seconds: the least disturbed by the host."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
