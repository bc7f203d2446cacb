"""The cnn section of `sandbox bench`: a ~100k-parameter convolutional network on all 1,797
digits, each figure against a baseline measured in the same run.

- first drawable surface: seconds from starting the stream to its first Surface message, against
  the same 17² points evaluated one network at a time;
- a refined 33² surface (`surface_grid`, grouped convolutions) against a per-point loop
  (sampled, extrapolated to 33²);
- λ_max (20 Lanczos Hessian-vector products) against one full-batch gradient;
- background training (the app's worker) against a bare torch.optim loop on the same problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from sandbox.bench.workload import best_time


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
    """Every cnn figure, with its baseline, on one torch thread as the worker and replays use:
    on a busy 2-core host two threads made one small conv2d 200× slower (20 ms vs 0.1 ms,
    oneDNN's threads waiting on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _bench_cnn(CNN_QUICK if quick else CnnSizes())
    finally:
        torch.set_num_threads(threads)


def _bench_cnn(sizes: CnnSizes) -> dict:
    from sandbox.pipeline.prepare import prepare
    from sandbox.scenario.load import parse_scenario

    problem = prepare(parse_scenario(cnn_scenario_text(sizes, steps=10))).problem
    per_point = _naive_seconds_per_point(problem, sizes.naive_points)
    first = _first_surface_s(sizes)
    refined = _refined_surface_s(problem)
    lam, gradient = _sharpness_vs_gradient(problem)
    background, bare = _background_steps_per_s(sizes), _bare_steps_per_s(problem, sizes)
    return {
        "parameters": problem.model.n_params,
        "first_surface_s": first,
        "first_surface_naive_s": per_point * FIRST**2,
        "surface_33_s": refined,
        "surface_33_naive_s": per_point * REFINED**2,
        "lambda_max_s": lam,
        "gradient_s": gradient,
        "steps_per_s": background,
        "bare_steps_per_s": bare,
        "training_ratio": background / bare,
    }


def _evaluation_batch(problem):
    from sandbox.landscape.sampling import EVAL_POINTS

    return problem.data.x[:EVAL_POINTS], problem.data.y[:EVAL_POINTS]


def _naive_seconds_per_point(problem, points: int) -> float:
    """One network's loss at a time on the surface's evaluation batch: the loop a grid replaces."""
    x, y = _evaluation_batch(problem)
    plane = problem.plane

    def loop() -> None:
        with torch.no_grad():
            for k in range(points):
                problem.loss_fn(problem.model.forward(plane.point(0.1 * k, -0.1 * k), x), y)

    return best_time(loop, repeats=2) / points


def _first_surface_s(sizes: CnnSizes) -> float:
    from sandbox.pipeline.messages import Surface
    from sandbox.pipeline.prepare import prepare
    from sandbox.pipeline.stream import stream
    from sandbox.scenario.load import parse_scenario

    scenario = parse_scenario(cnn_scenario_text(sizes, steps=10))
    start = time.perf_counter()
    for message in stream(prepare(scenario)):
        if isinstance(message, Surface):
            return time.perf_counter() - start
    raise RuntimeError("no surface")


def _refined_surface_s(problem) -> float:
    from sandbox.landscape.slicing import surface_grid

    x, y = _evaluation_batch(problem)
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


def _background_steps_per_s(sizes: CnnSizes) -> float:
    """Steps/s in the app's background worker, from its first step to its last."""
    from sandbox.app.worker import BackgroundWorker, Finished, Steps
    from sandbox.scenario.load import parse_scenario

    steps = sizes.train_steps
    scenario = parse_scenario(cnn_scenario_text(sizes, steps=steps, resolution=3))
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
            if not messages:
                time.sleep(0.002)
        if last[1] == first[1]:
            raise RuntimeError("every step arrived at once: raise train_steps")
        return (last[1] - first[1]) / (last[0] - first[0])
    finally:
        worker.close()


def _bare_steps_per_s(problem, sizes: CnnSizes) -> float:
    theta = problem.theta_init.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([theta], lr=0.1)

    def loop() -> None:
        for _ in range(sizes.bare_steps):
            optimizer.zero_grad()
            problem.full_loss(theta).backward()
            optimizer.step()

    return sizes.bare_steps / best_time(loop, repeats=1)
