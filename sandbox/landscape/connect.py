"""Mode connectivity (PHENOMENA 19): two trained networks, the line and a curve between them.

Two runs of a scenario, typically from different initial weights (``init_seed``), end at two
weight vectors θA and θB with low loss. On the straight line (1 − t)·θA + t·θB the loss usually
rises to a barrier; a quadratic Bézier curve

    φ(t) = (1 − t)²·θA + 2t(1 − t)·θC + t²·θB,   t ∈ [0, 1],

whose control point θC is fitted by minimising E_t L(φ(t)) (t uniform on [0, 1]; Garipov et al.
2018, Draxler et al. 2018) often joins them with almost no barrier.

The slice plane of ``directions = "connect"`` is the plane that contains θA, θB and θC, and so
the whole curve: origin θA, d₁ = θB − θA, d₂ = the control point's offset from the line made
orthogonal to d₁ and scaled to ‖d₁‖. Plane coordinates: θA ↦ (0, 0), θB ↦ (1, 0), and the curve
is (x(t), y(t)) = 2t(1 − t)·(cx, cy) + (t², 0) with (cx, cy) the control point's coordinates.
The view is a square that covers A, B and the curve with a margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from sandbox.landscape.slicing import Plane
from sandbox.scenario.schema import SliceSpec

LINE_POINTS = 21  # t values at which the line and the curve are reported (0, 0.05, ..., 1)
T_SAMPLES = 8  # t values per step of the curve fit (stratified: one in each eighth of [0, 1])
VIEW_POINTS = 101  # t values that decide the view's extent
VIEW_MARGIN = 0.25  # the view extends this fraction of its content's extent beyond it


@dataclass(frozen=True, eq=False)
class ConnectPlane(Plane):
    """The plane through θA, θB, θC, with the square view that covers A, B and the curve.

    ``view`` is ((x, y) of the view's centre, half-width), in plane coordinates. The surface
    sampler shows that square whatever centre it is asked for.
    """

    view: tuple[tuple[float, float], float] = ((0.5, 0.0), 1.0)

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The view as ((x0, x1), (y0, y1))."""
        (cx, cy), half = self.view
        return ((cx - half, cx + half), (cy - half, cy + half))


@dataclass(frozen=True, eq=False)
class Connection:
    """Two trained endpoints, the fitted curve between them and the losses along line and curve."""

    runs: tuple[str, str]
    theta_a: Tensor  # shape (P,)
    theta_b: Tensor
    theta_c: Tensor  # the fitted control point
    plane: ConnectPlane
    t: tuple[float, ...]
    line: tuple[float, ...]  # full-data loss at (1 − t)·θA + t·θB
    curve: tuple[float, ...]  # full-data loss at φ(t)
    curve_xy: tuple[tuple[float, float], ...]  # φ(t) in plane coordinates
    fit_loss: tuple[float, float]  # the fit's objective E_t L(φ(t)), before and after
    steps: int
    lr: float

    @property
    def endpoint_losses(self) -> tuple[float, float]:
        return self.line[0], self.line[-1]

    def barrier(self, losses: tuple[float, ...]) -> float:
        """Highest loss along a path minus the higher endpoint's loss."""
        return max(losses) - max(self.endpoint_losses)

    def summary(self) -> dict:
        """The `connect` entry of summary.json."""
        a, b = self.endpoint_losses
        return {
            "runs": list(self.runs),
            "t": list(self.t),
            "line": list(self.line),
            "curve": list(self.curve),
            "endpoint_losses": [a, b],
            "barrier_line": self.barrier(self.line),
            "barrier_curve": self.barrier(self.curve),
            "control_point": list(self.plane.project(self.theta_c)[:2]),
            "distance": float(torch.linalg.vector_norm((self.theta_b - self.theta_a).double())),
            "fit_loss": list(self.fit_loss),
            "fit_steps": self.steps,
            "fit_lr": self.lr,
            "file": "connect.csv",
        }

    def rows(self) -> list[tuple[float, float, float, float, float]]:
        """connect.csv's rows: t, line_loss, curve_loss, curve_x, curve_y."""
        return [
            (t, line, curve, x, y)
            for t, line, curve, (x, y) in zip(
                self.t, self.line, self.curve, self.curve_xy, strict=True
            )
        ]


def bezier(theta_a: Tensor, theta_c: Tensor, theta_b: Tensor, t: Tensor) -> Tensor:
    """φ(t) for each t (shape (T,)), shape (T, P); differentiable in θC."""
    t = t.to(theta_a.dtype).unsqueeze(1)
    return (1 - t) ** 2 * theta_a + 2 * t * (1 - t) * theta_c + t**2 * theta_b


def line(theta_a: Tensor, theta_b: Tensor, t: Tensor) -> Tensor:
    """(1 − t)·θA + t·θB for each t (shape (T,)), shape (T, P)."""
    t = t.to(theta_a.dtype).unsqueeze(1)
    return (1 - t) * theta_a + t * theta_b


def fit_control_point(
    problem, theta_a: Tensor, theta_b: Tensor, steps: int, lr: float, seed: int
) -> tuple[Tensor, tuple[float, float]]:
    """θC minimising E_t L(φ(t)) by Adam, from the midpoint; and the objective before/after.

    Each step draws T_SAMPLES stratified t values from a seeded generator and evaluates them in
    one batched forward pass on the full data. The objective reported before and after is the
    mean loss at LINE_POINTS evenly spaced t (deterministic, comparable across steps).
    """
    gen = torch.Generator().manual_seed(seed)
    theta_a, theta_b = theta_a.detach(), theta_b.detach()
    theta_c = ((theta_a + theta_b) / 2).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theta_c], lr=lr)
    before = _mean_curve_loss(problem, theta_a, theta_c.detach(), theta_b)
    strata = torch.arange(T_SAMPLES, dtype=torch.float64)
    for _ in range(steps):
        t = (strata + torch.rand(T_SAMPLES, generator=gen, dtype=torch.float64)) / T_SAMPLES
        loss = _batched_loss(problem, bezier(theta_a, theta_c, theta_b, t)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    theta_c = theta_c.detach()
    after = _mean_curve_loss(problem, theta_a, theta_c, theta_b)
    return theta_c, (before, after)


def _batched_loss(problem, thetas: Tensor) -> Tensor:
    """Full-data loss (no dropout) of each row of ``thetas``, shape (G,)."""
    return problem.loss_fn(problem.model.forward_batched(thetas, problem.data.x), problem.data.y)


def _mean_curve_loss(problem, theta_a: Tensor, theta_c: Tensor, theta_b: Tensor) -> float:
    t = torch.linspace(0, 1, LINE_POINTS, dtype=torch.float64)
    with torch.no_grad():
        return float(_batched_loss(problem, bezier(theta_a, theta_c, theta_b, t)).mean())


def connect_plane(theta_a: Tensor, theta_b: Tensor, theta_c: Tensor) -> ConnectPlane:
    """The plane through θA, θB, θC (origin θA, θB at (1, 0)) with a view over the curve."""
    d1 = theta_b - theta_a
    offset = (theta_c - theta_a).double()
    d1_64 = d1.double()
    norm1 = float(torch.linalg.vector_norm(d1_64))
    if norm1 == 0:
        raise ValueError("mode connectivity: the two runs end at the same weights")
    bend = offset - (offset @ d1_64) / norm1**2 * d1_64
    norm2 = float(torch.linalg.vector_norm(bend))
    if norm2 <= 1e-6 * norm1:  # float32 rounding of a control point on the line
        # The curve is the straight line: any direction orthogonal to d1 completes the plane.
        bend = _orthogonal_to(d1_64)
        norm2 = float(torch.linalg.vector_norm(bend))
    d2 = (bend * (norm1 / norm2)).to(theta_a.dtype)
    plane = ConnectPlane(theta_a, d1, d2)
    t = torch.linspace(0, 1, VIEW_POINTS, dtype=torch.float64)
    points = [plane.project(p)[:2] for p in bezier(theta_a, theta_c, theta_b, t)]
    points += [(0.0, 0.0), (1.0, 0.0)]
    return ConnectPlane(theta_a, d1, d2, view=square_view(points))


def square_view(points: list[tuple[float, float]]) -> tuple[tuple[float, float], float]:
    """Centre and half-width of the square that covers ``points`` with a VIEW_MARGIN margin."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    centre = ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
    return centre, extent / 2 + VIEW_MARGIN * extent


def _orthogonal_to(d: Tensor) -> Tensor:
    # A fixed, deterministic direction made orthogonal to d (only used for a straight curve).
    e = torch.zeros_like(d)
    e[int(d.abs().argmin())] = 1.0
    return e - (e @ d) / (d @ d) * d


def connection(
    problem, runs: tuple[str, str], theta_a: Tensor, theta_b: Tensor, spec: SliceSpec, seed: int
) -> Connection:
    """Fit the curve between two trained endpoints (the final weights of `runs`); the plane
    through them and the losses along line and curve (`sandbox.pipeline.connect` trains them)."""
    theta_c, fit_loss = fit_control_point(
        problem, theta_a, theta_b, spec.connect_steps, spec.connect_lr, seed
    )
    plane = connect_plane(theta_a, theta_b, theta_c)
    t = torch.linspace(0, 1, LINE_POINTS, dtype=torch.float64)
    line_thetas = line(theta_a, theta_b, t)
    curve_thetas = bezier(theta_a, theta_c, theta_b, t)
    with torch.no_grad():
        line_losses = tuple(float(problem.full_loss(p)) for p in line_thetas)
        curve_losses = tuple(float(problem.full_loss(p)) for p in curve_thetas)
    # The endpoints are exactly θA and θB: report their losses as the runs' own final losses.
    curve_xy = tuple(plane.project(p)[:2] for p in curve_thetas)
    return Connection(
        runs=runs,
        theta_a=theta_a,
        theta_b=theta_b,
        theta_c=theta_c,
        plane=plane,
        t=tuple(round(float(v), 12) for v in t),
        line=line_losses,
        curve=curve_losses,
        curve_xy=curve_xy,
        fit_loss=fit_loss,
        steps=spec.connect_steps,
        lr=spec.connect_lr,
    )
