"""Example scenes built with plain numpy (no torch): look-checks, tests and benchmarks use them.

    python -m sandbox.render.examples OUT_DIR [--size 1280x720]

writes saddle.png, canyon.png and network_slice.png, rendered headless with 4x MSAA (as
`render_frames` does). `heavy_scene` is the frame-time benchmark's scene.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from sandbox.render.scene import RUN_COLORS, SceneState, Trail

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]
Gradient = Callable[[np.ndarray], np.ndarray]


def grid(f: Field, bounds, resolution: int = 256) -> np.ndarray:
    """(H, W) samples of f over bounds; row i = i-th y, column j = j-th x."""
    (x0, x1), (y0, y1) = bounds
    x, y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return f(x, y).astype(np.float32)


def descend(grad: Gradient, start, lr: float, steps: int, momentum: float = 0.0) -> np.ndarray:
    """(steps + 1, 2) iterates of gradient descent with heavy-ball momentum."""
    points = np.empty((steps + 1, 2))
    points[0] = start
    velocity = np.zeros(2)
    for i in range(steps):
        velocity = momentum * velocity - lr * grad(points[i])
        points[i + 1] = points[i] + velocity
    return points


def adam(grad: Gradient, start, lr: float, steps: int, b1=0.9, b2=0.999) -> np.ndarray:
    points = np.empty((steps + 1, 2))
    points[0] = start
    m = v = np.zeros(2)
    for i in range(steps):
        g = grad(points[i])
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
        points[i + 1] = points[i] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return points


def _trail(name: str, color, xy: np.ndarray, f: Field, label: str = "") -> Trail:
    return Trail(name, color, xy, f(xy[:, 0], xy[:, 1]), label=label)


def saddle_scene(step: int = 300) -> SceneState:
    """x² + (y² − 1)²: a saddle at the origin between two minima at (0, ±1)."""
    bounds = ((-2.0, 2.0), (-1.8, 1.8))

    def f(x, y):
        return x**2 + (y**2 - 1) ** 2

    def g(p):
        return np.array([2 * p[0], 4 * p[1] * (p[1] ** 2 - 1)])

    runs = [
        ("GD on the ridge", (1.8, 0.0), 0.04, 0.0),
        ("GD nudged up", (1.8, 0.02), 0.04, 0.0),
        ("Momentum nudged down", (-1.8, -0.02), 0.02, 0.8),
    ]
    trails = tuple(
        _trail(name, RUN_COLORS[i], descend(g, start, lr, step, mom), f, f"lr {lr}")
        for i, (name, start, lr, mom) in enumerate(runs)
    )
    return SceneState(
        "Saddle: x² + (y² − 1)²",
        bounds,
        grid(f, bounds),
        trails,
        step,
        caption="exactly on the ridge GD stalls at the saddle; a nudge escapes",
    )


def canyon_scene(step: int = 120) -> SceneState:
    """½(x² + 100 y²): a narrow valley; GD near its stability limit zigzags across it."""
    bounds = ((-10.0, 10.0), (-3.0, 3.0))

    def f(x, y):
        return 0.5 * (x**2 + 100 * y**2)

    def g(p):
        return np.array([p[0], 100 * p[1]])

    start = (-9.0, 2.0)
    gd = descend(g, start, 0.0195, step)
    smooth = adam(g, start, 0.25, step)
    trails = (
        _trail("GD", RUN_COLORS[0], gd, f, "lr 0.0195 ≈ 2/λmax"),
        _trail("Adam", RUN_COLORS[1], smooth, f, "lr 0.25"),
    )
    return SceneState(
        "Canyon: ½(x² + 100 y²)",
        bounds,
        grid(f, bounds),
        trails,
        step,
        caption="log height: the valley floor still slopes towards the minimum",
        log_height=True,
        hud_lines=("curvatures 1 and 100: condition number 100",),
    )


def bumpy_surface(seed: int = 3) -> Field:
    """A bowl with random Gaussian bumps and dents, standing in for a network's loss slice."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1.8, 1.8, size=(14, 2))
    amps = rng.uniform(-0.5, 0.6, size=14)
    widths = rng.uniform(0.25, 0.6, size=14)

    def f(x, y):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        out = 0.35 + 0.12 * (x**2 + y**2) + 0.1 * np.sin(2.0 * x) * np.cos(1.5 * y)
        r2 = (x[..., None] - centres[:, 0]) ** 2 + (y[..., None] - centres[:, 1]) ** 2
        out = out + (amps * np.exp(-r2 / (2 * widths**2))).sum(axis=-1)
        return np.logaddexp(0.0, 4 * out) / 4  # softplus keeps the "loss" positive

    return f


