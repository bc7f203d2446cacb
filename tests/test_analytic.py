"""Tests of the analytic surfaces against closed forms, finite differences and their Hessians."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import hessian

from sandbox.catalogue.formula import FORMULA
from sandbox.catalogue.surfaces import NAMES as ALL_NAMES
from sandbox.landscape.analytic import SURFACES, evaluate, resolve_params

# The named surfaces; a formula's surface is tested in tests/test_formula.py.
NAMES = tuple(name for name in ALL_NAMES if name != FORMULA)
# Non-default parameters, so that closed forms are checked away from the defaults too.
PARAM_SETS = [(name, {}) for name in NAMES] + [
    ("quadratic", {"l1": 3.0, "l2": 0.5, "angle": 30.0}),
    ("canyon", {"kappa": 100.0, "angle": -20.0}),
    ("rosenbrock", {"a": -0.5, "b": 7.0}),
    ("rastrigin", {"A": 3.0}),
    ("rastrigin", {"A": 0.0}),
    ("plateau", {"width": 1.3}),
    ("sharp_flat", {"sharp_width": 0.3, "flat_width": 1.0}),
    ("sharp_flat", {"sharp_width": 0.1, "flat_width": 0.3}),
    ("sharp_flat", {"sharp_width": 2.0, "flat_width": 2.0}),
    ("steep_valley", {"slope": 0.1, "length": 1.0, "cliff": 20.0}),
    ("steep_valley", {"cliff": 0.0}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in p.items())}" for name, p in PARAM_SETS]


def _rot(p: dict[str, float], x, y):
    c, s = math.cos(math.radians(p["angle"])), math.sin(math.radians(p["angle"]))
    return c, s, c * x + s * y, -s * x + c * y


def _quadratic_grad(p, x, y, l1, l2):
    c, s, u, v = _rot(p, x, y)
    return l1 * u * c - l2 * v * s, l1 * u * s + l2 * v * c


def _beale_grad(p, x, y):
    terms = [(c, k, c - x + x * y**k) for k, c in ((1, 1.5), (2, 2.25), (3, 2.625))]
    gx = sum(2 * r * (y**k - 1) for _, k, r in terms)
    gy = sum(2 * r * k * x * y ** (k - 1) for _, k, r in terms)
    return gx, gy


def _plateau_grad(p, x, y):
    g = torch.exp(-(x**2 + y**2) / (2 * p["width"] ** 2)) / p["width"] ** 2
    return g * x, g * y


def _sharp_flat_grad(p, x, y):
    gs = torch.exp(-((x + 1) ** 2 + y**2) / (2 * p["sharp_width"] ** 2)) / p["sharp_width"] ** 2
    gf = torch.exp(-((x - 1) ** 2 + y**2) / (2 * p["flat_width"] ** 2)) / p["flat_width"] ** 2
    # ∇[(1 − bs)(1 − bf)] with ∇b = −b·(p − c)/w²; gs, gf are b/w².
    ws = gs * (1 - gf * p["flat_width"] ** 2)
    wf = gf * (1 - gs * p["sharp_width"] ** 2)
    return ws * (x + 1) + wf * (x - 1), (ws + wf) * y


def _steep_valley_grad(p, x, y):
    cliff = -p["cliff"] * torch.sigmoid(-x / 0.25)
    ramp = p["slope"] * (x - p["length"]) / torch.sqrt((x - p["length"]) ** 2 + 1)
    return cliff + ramp, 4 * y


# Hand-derived gradients (x, y, params) -> (∂f/∂x, ∂f/∂y), the oracle for autograd.
CLOSED_FORM_GRADIENTS = {
    "quadratic": lambda p, x, y: _quadratic_grad(p, x, y, p["l1"], p["l2"]),
    "canyon": lambda p, x, y: _quadratic_grad(p, x, y, 1.0, p["kappa"]),
    "saddle": lambda p, x, y: (2 * x, -2 * y),
    "double_well_saddle": lambda p, x, y: (2 * x, 4 * y * (y**2 - 1)),
    "monkey_saddle": lambda p, x, y: (3 * x**2 - 3 * y**2, -6 * x * y),
    "rosenbrock": lambda p, x, y: (
        -2 * (p["a"] - x) - 4 * p["b"] * x * (y - x**2),
        2 * p["b"] * (y - x**2),
    ),
    "himmelblau": lambda p, x, y: (
        4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
        2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
    ),
    "rastrigin": lambda p, x, y: (
        2 * x + 2 * math.pi * p["A"] * torch.sin(2 * math.pi * x),
        2 * y + 2 * math.pi * p["A"] * torch.sin(2 * math.pi * y),
    ),
    "beale": _beale_grad,
    "plateau": _plateau_grad,
    "two_weight_net": lambda p, x, y: (2 * (x * y - 1) * y, 2 * (x * y - 1) * x),
    "sharp_flat": _sharp_flat_grad,
    "steep_valley": _steep_valley_grad,
}


def _points_in_bounds(name: str, n: int = 64, seed: int = 0) -> torch.Tensor:
    """Random float64 points inside the surface's default view, shape (n, 2)."""
    (x0, x1), (y0, y1) = SURFACES[name].bounds
    u = torch.rand(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], -1)


