"""The analytic surfaces: names, parameters with their defaults and ranges, default view and start.

One entry per surface. The schema takes the names from here, the scenario checks validate
``params`` with `resolve_params`, docs/scenarios.md carries `markdown_table` (a test checks), and
`sandbox.landscape.analytic` adds each surface's torch function and critical points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

Box = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Param:
    """One surface parameter: its default and the values it may take.

    `low` and `high` bound it (None: unbounded); `open_low` excludes `low` itself. `unit` is how
    the docs write it after the default (``"°"`` for angles).
    """

    default: float
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    unit: str = ""

    def allows(self, value: float) -> bool:
        """Whether a finite `value` lies in the parameter's range."""
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        return above and (self.high is None or value <= self.high)

    def rule(self) -> str:
        """The range as the error messages say it (``"must be > 0"``), or ``""`` if any."""
        if self.high is not None:
            return f"must be in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"must be {'>' if self.open_low else '>='} {self.low:g}"
        return ""


POSITIVE = {"low": 0.0, "open_low": True}
NON_NEGATIVE = {"low": 0.0}


@dataclass(frozen=True)
class Surface:
    """A named closed-form surface f(x, y), as a scenario file and the docs know it."""

    name: str
    title: str  # what the app says it is
    about: str  # the docs' "what it is"
    bounds: Box  # the default view: [[x0, x1], [y0, y1]]
    start: tuple[float, float]  # the default start of a run
    params: Mapping[str, Param] = field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, float]:
        return {key: param.default for key, param in self.params.items()}


CATALOGUE: tuple[Surface, ...] = (
    Surface(
        "quadratic",
        "A quadratic bowl",
        "½(l1·u² + l2·v²), (u, v) = (x, y) rotated by `angle`: Hessian eigenvalues l1, l2",
        ((-2, 2), (-2, 2)),
        (1.5, 1.0),
        {"l1": Param(1.0, **POSITIVE), "l2": Param(1.0, **POSITIVE), "angle": Param(0.0, unit="°")},
    ),
    Surface(
        "canyon",
        "An ill-conditioned canyon",
        "½(u² + κ·v²): condition number κ",
        ((-2, 2), (-2, 2)),
        (-1.8, 0.8),
        {"kappa": Param(10.0, **POSITIVE), "angle": Param(0.0, unit="°")},
    ),
    Surface("saddle", "A saddle point", "x² − y²", ((-2, 2), (-2, 2)), (1.5, 0.05)),
    Surface(
        "double_well_saddle",
        "A saddle between two wells",
        "x² + (y² − 1)²: saddle at 0, minima (0, ±1)",
        ((-2, 2), (-2, 2)),
        (1.5, 0.0),
    ),
    # Its Hessian vanishes at the origin: a degenerate saddle with three downhill valleys.
    Surface(
        "monkey_saddle",
        "A monkey saddle",
        "x³ − 3xy² (degenerate saddle)",
        ((-1.5, 1.5), (-1.5, 1.5)),
        (1.2, 0.1),
    ),
    Surface(
        "rosenbrock",
        "Rosenbrock's curved canyon",
        "(a − x)² + b(y − x²)²: curved canyon, minimum (a, a²)",
        ((-2, 2), (-1, 3)),
        (-1.5, 2.0),
        {"a": Param(1.0), "b": Param(100.0, **POSITIVE)},
    ),
    Surface(
        "himmelblau",
        "Himmelblau's four minima",
        "four minima; the start decides which",
        ((-5, 5), (-5, 5)),
        (0.0, 0.0),
    ),
    Surface(
        "rastrigin",
        "Rastrigin's egg crate",
        "many local minima around the global one at 0",
        ((-3, 3), (-3, 3)),
        (2.2, -1.6),
        {"A": Param(10.0, **NON_NEGATIVE)},
    ),
    Surface(
        "beale",
        "Beale's flat-bottomed valleys",
        "minimum (3, 0.5), flat arms",
        ((-4.5, 4.5), (-4.5, 4.5)),
        (1.0, 1.5),
    ),
    Surface(
        "plateau",
        "A plateau with a single well",
        "1 − exp(−r²/2w²): vanishing gradient far from the minimum",
        ((-2.5, 2.5), (-2.5, 2.5)),
        (1.2, 0.9),
        {"width": Param(0.5, **POSITIVE)},
    ),
    # Narrower bumps make the ridge between the minima flat to within float64 rounding, where its
    # saddle can no longer be located; wider ones merge the basins.
    Surface(
        "sharp_flat",
        "A sharp and a flat minimum",
        "two minima of depth 0: sharp at (−1, 0), flat at (1, 0)",
        ((-2.2, 2.2), (-1.6, 1.6)),
        (0.0, 0.8),
        {"sharp_width": Param(0.15, 0.1, 2.0), "flat_width": Param(0.6, 0.3, 2.0)},
    ),
    # The minima form the hyperbola xy = 1; its Hessian there is singular along the valley.
    Surface(
        "two_weight_net",
        "A two-weight linear network",
        "(xy − 1)²: the loss of f(t) = w₂w₁t fitted to y = t",
        ((-2, 2), (-2, 2)),
        (0.2, 0.1),
    ),
    Surface(
        "steep_valley",
        "A cliff above a long gentle valley",
        "a steep start, then a long gentle valley to (length, 0)",
        ((-2.5, 12.5), (-2.5, 2.5)),
        (-1.5, 0.75),
        {
            "slope": Param(0.05, **POSITIVE),
            "length": Param(10.0, **POSITIVE),
            "cliff": Param(5.0, **NON_NEGATIVE),
        },
    ),
    # The function is the landscape's own `formula` (sandbox.catalogue.formula): no parameters,
    # and no known critical points.
    Surface(
        "formula",
        "A surface from a formula",
        'the landscape\'s `formula`, e.g. `formula = "x**2 - y**2"`',
        ((-2, 2), (-2, 2)),
        (1.5, 1.0),
    ),
)
SURFACES: dict[str, Surface] = {surface.name: surface for surface in CATALOGUE}
NAMES = tuple(SURFACES)


def resolve_params(name: str, params: Mapping[str, float]) -> dict[str, float]:
    """The surface's complete parameters: its defaults overridden by ``params``, validated.

    Raises
    ------
    ValueError
        For an unknown surface or parameter, a non-numeric or non-finite value, or a value out of
        the parameter's range; the message names the surface, the parameter and the reason.
    """
    if name not in SURFACES:
        raise ValueError(f"unknown surface '{name}'; available: {', '.join(SURFACES)}")
    known = SURFACES[name].params
    resolved = SURFACES[name].defaults
    for key, value in params.items():
        if key not in known:
            allowed = ", ".join(known) or "(none)"
            raise ValueError(f"unknown parameter '{key}' for surface '{name}'; allowed: {allowed}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"parameter '{key}' for surface '{name}' must be a number, got {value!r}"
            )
        if not math.isfinite(value) or not known[key].allows(value):
            why = known[key].rule() if math.isfinite(value) else "must be finite"
            raise ValueError(f"parameter '{key}' for surface '{name}' {why}, got {value!r}")
        resolved[key] = float(value)
    return resolved


def markdown_table() -> str:
    """The docs' table of surfaces (docs/scenarios.md; tests/test_catalogue.py checks it)."""
    rows = ["| surface | params (default) | what it is |", "|---|---|---|"]
    for surface in CATALOGUE:
        params = ", ".join(f"`{k}` ({p.default:g}{p.unit})" for k, p in surface.params.items())
        rows.append(f"| `{surface.name}` | {params or '—'} | {surface.about} |")
    return "\n".join(rows)
