"""The computing sections of `sandbox bench`: the surface grid, the first surface, sharpness and
training speed, each against a baseline measured in the same run."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from sandbox.bench.workload import Sizes, best_time, network_problem, network_scenario_text


def bench_grid(sizes: Sizes, device: torch.device, pairs: int = 3) -> dict:
    """Batched surface evaluation vs a per-point loop; matmul peak as the physical limit.

    The grid and the loop are timed one after the other, and a shared host's load drifts in
    between (one pair gave a 0.71x speed-up and the next 2.2x, on the same code): they are
    timed `pairs` times in alternation and the median speed-up is reported, with its pair's
    figures."""
    from sandbox.landscape.slicing import Plane, grid_axis, surface_grid

    _, problem = network_problem(sizes, device)
    model, plane = problem.model, problem.plane
    x, y = problem.data.x.to(device), problem.data.y.to(device)
    plane = Plane(plane.origin.to(device), plane.d1.to(device), plane.d2.to(device))
    span = 1.0

    def batched() -> torch.Tensor:
        return surface_grid(model, problem.loss_fn, plane, span, sizes.grid, x, y)

    grid = batched()  # warm-up, and the values checked below
    axis = grid_axis(span, sizes.grid)
    cells = [(i, j) for i in range(sizes.grid) for j in range(sizes.grid)]
    sample = cells[:: max(1, len(cells) // sizes.naive_points)][: sizes.naive_points]

    def naive() -> list[float]:
        with torch.no_grad():
            return [
                problem.loss_fn(model.forward(plane.point(axis[j], axis[i]), x), y).item()
                for i, j in sample
            ]

    measured = []
    for _ in range(pairs):
        points_per_s = sizes.grid**2 / best_time(batched, repeats=1)
        naive_per_s = len(sample) / best_time(naive, repeats=1)
        measured.append((points_per_s / naive_per_s, points_per_s, naive_per_s))
    speedup, points_per_s, naive_per_s = sorted(measured)[len(measured) // 2]
    naive_values = torch.tensor(naive())
    ours = torch.stack([grid[i, j] for i, j in sample]).cpu()
    max_rel_err = ((ours - naive_values).abs() / naive_values.abs().clamp_min(1e-12)).max().item()
    flops_per_point = (
        2
        * sizes.data_n
        * sum(a * b for a, b in zip(model.spec.widths[:-1], model.spec.widths[1:], strict=True))
    )
    return {
        "points_per_s": points_per_s,
        "naive_points_per_s": naive_per_s,
        "speedup": speedup,
        "peak_gflops": _matmul_gflops(sizes.matmul, device),
        "achieved_gflops": points_per_s * flops_per_point / 1e9,
        "max_rel_err": max_rel_err,
        "grid": sizes.grid,
        "device": str(device),
        "pairs": pairs,
    }


def _matmul_gflops(n: int, device: torch.device) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)

    def multiply() -> None:
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()

    multiply()
    return 2 * n**3 / best_time(multiply, repeats=5) / 1e9


def bench_first_surface(sizes: Sizes) -> dict:
    """Seconds from starting a network scenario's stream to its first drawable surface."""
    from sandbox.pipeline.messages import Surface
    from sandbox.pipeline.prepare import prepare
    from sandbox.pipeline.stream import stream
    from sandbox.scenario.load import parse_scenario

    scenario = parse_scenario(network_scenario_text(sizes, steps=10))
    start = time.perf_counter()
    for message in stream(prepare(scenario)):
        if isinstance(message, Surface):
            return {"first_surface_s": time.perf_counter() - start}
    raise RuntimeError("no surface")


def bench_sharpness(sizes: Sizes, device: torch.device) -> dict:
    """One λ_max estimate (Lanczos on HVPs, full batch) and its error against dense eigvalsh."""
    from sandbox.optim.sharpness import top_eigenvalue

    _, problem = network_problem(sizes, device)
    theta = problem.theta_init.to(device)
    data = problem.data
    x, y = data.x.to(device), data.y.to(device)

    def loss(t: torch.Tensor) -> torch.Tensor:
        return problem.loss_fn(problem.model.forward(t, x), y)

    top_eigenvalue(loss, theta)  # warm-up
    seconds = best_time(lambda: top_eigenvalue(loss, theta), repeats=3)
    estimate, _ = top_eigenvalue(loss, theta)
    exact = _dense_top_eigenvalue(
        lambda t: problem.loss_fn(problem.model.forward(t, x), y), theta.double()
    )
    return {
        "ms": seconds * 1e3,
        "rel_err": abs(estimate - exact) / abs(exact),
        "parameters": problem.model.n_params,
        "lambda_max": exact,
    }