def _grad(name: str, params: dict[str, float], xy: torch.Tensor) -> torch.Tensor:
    xy = xy.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(evaluate(name, params, xy).sum(), xy)
    return g


def _hessian(name: str, params: dict[str, float], xy: tuple[float, float]) -> torch.Tensor:
    point = torch.tensor(xy, dtype=torch.float64)
    return hessian(lambda q: evaluate(name, params, q), point)


def test_every_catalogue_surface_is_implemented():
    assert tuple(SURFACES) == NAMES
    for name, surface in SURFACES.items():
        assert surface.name == name and surface.title
        (x0, x1), (y0, y1) = surface.bounds
        assert x0 <= surface.start[0] <= x1 and y0 <= surface.start[1] <= y1


@pytest.mark.parametrize(("name", "params"), PARAM_SETS, ids=IDS)
def test_autograd_gradient_matches_closed_form(name, params):
    xy = _points_in_bounds(name)
    expected = torch.stack(
        CLOSED_FORM_GRADIENTS[name](resolve_params(name, params), xy[:, 0], xy[:, 1]), -1
    )
    torch.testing.assert_close(_grad(name, params, xy), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "params"), PARAM_SETS, ids=IDS)
def test_autograd_gradient_matches_finite_differences(name, params):
    xy, h = _points_in_bounds(name, seed=1), 1e-6
    steps = torch.eye(2, dtype=torch.float64) * h
    central = torch.stack(
        [
            (evaluate(name, params, xy + e) - evaluate(name, params, xy - e)) / (2 * h)
            for e in steps
        ],
        -1,
    )
    # The absolute floor covers gradients that are 0 up to rounding of f (plateau far out).
    torch.testing.assert_close(_grad(name, params, xy), central, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "params"), PARAM_SETS, ids=IDS)
def test_critical_points_are_critical_with_the_stated_kind(name, params):
    full = resolve_params(name, params)
    points = SURFACES[name].critical(full)
    assert points, "every surface lists at least one critical point"
    for point in points:
        xy = torch.tensor(point.xy, dtype=torch.float64)
        assert _grad(name, full, xy).norm() < 1e-6, point
        assert abs(float(evaluate(name, full, xy)) - point.value) < 1e-8, point
        low, high = torch.linalg.eigvalsh(_hessian(name, full, point.xy)).tolist()
        _assert_signature(name, point.kind, low, high, point)


def _assert_signature(name: str, kind: str, low: float, high: float, point) -> None:
    tol = 1e-9 * max(1.0, abs(high))
    if name == "monkey_saddle":  # degenerate: the Hessian vanishes, the cubic term decides
        assert kind == "saddle" and abs(low) < tol and abs(high) < tol
    elif name == "two_weight_net" and kind == "min":  # flat along the valley xy = 1
        assert abs(low) < tol and high > 0, point
    elif kind == "min":
        assert low > 0, point
    elif kind == "saddle":
        assert low < 0 < high, point
    else:
        assert high < 0, point


def test_critical_points_survive_newton_refinement():
    """Hard-coded Himmelblau and Beale points are already where Newton's method converges."""
    for name in ("himmelblau", "beale"):
        f = SURFACES[name].fn
        for point in SURFACES[name].critical({}):
            xy = torch.tensor(point.xy, dtype=torch.float64)
            for _ in range(5):
                g = torch.autograd.functional.jacobian(lambda q, f=f: f(q, {}), xy)
                xy = xy - torch.linalg.solve(hessian(lambda q, f=f: f(q, {}), xy), g)
            assert (xy - torch.tensor(point.xy, dtype=torch.float64)).abs().max() < 1e-9


def test_known_critical_point_counts():
    kinds = {name: [p.kind for p in SURFACES[name].critical({})] for name in ("himmelblau",)}
    assert sorted(kinds["himmelblau"]) == ["max"] + ["min"] * 4 + ["saddle"] * 4
    minima = [p.xy for p in SURFACES["himmelblau"].critical({}) if p.kind == "min"]
    assert {(round(x), round(y)) for x, y in minima} == {(3, 2), (-3, 3), (-4, -3), (4, -2)}
    assert SURFACES["beale"].critical({})[0].xy == (3.0, 0.5)
    assert len(SURFACES["rastrigin"].critical(resolve_params("rastrigin", {}))) == 9
    assert len(SURFACES["rastrigin"].critical(resolve_params("rastrigin", {"A": 0.0}))) == 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batched_grid_equals_pointwise(name, dtype):
    (x0, x1), (y0, y1) = SURFACES[name].bounds
    gx, gy = torch.meshgrid(
        torch.linspace(x0, x1, 7, dtype=dtype),
        torch.linspace(y0, y1, 5, dtype=dtype),
        indexing="ij",
    )
    grid = torch.stack([gx, gy], -1)  # shape (7, 5, 2)
    values = evaluate(name, {}, grid)
    assert values.shape == (7, 5) and values.dtype == dtype
    pointwise = torch.stack([evaluate(name, {}, p) for p in grid.reshape(-1, 2)]).reshape(7, 5)
    torch.testing.assert_close(values, pointwise, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, -135.0])
