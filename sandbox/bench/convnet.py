"""The cnn section of `sandbox bench`: a ~100k-parameter convolutional network on all 1,797
digits, each figure against a baseline measured in the same run.

- first drawable surface: seconds from starting the stream to its first Surface message (the
  draft, as fine as its cost allows: `budget.draft_resolution`, 5² here), against the same points
  evaluated one network at a time;
- a refined 33² surface (`surface_grid`, grouped convolutions) against a per-point loop
  (sampled, extrapolated to 33²);
- λ_max (20 Lanczos Hessian-vector products) against one full-batch gradient;
- background training (the app's worker) against a bare torch.optim loop on the same problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from sandbox.bench.workload import best_time

if TYPE_CHECKING:
    from sandbox.landscape.problem import NetworkProblem
    from sandbox.scenario.schema import Scenario


@dataclass(frozen=True)
class CnnSizes:
    """Sizes of the cnn benchmark."""

    channels: tuple[int, ...] = (40, 96, 80)  # max-pooled: 105,066 parameters
    data_n: int = 1797
    naive_points: int = 16
    # The worker sends steps in batches of 64 (sandbox.pipeline.stream): the rate is read
    # between the first batch and the last, so it needs at least two.
    train_steps: int = 130
    bare_steps: int = 16


CNN_QUICK = CnnSizes(channels=(4, 8), data_n=64, naive_points=4, train_steps=200, bare_steps=50)
# The stream's first surface, and a refined one (sizes as sandbox.landscape.sampling).
FIRST, REFINED = 17, 33


def cnn_scenario_text(sizes: CnnSizes, steps: int, resolution: int = FIRST) -> str:
    """The benchmark's cnn: 3×3 convolutions, max pooling, tanh, on the digits, full-batch GD."""
    return f"""
title = "bench cnn"
steps = {steps}
[landscape]
kind = "network"
loss = "cross_entropy"
[landscape.data]
name = "digits"
n = {sizes.data_n}
[landscape.model]
kind = "cnn"
channels = {list(sizes.channels)}
pool = "max"
activation = "tanh"
[landscape.slice]
resolution = {resolution}
[[runs]]
name = "gd"
optimizer = "gd"
lr = 0.1
"""


def bench_cnn(quick: bool = False) -> dict:
    """Every cnn figure, with its baseline (the network's own per-point loop and a bare
    torch.optim loop on its θ)."""
    sizes = CNN_QUICK if quick else CnnSizes()

    def scenario_for(steps: int, resolution: int = FIRST) -> Scenario:
        from sandbox.scenario.load import parse_scenario

        return parse_scenario(cnn_scenario_text(sizes, steps, resolution))

    return on_one_thread(
        lambda: bench_model(scenario_for, sizes, _naive_seconds_per_point, _bare_steps_per_s)[1]
    )


def on_one_thread(measure: Callable[[], dict]) -> dict:
    """`measure()` on one torch thread, as the worker and replays run: on a busy 2-core host
    two threads made one small conv2d 200× slower (20 ms vs 0.1 ms, oneDNN's threads waiting
    on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return measure()
    finally:
        torch.set_num_threads(threads)


def bench_model(
    scenario_for: Callable[..., Scenario],
    sizes: CnnSizes,
    seconds_per_point: Callable[[NetworkProblem, int], float],
    bare_steps_per_s: Callable[[NetworkProblem, int], float],
) -> tuple[NetworkProblem, dict]:
    """The figures of a network scenario, `scenario_for(steps, resolution=FIRST)`, each with
    its baseline: `seconds_per_point(problem, points)` for the surfaces and
    `bare_steps_per_s(problem, steps)` for training. Returns the prepared problem too."""
    from sandbox.pipeline.prepare import prepare
    from sandbox.scenario.budget import draft_resolution

    problem = prepare(scenario_for(steps=10)).problem
    per_point = seconds_per_point(problem, sizes.naive_points)
    first = _first_surface_s(scenario_for(steps=10))
    draft_points = draft_resolution(scenario_for(steps=10)) ** 2
    refined = refined_surface_s(problem)
    lam, gradient = _sharpness_vs_gradient(problem)
    background = _background_steps_per_s(scenario_for(sizes.train_steps, resolution=3))
    bare = bare_steps_per_s(problem, sizes.bare_steps)
    return problem, {
        "parameters": problem.model.n_params,
        "first_surface_points": draft_points,
        "first_surface_s": first,
        "first_surface_naive_s": per_point * draft_points,
        "surface_33_s": refined,
        "surface_33_naive_s": per_point * REFINED**2,
        "lambda_max_s": lam,
        "gradient_s": gradient,
        "steps_per_s": background,
        "bare_steps_per_s": bare,
        "training_ratio": background / bare,
    }


def evaluation_batch(problem: NetworkProblem) -> tuple[torch.Tensor, torch.Tensor]:
    from sandbox.landscape.sampling import EVAL_POINTS

    return problem.data.x[:EVAL_POINTS], problem.data.y[:EVAL_POINTS]


def _naive_seconds_per_point(problem: NetworkProblem, points: int) -> float:
    def loss_at(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return problem.loss_fn(problem.model.forward(theta, x), y)

    return seconds_per_point(problem, points, loss_at)


def seconds_per_point(problem: NetworkProblem, points: int, loss_at: Callable) -> float:
    """One network's loss at a time, `loss_at(θ, x, y)`, on the surface's evaluation batch at
    `points` points of the problem's plane: the loop a grid replaces."""
    x, y = evaluation_batch(problem)
    plane = problem.plane

    def loop() -> None:
        with torch.no_grad():
            for k in range(points):
                loss_at(plane.point(0.1 * k, -0.1 * k), x, y)

    return best_time(loop, repeats=2) / points