def _dense_top_eigenvalue(loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor):
    """The oracle: the dense float64 Hessian, one HVP per column, then eigvalsh."""
    from sandbox.optim.sharpness import HVP

    hvp = HVP(loss, theta)
    eye = torch.eye(len(theta), dtype=theta.dtype, device=theta.device)
    hessian = torch.stack([hvp(column) for column in eye])
    return torch.linalg.eigvalsh((hessian + hessian.T) / 2)[-1].item()


def bench_training(sizes: Sizes, pairs: int = 3) -> dict:
    """Steps/s of a run in the background worker vs a bare torch.optim loop, same problem.

    The two are measured one after the other, and a shared host's load drifts in between (one
    pair alone gave ratios from 0.6 to 1.26 on the same code): the pair is measured `pairs`
    times and the median ratio is reported, with that pair's figures."""
    measured = []
    for _ in range(pairs):
        background = _background_steps_per_s(sizes)
        bare = _bare_steps_per_s(sizes)
        measured.append((background / bare, background, bare))
    ratio, background, bare = sorted(measured)[len(measured) // 2]
    return {"steps_per_s": background, "bare_steps_per_s": bare, "ratio": ratio, "pairs": pairs}


def _background_steps_per_s(sizes: Sizes) -> float:
    """Steps/s of the benchmark network in the app's background worker, from its first step."""
    from sandbox.app.worker import BackgroundWorker, Finished, Steps
    from sandbox.scenario.load import parse_scenario

    scenario = parse_scenario(network_scenario_text(sizes, steps=sizes.train_steps, resolution=3))
    worker = BackgroundWorker(scenario, maxsize=1024).start()
    first = None
    received = 0
    try:
        while True:
            for message in worker.drain():
                if isinstance(message, Steps):
                    first = first or (time.perf_counter(), message.steps[0].step)
                    received = message.steps[-1].step
                if isinstance(message, Finished):
                    break
            else:
                time.sleep(0.002)
                continue
            break
        return (received - first[1]) / (time.perf_counter() - first[0])
    finally:
        worker.close()


def _bare_steps_per_s(sizes: Sizes) -> float:
    torch.set_num_threads(1)  # as the worker does
    _, problem = network_problem(sizes, torch.device("cpu"))
    theta = problem.theta_init.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([theta], lr=0.1)

    def loop() -> None:
        for _ in range(sizes.train_steps):
            optimizer.zero_grad()
            problem.full_loss(theta).backward()
            optimizer.step()

    return sizes.train_steps / best_time(loop, repeats=2)


def bench_spectrum(sizes: Sizes, device: torch.device) -> dict:
    """The cost of one Hessian trace estimate (`trace_every`) and one spectral density
    (`density_every`) on the benchmark network, in training steps (loss, gradient and update)."""
    from sandbox.optim.spectrum import hessian_trace, spectral_density

    _, problem = network_problem(sizes, device)
    theta = problem.theta_init.to(device).clone().requires_grad_(True)
    x, y = problem.data.x.to(device), problem.data.y.to(device)

    def loss(t: torch.Tensor) -> torch.Tensor:
        return problem.loss_fn(problem.model.forward(t, x), y)

    def train_step() -> None:
        theta.grad = None
        loss(theta).backward()
        with torch.no_grad():
            theta.sub_(0.1 * theta.grad)

    steps = 20
    step_s = best_time(lambda: [train_step() for _ in range(steps)], repeats=3) / steps
    point = theta.detach()
    trace_s = best_time(lambda: hessian_trace(loss, point), repeats=2)  # the first warms up
    density_s = best_time(lambda: spectral_density(loss, point), repeats=2)
    return {
        "train_step_ms": step_s * 1e3,
        "trace_ms": trace_s * 1e3,
        "density_ms": density_s * 1e3,
        "trace_in_steps": trace_s / step_s,
        "density_in_steps": density_s / step_s,
        "parameters": problem.model.n_params,
    }
