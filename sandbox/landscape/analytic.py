"""Analytic loss surfaces: closed-form 2D functions f(x, y) with their known critical points.

Each surface is a differentiable torch function of a point, so optimisers see exactly the
derivatives autograd gives them (gradients, and Hessians for Newton and preconditioning), and the
listed critical points let tests and captions check where a run ended. The surfaces' names,
parameters and default views are the catalogue's (`sandbox.catalogue.surfaces`); this module adds
each one's function and critical points. The "formula" surface's function is its landscape's
formula (`surface(name, formula)`), evaluated on tensors from the whitelist parser's tree. Points
have shape ``(..., 2)``; values have shape ``(...)`` and the points' dtype.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch.autograd.functional import hessian, jacobian

from sandbox.catalogue import formula as formulas
from sandbox.catalogue import surfaces as catalogue
from sandbox.catalogue.surfaces import resolve_params

Params = Mapping[str, float]
SurfaceFn = Callable[[torch.Tensor, Params], torch.Tensor]


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with its type and the surface's value there."""

    xy: tuple[float, float]
    kind: Literal["min", "saddle", "max"]
    value: float


@dataclass(frozen=True)
class Surface:
    """A surface of the catalogue (parameters, default view and start) with its torch function
    and critical points."""

    name: str
    title: str
    defaults: Mapping[str, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    fn: SurfaceFn
    critical: Callable[[Params], tuple[CriticalPoint, ...]]


# ---------------------------------------------------------------------------- surfaces
def _split(xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return xy.select(-1, 0), xy.select(-1, 1)  # as xy[..., 0]: the same graph, less parsing


def _rotated(xy: torch.Tensor, degrees: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The point's coordinates (u, v) along the axes turned by ``degrees`` counter-clockwise."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    x, y = _split(xy)
    return c * x + s * y, -s * x + c * y


def _quadratic(xy: torch.Tensor, p: Params) -> torch.Tensor:
    u, v = _rotated(xy, p["angle"])
    return 0.5 * (p["l1"] * u**2 + p["l2"] * v**2)


def _canyon(xy: torch.Tensor, p: Params) -> torch.Tensor:
    return _quadratic(xy, {"l1": 1.0, "l2": p["kappa"], "angle": p["angle"]})


def _saddle(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return x**2 - y**2


def _double_well_saddle(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return x**2 + (y**2 - 1) ** 2


def _monkey_saddle(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return x**3 - 3 * x * y**2


def _rosenbrock(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return (p["a"] - x) ** 2 + p["b"] * (y - x**2) ** 2


def _himmelblau(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _rastrigin(xy: torch.Tensor, p: Params) -> torch.Tensor:
    return 2 * p["A"] + (xy**2 - p["A"] * torch.cos(2 * math.pi * xy)).sum(-1)


def _beale(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _bump(xy: torch.Tensor, centre_x: float, width: float) -> torch.Tensor:
    """A unit Gaussian bump centred at (centre_x, 0)."""
    x, y = _split(xy)
    return torch.exp(-((x - centre_x) ** 2 + y**2) / (2 * width**2))


def _plateau(xy: torch.Tensor, p: Params) -> torch.Tensor:
    # An inverted Gaussian: |∇f| = r/w²·exp(−r²/2w²) vanishes faster than exponentially away from
    # the minimum, so plain GD started a few widths out barely moves (PHENOMENA 6).
    return 1 - _bump(xy, 0.0, p["width"])


def _sharp_flat(xy: torch.Tensor, p: Params) -> torch.Tensor:
    # A product of two inverted bumps is ≥ 0 and exactly 0 at each centre, where both factors'
    # gradients vanish too, so both minima are exact, equally deep, and their Hessians are
    # (1 − other bump)/width² · I: the wide one is far flatter (PHENOMENA 7).
    return (1 - _bump(xy, -1.0, p["sharp_width"])) * (1 - _bump(xy, 1.0, p["flat_width"]))


def _two_weight_net(xy: torch.Tensor, p: Params) -> torch.Tensor:
    x, y = _split(xy)
    return (x * y - 1) ** 2


_VALLEY_WALL = 4.0  # curvature across the valley
_CLIFF_SOFTNESS = (
    0.25  # the cliff's slope fades from −cliff to 0 over about this distance past x = 0
)
_RAMP_ROUNDING = 1.0  # the ramp's |x − length| is rounded over this distance; curvature slope/this


def _steep_valley(xy: torch.Tensor, p: Params) -> torch.Tensor:
    # A steep cliff (slope −cliff for x < 0) drops into a long valley whose floor falls with a
    # gentle constant slope to a minimum near x = length. The cliff's large first gradients stay
    # in AdaGrad's accumulator for ever, so its later steps are tiny; RMSprop and Adam forget them
    # (PHENOMENA 8). Softplus and a pseudo-Huber ramp keep everything smooth (C∞).
    x, y = _split(xy)
    cliff = p["cliff"] * _CLIFF_SOFTNESS * F.softplus(-x / _CLIFF_SOFTNESS)
    ramp = p["slope"] * (torch.sqrt((x - p["length"]) ** 2 + _RAMP_ROUNDING**2) - _RAMP_ROUNDING)
    return 0.5 * _VALLEY_WALL * y**2 + cliff + ramp


# ---------------------------------------------------------------------------- critical points
def _at(fn: SurfaceFn, p: Params, xy: tuple[float, float], kind: str) -> CriticalPoint:
    """A critical point whose value is the surface's own float64 value there."""
    value = float(fn(torch.tensor(xy, dtype=torch.float64), p))
    return CriticalPoint((float(xy[0]), float(xy[1])), kind, value)  # type: ignore[arg-type]


def _fixed(fn: SurfaceFn, *points: tuple[tuple[float, float], str]) -> Callable:
    """The critical-point function of a surface whose critical points do not move with params."""
    return lambda p: tuple(_at(fn, p, xy, kind) for xy, kind in points)


def _memoized(critical: Callable[[Params], tuple[CriticalPoint, ...]]) -> Callable:
    """Cache a critical-point function that refines numerically (a few ms each call)."""
    cached = functools.lru_cache(maxsize=64)(lambda items: critical(dict(items)))
    return lambda p: cached(tuple(sorted(p.items())))


def _newton(fn: SurfaceFn, p: Params, guess: tuple[float, float]) -> tuple[float, float]:
    """The critical point nearest ``guess``, by Newton's method on ∇f = 0 in float64."""
    xy = torch.tensor(guess, dtype=torch.float64)
    f = functools.partial(fn, p=p)
    for _ in range(50):
        step = torch.linalg.solve(hessian(f, xy), jacobian(f, xy))
        xy = xy - step
        if step.abs().max() <= 1e-15 * (1 + xy.abs().max()):
            break
    return float(xy[0]), float(xy[1])


# Himmelblau's and Beale's other critical points have no closed form; refined once by Newton's
# method in float64 (gradient < 1e-13 there; tests re-check).
_HIMMELBLAU = (
    ((3.0, 2.0), "min"),
    ((-2.805118086952745, 3.131312518250573), "min"),
    ((-3.779310253377747, -3.2831859912861696), "min"),
    ((3.5844283403304917, -1.8481265269644034), "min"),
    ((-0.2708445906673476, -0.9230385564799815), "max"),
    ((0.08667750455539634, 2.884254701174776), "saddle"),
    ((-3.0730257507643897, -0.08135304428796751), "saddle"),
    ((3.385154183607021, 0.07385187983774928), "saddle"),
    ((-0.12796134673068005, -1.9537149802445766), "saddle"),
)
_BEALE = (
    ((3.0, 0.5), "min"),
    ((0.0, 1.0), "saddle"),
    ((0.10053793732415846, -2.644513585023124), "saddle"),
)


def _rastrigin_critical(p: Params) -> tuple[CriticalPoint, ...]:
    # Only the global minimum and the ring of eight local minima around it are listed. In 1D,
    # t² − A·cos 2πt has its local minimum near t = 1 (if A is large enough for one to exist) where
    # 2t + 2πA·sin 2πt = 0; the 2D function is separable, so each coordinate ∈ {0, ±t} is critical.
    a, t = p["A"], 1.0
    for _ in range(50):
        t -= (2 * t + 2 * math.pi * a * math.sin(2 * math.pi * t)) / (
            2 + 4 * math.pi**2 * a * math.cos(2 * math.pi * t)
        )
    curvature = 2 + 4 * math.pi**2 * a * math.cos(2 * math.pi * t)
    gradient = 2 * t + 2 * math.pi * a * math.sin(2 * math.pi * t)
    ring = abs(t - 1) < 0.5 and curvature > 0 and abs(gradient) < 1e-12
    offsets = [(i * t, j * t) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    return (_at(_rastrigin, p, (0.0, 0.0), "min"),) + tuple(
        _at(_rastrigin, p, xy, "min") for xy in (offsets if ring else [])
    )


def _sharp_flat_critical(p: Params) -> tuple[CriticalPoint, ...]:
    # Off the x-axis the two bumps' gradients are not parallel, so every critical point lies on
    # it; between the minima f(x, 0) rises and falls, and each of its maxima is a saddle (f grows
    # away from the axis). Within the allowed widths there is exactly one.
    x = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    h = _sharp_flat(torch.stack([x, torch.zeros_like(x)], -1), p)
    peaks = ((h[1:-1] > h[:-2]) & (h[1:-1] >= h[2:])).nonzero().flatten() + 1
    saddles = [_newton(_sharp_flat, p, (float(x[i]), 0.0)) for i in peaks]
    minima = [_at(_sharp_flat, p, (-1.0, 0.0), "min"), _at(_sharp_flat, p, (1.0, 0.0), "min")]
    return tuple(minima) + tuple(_at(_sharp_flat, p, xy, "saddle") for xy in saddles)


def _steep_valley_critical(p: Params) -> tuple[CriticalPoint, ...]:
    # ∂f/∂x = −cliff·σ(−x/τ) + slope·(x − L)/√((x − L)² + δ²) is < 0 up to x = L and increasing
    # after it, so the one minimum lies just past L (by ~1e-16 at the defaults); bisect for it.
    def dfdx(x: float) -> float:
        cliff = p["cliff"] / (1 + math.exp(x / _CLIFF_SOFTNESS))
        return -cliff + p["slope"] * (x - p["length"]) / math.hypot(x - p["length"], _RAMP_ROUNDING)

    lo, hi = p["length"], p["length"] + 1.0
    while dfdx(hi) <= 0:
        lo, hi = hi, 2 * hi - p["length"]
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if dfdx(mid) <= 0 else (lo, mid)
    return (_at(_steep_valley, p, (lo, 0.0), "min"),)


# ---------------------------------------------------------------------------- implementations
# Each surface of the catalogue (sandbox/catalogue/surfaces.py): its function and critical points.
_IMPLEMENTATIONS: dict[str, tuple[SurfaceFn, Callable[[Params], tuple[CriticalPoint, ...]]]] = {
    "quadratic": (_quadratic, _fixed(_quadratic, ((0.0, 0.0), "min"))),
    "canyon": (_canyon, _fixed(_canyon, ((0.0, 0.0), "min"))),
    "saddle": (_saddle, _fixed(_saddle, ((0.0, 0.0), "saddle"))),
    "double_well_saddle": (
        _double_well_saddle,
        _fixed(
            _double_well_saddle, ((0.0, 0.0), "saddle"), ((0.0, 1.0), "min"), ((0.0, -1.0), "min")
        ),
    ),
    "monkey_saddle": (_monkey_saddle, _fixed(_monkey_saddle, ((0.0, 0.0), "saddle"))),
    "rosenbrock": (
        _rosenbrock,
        lambda p: (_at(_rosenbrock, p, (p["a"], p["a"] ** 2), "min"),),
    ),
    "himmelblau": (_himmelblau, _fixed(_himmelblau, *_HIMMELBLAU)),
    "rastrigin": (_rastrigin, _memoized(_rastrigin_critical)),
    "beale": (_beale, _fixed(_beale, *_BEALE)),
    "plateau": (_plateau, _fixed(_plateau, ((0.0, 0.0), "min"))),
    "sharp_flat": (_sharp_flat, _memoized(_sharp_flat_critical)),
    "two_weight_net": (
        _two_weight_net,
        _fixed(_two_weight_net, ((0.0, 0.0), "saddle"), ((1.0, 1.0), "min"), ((-1.0, -1.0), "min")),
    ),
    "steep_valley": (_steep_valley, _memoized(_steep_valley_critical)),
}
# The named surfaces; "formula" has one surface per formula (`surface`).
SURFACES: dict[str, Surface] = {
    entry.name: Surface(
        entry.name, entry.title, entry.defaults, entry.bounds, entry.start, *_IMPLEMENTATIONS[name]
    )
    for name, entry in catalogue.SURFACES.items()
    if name != formulas.FORMULA
}

# ---------------------------------------------------------------------------- formulas
TORCH_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "abs": torch.abs,
}


def _constant_value(tree: formulas.Tree) -> float:
    # In float64 tensor maths, not Python's: 1/0 is inf and log(-1) nan rather than an exception.
    value = formulas.evaluate(
        tree, {}, lambda v: torch.tensor(v, dtype=torch.float64), TORCH_FUNCTIONS
    )
    return float(value)


def _formula_fn(tree: formulas.Tree) -> SurfaceFn:
    # Constant parts are computed once; every operation left has a tensor on one side, so its
    # plain-number side never widens the points' dtype and follows tensor arithmetic.
    folded = formulas.fold_constants(tree, _constant_value)
    constant = folded[0] == "num"

    def fn(xy: torch.Tensor, p: Params) -> torch.Tensor:
        x, y = _split(xy)
        value = formulas.evaluate(folded, {"x": x, "y": y}, float, TORCH_FUNCTIONS)
        # A formula without x and y is still a function of the point: the value at every point,
        # with a zero gradient (rather than a graph that autograd cannot differentiate).
        return value + 0 * x if constant else value

    return fn


@functools.lru_cache(maxsize=64)
def formula_surface(text: str) -> Surface:
    """The surface of a formula (raises FormulaError if it does not parse)."""
    entry = catalogue.SURFACES[formulas.FORMULA]
    fn = _formula_fn(formulas.parse(text))
    return Surface(entry.name, entry.title, {}, entry.bounds, entry.start, fn, lambda p: ())


def surface(name: str, formula: str | None = None) -> Surface:
    """The surface a landscape names: a catalogue surface, or for "formula" its formula's."""
    if name == formulas.FORMULA:
        if formula is None:
            raise ValueError('surface "formula" needs its formula')
        return formula_surface(formula)
    return SURFACES[name]


def evaluate(
    name: str, params: Mapping[str, float], xy: torch.Tensor, formula: str | None = None
) -> torch.Tensor:
    """The surface's value at points ``xy`` of shape (..., 2), after resolving ``params``."""
    return surface(name, formula).fn(xy, resolve_params(name, params))
