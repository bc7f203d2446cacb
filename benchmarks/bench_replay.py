"""Benchmark: replay steps/s against a bare torch.optim loop on the same problem, same process.

    python benchmarks/bench_replay.py [--steps N]

Prints steps/s for (a) a 4-run analytic scenario and (b) a full-batch network scenario, each next
to the textbook loop (zero_grad, loss, backward, step) on the same problem, and their ratio.
Ratios are what to compare across machines; absolute figures move with load.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from sandbox.bench.workload import Sizes, network_scenario_text
from sandbox.landscape.problem import make_problem
from sandbox.replayer import replay
from sandbox.scenario.load import parse_scenario

ANALYTIC = """
title = "bench analytic"
steps = {steps}
[landscape]
kind = "analytic"
surface = "rosenbrock"
""" + "".join(
    f'[[runs]]\nname = "{opt}"\noptimizer = "{opt}"\nlr = {lr}\nstart = [-1.5, 2.0]\n'
    for opt, lr in [("gd", 1e-4), ("momentum", 1e-4), ("rmsprop", 1e-3), ("adam", 1e-2)]
)

# `sandbox bench`'s network (one copy of it, in sandbox/bench/workload.py) at half its width and
# data: an MLP 2-32-32-1 (tanh) on 512 moons, full-batch GD
NETWORK = Sizes(data_n=512, hidden=32)

SCENARIOS = {
    "analytic, 4 runs": lambda steps: ANALYTIC.format(steps=steps),
    "network, full batch": lambda steps: network_scenario_text(NETWORK, steps),
}

OPTIMIZERS = {
    "gd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
}


def bare_steps_per_s(text: str) -> float:
    """The textbook loop over every run of the scenario, no recording."""
    scenario = parse_scenario(text)
    problem = make_problem(scenario)
    start = time.perf_counter()
    for run in scenario.runs:
        theta = problem.initial_theta(run).clone().requires_grad_(True)
        opt = OPTIMIZERS[run.optimizer]([theta], run.lr)
        for _ in range(scenario.steps):
            opt.zero_grad()
            loss = problem.full_loss(theta)
            loss.backward()
            opt.step()
    return len(scenario.runs) * scenario.steps / (time.perf_counter() - start)


def replay_steps_per_s(text: str) -> float:
    """Our replay, writing the CSVs and summary to a scratch directory."""
    scenario = parse_scenario(text)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        replay(scenario, out, force=True, keep_arrays=False)
        elapsed = time.perf_counter() - start
    return len(scenario.runs) * scenario.steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for label, scenario_text in SCENARIOS.items():
        text = scenario_text(args.steps)
        replay_steps_per_s(scenario_text(50))  # warm-up
        # Interleaved repeats, best of each: the box is shared and noisy.
        pairs = [(replay_steps_per_s(text), bare_steps_per_s(text)) for _ in range(args.repeats)]
        ours, bare = max(p[0] for p in pairs), max(p[1] for p in pairs)
        print(
            f"{label:<22} replay {ours:8.0f} steps/s   bare torch.optim {bare:8.0f} steps/s"
            f"   ratio {ours / bare:.2f}"
        )


if __name__ == "__main__":
    main()