def noisy_descent(f: Field, starts: np.ndarray, steps: int, lr: float, seed: int = 0) -> np.ndarray:
    """(runs, steps, 2) paths of momentum SGD (finite-difference gradients plus noise), all runs
    advanced together: paths that converge and then jitter, as real runs do."""
    rng = np.random.default_rng(seed)
    eps = 1e-4
    paths = np.empty((len(starts), steps, 2))
    p, velocity = np.array(starts, dtype=np.float64), np.zeros((len(starts), 2))
    shifts = np.array([[eps, 0.0], [-eps, 0.0], [0.0, eps], [0.0, -eps]])
    for i in range(steps):
        paths[:, i] = p
        probe = p[:, None, :] + shifts  # (runs, 4, 2): one vectorised call per step
        values = f(probe[..., 0], probe[..., 1])
        grad = np.column_stack([values[:, 0] - values[:, 1], values[:, 2] - values[:, 3]]) / (
            2 * eps
        )
        velocity = 0.9 * velocity - lr * (grad + rng.normal(0, 0.6, size=grad.shape))
        p = np.clip(p + velocity, -2.0, 2.0)
    return paths


def heavy_scene(points: int = 10_000, trails: int = 4, resolution: int = 256) -> SceneState:
    """The frame-time benchmark's scene: a bumpy resolution² surface and `trails` noisy
    optimiser paths of `points` points each (they converge, then jitter in place: the costly
    case for thick lines)."""
    f = bumpy_surface()
    angles = np.pi / 4 + 2 * np.pi * np.arange(trails) / trails
    starts = 1.65 * np.column_stack([np.cos(angles), np.sin(angles)])
    runs = []
    for i, xy in enumerate(noisy_descent(f, starts, points, lr=0.004)):
        loss = f(xy[:, 0], xy[:, 1])
        color = RUN_COLORS[i % len(RUN_COLORS)]
        runs.append(Trail(f"run {i}", color, xy, loss, label=f"loss {loss[-1]:.4f}"))
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    return SceneState(
        f"benchmark: {resolution}² surface, {trails} × {points} point trails",
        bounds,
        grid(f, bounds, resolution),
        tuple(runs),
        points,
        caption="frame time benchmark",
    )


def grown(state: SceneState, frame: int, frames: int) -> SceneState:
    """`state` with every trail cut so that it reaches its full length at the last of `frames`
    frames: a point more per frame, as trails grow while the app runs."""
    end = frame - frames + 1
    trails = tuple(
        replace(t, xy=t.xy[: len(t.xy) + end], loss=t.loss[: len(t.loss) + end])
        for t in state.trails
    )
    return replace(state, trails=trails, step=state.step + end)


def network_slice_scene(step: int = 400) -> SceneState:
    """A random-ish slice with an iterate that leaves the plane (true loss above the surface)."""
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    f = bumpy_surface()
    eps = 1e-4

    def g(p):
        dx = (f(p[0] + eps, p[1]) - f(p[0] - eps, p[1])) / (2 * eps)
        dy = (f(p[0], p[1] + eps) - f(p[0], p[1] - eps)) / (2 * eps)
        return np.array([dx, dy])

    rng = np.random.default_rng(0)
    xy = descend(g, (1.6, 1.5), 0.08, step, 0.6)
    xy = xy + np.cumsum(rng.normal(0, 0.004, size=xy.shape), axis=0)  # SGD-like jitter
    # the iterate drifts off the plane: its true loss rises above the slice's surface
    off_plane = 0.45 * (np.arange(len(xy)) / len(xy)) ** 1.5
    loss = f(xy[:, 0], xy[:, 1]) + off_plane
    trail = Trail("SGD", RUN_COLORS[0], xy, loss, label=f"loss {loss[-1]:.3f}   lr 0.08")
    return SceneState(
        "MLP 2-64-64-1 on moons: random slice",
        bounds,
        grid(f, bounds),
        (trail,),
        step,
        caption="dashed line: from the true loss down to the slice under the iterate",
        axis_labels=("α (d₁)", "β (d₂)", "loss"),
        hud_lines=("off-plane residual 0.82", "PCA explained variance 71 %"),
    )


EXAMPLES: dict[str, Callable[[], SceneState]] = {
    "saddle": saddle_scene,
    "canyon": canyon_scene,
    "network_slice": network_slice_scene,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args(argv)
    from sandbox.render.context import headless_context
    from sandbox.render.frames import save_png
    from sandbox.render.renderer import Renderer

    size = tuple(int(v) for v in args.size.lower().split("x"))
    renderer = Renderer(headless_context(), size, samples=4)  # as render_frames does
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in EXAMPLES.items():
        renderer.draw(make())
        save_png(renderer.read_rgb(), args.out / f"{name}.png")
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