def _first_surface_s(scenario: Scenario) -> float:
    from sandbox.pipeline.messages import Surface
    from sandbox.pipeline.prepare import prepare
    from sandbox.pipeline.stream import stream

    start = time.perf_counter()
    for message in stream(prepare(scenario)):
        if isinstance(message, Surface):
            return time.perf_counter() - start
    raise RuntimeError("no surface")


def refined_surface_s(problem: NetworkProblem) -> float:
    from sandbox.landscape.slicing import surface_grid

    x, y = evaluation_batch(problem)
    return best_time(
        lambda: surface_grid(problem.model, problem.loss_fn, problem.plane, 1.0, REFINED, x, y),
        repeats=1,
    )


def _sharpness_vs_gradient(problem) -> tuple[float, float]:
    from sandbox.optim.sharpness import top_eigenvalue

    theta = problem.theta_init

    def gradient() -> None:
        t = theta.clone().requires_grad_(True)
        problem.full_loss(t).backward()

    lam = best_time(lambda: top_eigenvalue(problem.full_loss, theta), repeats=2)
    return lam, best_time(gradient, repeats=2)


def _background_steps_per_s(scenario: Scenario) -> float:
    """Steps/s of the scenario's run in the app's background worker, from its first step to its
    last."""
    from sandbox.app.worker import BackgroundWorker, Failed, Finished, Steps

    worker = BackgroundWorker(scenario, maxsize=1024).start()
    # From the first batch of steps received to the last: the steps in between were all
    # computed in that time (the first batch's were computed before it).
    first, last, done = None, None, False
    try:
        while not done:
            messages = worker.drain()
            for message in messages:
                if isinstance(message, Steps):
                    now = (time.perf_counter(), message.steps[-1].step)
                    first, last = first or now, now
                done = done or isinstance(message, Finished)
                if isinstance(message, Failed):
                    raise RuntimeError(f"the run failed in the worker: {message.message}")
            if not messages and worker.died():
                raise RuntimeError(worker.died())
            if not messages:
                time.sleep(0.002)
        if last[1] == first[1]:
            raise RuntimeError("every step arrived at once: raise train_steps")
        return (last[1] - first[1]) / (last[0] - first[0])
    finally:
        worker.close()


def _bare_steps_per_s(problem: NetworkProblem, steps: int) -> float:
    theta = problem.theta_init.clone().requires_grad_(True)
    return sgd_steps_per_s([theta], lambda: problem.full_loss(theta), steps)


def sgd_steps_per_s(parameters, loss: Callable[[], torch.Tensor], steps: int) -> float:
    """Steps/s of a bare torch.optim loop: `steps` SGD steps on `parameters` down `loss()`."""
    optimizer = torch.optim.SGD(parameters, lr=0.1)

    def loop() -> None:
        for _ in range(steps):
            optimizer.zero_grad()
            loss().backward()
            optimizer.step()

    return steps / best_time(loop, repeats=1)