def test_rotated_quadratic_has_hessian_eigenvalues_l1_l2(angle):
    params = {"l1": 3.0, "l2": 0.25, "angle": angle}
    for point in [(0.0, 0.0), (1.3, -0.7), (-2.0, 5.0)]:
        h = _hessian("quadratic", params, point)
        torch.testing.assert_close(
            torch.linalg.eigvalsh(h), torch.tensor([0.25, 3.0], dtype=torch.float64)
        )
    # The l1 axis points along the angle, counter-clockwise from x.
    t = math.radians(angle)
    along = torch.tensor([math.cos(t), math.sin(t)], dtype=torch.float64)
    across = torch.tensor([-math.sin(t), math.cos(t)], dtype=torch.float64)
    assert float(evaluate("quadratic", params, 2 * along)) == pytest.approx(0.5 * 3.0 * 4)
    assert float(evaluate("quadratic", params, 2 * across)) == pytest.approx(0.5 * 0.25 * 4)


def test_canyon_condition_number_is_kappa():
    h = _hessian("canyon", {"kappa": 50.0, "angle": 10.0}, (0.4, 0.2))
    low, high = torch.linalg.eigvalsh(h).tolist()
    assert high / low == pytest.approx(50.0)


def test_sharp_flat_minima_are_exact_equal_and_differently_wide():
    params = resolve_params("sharp_flat", {})
    minima = [p for p in SURFACES["sharp_flat"].critical(params) if p.kind == "min"]
    assert [(p.xy, p.value) for p in minima] == [((-1.0, 0.0), 0.0), ((1.0, 0.0), 0.0)]
    sharp = torch.linalg.eigvalsh(_hessian("sharp_flat", params, (-1.0, 0.0)))
    flat = torch.linalg.eigvalsh(_hessian("sharp_flat", params, (1.0, 0.0)))
    assert sharp.min() > 10 * flat.max()


def test_steep_valley_has_steep_start_and_long_gentle_floor():
    params = resolve_params("steep_valley", {})
    (minimum,) = SURFACES["steep_valley"].critical(params)
    assert minimum.xy[0] == pytest.approx(params["length"], abs=1e-12) and minimum.xy[1] == 0
    start = torch.tensor(SURFACES["steep_valley"].start, dtype=torch.float64)
    floor = torch.stack([torch.linspace(1.5, 8.0, 50, dtype=torch.float64), torch.zeros(50)], -1)
    floor_slopes = _grad("steep_valley", params, floor).norm(dim=-1)
    assert ((floor_slopes > 0.01) & (floor_slopes < 0.1)).all()
    assert _grad("steep_valley", params, start).norm() >= 10 * floor_slopes.max()
    # Its x-component alone is large: AdaGrad's accumulator is per coordinate.
    assert abs(_grad("steep_valley", params, start)[0]) >= 10 * floor_slopes.max()


def test_plateau_gradient_vanishes_far_from_the_minimum():
    far = torch.tensor([2.0, 2.0], dtype=torch.float64)
    assert _grad("plateau", {}, far).norm() < 1e-5
    assert float(evaluate("plateau", {}, far)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "canyon",
            {"foo": 1.0},
            "unknown parameter 'foo' for surface 'canyon'; allowed: kappa, angle",
        ),
        ("saddle", {"a": 1.0}, "unknown parameter 'a' for surface 'saddle'; allowed: (none)"),
        ("canyon", {"kappa": 0.0}, "parameter 'kappa' for surface 'canyon' must be > 0, got 0.0"),
        ("quadratic", {"l2": -1.0}, "parameter 'l2' for surface 'quadratic' must be > 0"),
        ("rastrigin", {"A": float("nan")}, "parameter 'A' for surface 'rastrigin' must be finite"),
        ("rosenbrock", {"b": float("inf")}, "must be finite"),
        ("rosenbrock", {"a": "1"}, "parameter 'a' for surface 'rosenbrock' must be a number"),
        ("plateau", {"width": True}, "must be a number"),
        ("sharp_flat", {"sharp_width": 0.01}, "'sharp_width' for surface 'sharp_flat' must be in"),
        ("steep_valley", {"cliff": -1.0}, "must be >= 0"),
        ("nowhere", {}, "unknown surface 'nowhere'; available: quadratic, canyon"),
    ],
)
def test_resolve_params_rejects_bad_input_clearly(name, params, message):
    with pytest.raises(ValueError) as excinfo:
        resolve_params(name, params)
    assert message in str(excinfo.value)


def test_resolve_params_merges_defaults():
    assert resolve_params("canyon", {"kappa": 100}) == {"kappa": 100.0, "angle": 0.0}
    assert resolve_params("himmelblau", {}) == {}
    for name, surface in SURFACES.items():
        assert resolve_params(name, {}) == dict(surface.defaults)
