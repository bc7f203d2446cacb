"""Height fields for the 3D view: the landscape's loss on a regular grid.

Coordinates are the scenario's (x, y): the point itself on analytic surfaces, the projection onto
the slice plane through the initial weights on networks (for `directions = "connect"`, the plane
through the two endpoints and the curve between them). A network surface centred elsewhere
(`center = "final"` or `"moving"`) is drawn on the parallel plane through the centre weights, in
the same coordinates, so trajectories and surfaces share one coordinate system, the ball is drawn
where the CSV says it is, and a ball at the centre weights sits on the surface.
"""

from __future__ import annotations

import numpy as np
import torch

from sandbox.catalogue.surfaces import SURFACES as SURFACE_CATALOGUE
from sandbox.landscape.connect import ConnectPlane
from sandbox.landscape.slicing import Plane, surface_grid
from sandbox.trace.records import SurfaceSample

EVAL_POINTS = 1024  # one fixed evaluation batch per surface (never a fresh minibatch per cell)
ANALYTIC_RESOLUTION = 256
# An analytic grid is refined (256 -> 511 -> 1021 samples a side) until it shows each minimum in
# view within this fraction of its loss range: a pit a few samples wide, whose bottom falls
# between samples, would otherwise be drawn as a shallow dent and its resting balls above it.
MINIMUM_TOLERANCE = 0.01
ANALYTIC_MAX_RESOLUTION = 1021


def analytic_bounds(surface: str, bounds) -> tuple[tuple[float, float], tuple[float, float]]:
    """The scenario's bounds, or the surface's default view region."""
    chosen = bounds if bounds is not None else SURFACE_CATALOGUE[surface].bounds
    return (tuple(map(float, chosen[0])), tuple(map(float, chosen[1])))


def analytic_surface(problem, bounds, resolution: int = ANALYTIC_RESOLUTION) -> SurfaceSample:
    """f(x, y) of an analytic problem over `bounds` (float64 maths, float32 result), on a grid
    fine enough to show each minimum in view (see MINIMUM_TOLERANCE)."""
    minima = _minima_in(problem, bounds)
    while True:
        heights = _analytic_grid(problem, bounds, resolution)
        if resolution >= ANALYTIC_MAX_RESOLUTION or _shows(heights, bounds, minima):
            return SurfaceSample(bounds, heights.numpy().astype(np.float32))
        resolution = 2 * resolution - 1  # keeps every sample of the coarser grid


def _analytic_grid(problem, bounds, resolution: int) -> torch.Tensor:
    (x0, x1), (y0, y1) = bounds
    ys, xs = torch.meshgrid(
        torch.linspace(y0, y1, resolution, dtype=torch.float64),
        torch.linspace(x0, x1, resolution, dtype=torch.float64),
        indexing="ij",
    )
    with torch.no_grad():
        return problem.loss(torch.stack([xs, ys], dim=-1))


def _minima_in(problem, bounds) -> list[tuple[float, float, float]]:
    """(x, y, loss) of the surface's known minima inside `bounds`."""
    (x0, x1), (y0, y1) = bounds
    points = problem.definition.critical(problem.params)
    return [
        (*p.xy, p.value)
        for p in points
        if p.kind == "min" and x0 <= p.xy[0] <= x1 and y0 <= p.xy[1] <= y1
    ]


def _shows(heights: torch.Tensor, bounds, minima: list[tuple[float, float, float]]) -> bool:
    """Whether the grid's bilinear interpolant is within MINIMUM_TOLERANCE of every minimum."""
    finite = heights[torch.isfinite(heights)]
    if not minima or finite.numel() == 0:
        return True
    span = float(finite.max() - finite.min())
    rows, cols = heights.shape
    (x0, x1), (y0, y1) = bounds
    grid = heights.numpy()
    for x, y, value in minima:
        fx, fy = (x - x0) / (x1 - x0) * (cols - 1), (y - y0) / (y1 - y0) * (rows - 1)
        j, i = min(int(fx), cols - 2), min(int(fy), rows - 2)
        tx, ty = fx - j, fy - i
        top = grid[i, j] * (1 - tx) + grid[i, j + 1] * tx
        bottom = grid[i + 1, j] * (1 - tx) + grid[i + 1, j + 1] * tx
        if abs(top * (1 - ty) + bottom * ty - value) > MINIMUM_TOLERANCE * span:
            return False
    return True


def network_surface(
    problem, center: torch.Tensor, span: float, resolution: int, step: int = 0
) -> SurfaceSample:
    """The network's loss on the slice plane's square of half-width `span` around `center`.

    A mode-connectivity plane (`directions = "connect"`) has its own view, the square that covers
    both endpoints and the curve between them: it is drawn whatever `center` and `span` say.
    """
    plane: Plane = problem.plane
    if isinstance(plane, ConnectPlane):
        (cx, cy), span = plane.view
        drawn = Plane(plane.point(cx, cy), plane.d1, plane.d2)
    else:
        # The plane through the centre weights themselves, parallel to the contract's plane: its
        # point (cx + u, cy + v) is θc + u·d₁ + v·d₂. Shifting the contract's plane to (cx, cy)
        # instead would draw the loss around θc's *projection*, which for final weights lies far
        # off them (edge_of_stability: 5.2 away at a view half-width of 0.25, the wrong valley).
        cx, cy, _ = plane.project(center)
        drawn = Plane(center.detach().to(plane.origin.dtype), plane.d1, plane.d2)
    x, y = problem.data.x[:EVAL_POINTS], problem.data.y[:EVAL_POINTS]
    grid = surface_grid(problem.model, problem.loss_fn, drawn, span, resolution, x, y)
    bounds = ((cx - span, cx + span), (cy - span, cy + span))
    return SurfaceSample(bounds, grid.numpy().astype(np.float32), step)


def drawn_surface(
    problem, scenario, first_final: torch.Tensor | None = None, sample: SurfaceSample | None = None
) -> dict:
    """The height field the view draws, with what it is centred on: the arrays of surface.npz
    (`x`, `y`, `loss`, `center`, `center_loss`, and for networks `directions`).

    `first_final` is the first run's final weights, the centre of a moving slice's last surface.
    `sample` is that height field when it was already computed (the stream's refined surface).
    """
    land = scenario.landscape
    if not problem.is_network:
        bounds = analytic_bounds(land.surface, land.bounds)
        if sample is None:
            sample = analytic_surface(problem, bounds)
        center = torch.tensor([sum(bounds[0]) / 2, sum(bounds[1]) / 2], dtype=torch.float64)
        extra = {}
    else:
        spec, plane = land.slice, problem.plane
        if isinstance(plane, ConnectPlane):
            weights = plane.point(*plane.view[0])
        elif spec.center == "moving" and first_final is not None:
            weights = first_final
        else:
            weights = problem.view_center
        if sample is None:
            sample = network_surface(problem, weights, spec.span, spec.resolution)
        center = weights
        extra = {"directions": torch.stack([plane.d1, plane.d2]).numpy()}
    with torch.no_grad():
        center_loss = float(problem.full_loss(center))
    (x0, x1), (y0, y1) = sample.bounds
    rows, cols = sample.heights.shape
    return {
        "x": np.linspace(x0, x1, cols),
        "y": np.linspace(y0, y1, rows),
        "loss": sample.heights,
        "center": np.array([(x0 + x1) / 2, (y0 + y1) / 2]),
        "center_loss": np.array(center_loss),
        **extra,
    }
