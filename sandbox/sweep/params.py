"""Swept parameters: value lists, evenly spaced grids and seeded random draws.

"runs.0.lr" = [0.1, 0.2, 0.5]                         # grid: these values
"runs.0.lr" = { logspace = [0.01, 1.0], num = 9 }      # grid: geometric spacing, ends included
"runs.0.momentum" = { linspace = [0.0, 0.9], num = 10 }
"runs.0.lr" = { loguniform = [1e-3, 1.0] }             # random: one draw per sample
"runs.0.momentum" = { uniform = [0.0, 0.99] }
"landscape.data.n" = { randint = [16, 1024] }          # inclusive
"runs.0.optimizer" = { choice = ["gd", "momentum"] }
"""

from __future__ import annotations

import copy
import math
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sandbox.sweep.paths import parse_path
from sandbox.sweep.schema import LIMITS

GRIDS = ("linspace", "logspace")
RANDOM = ("uniform", "loguniform", "randint", "choice")


class ParamError(ValueError):
    """A bad parameter specification; `where` is the key inside it (e.g. ("num",))."""

    def __init__(self, reason: str, where: tuple = ()):
        super().__init__(reason)
        self.where = where


@dataclass(frozen=True)
class Param:
    """One swept parameter: a grid of values or a random distribution."""

    name: str  # as written: also the result table's column
    path: tuple
    kind: Literal["grid", "random"]
    values: tuple = ()  # grid
    draw: tuple = ()  # random: (distribution, argument)
    log_scale: bool = False  # logspace / loguniform: plotted on a log axis

    def sample(self, count: int, sample_seed: int) -> list:
        """`count` seeded draws; a parameter's draws do not depend on the other parameters."""
        seed = np.random.SeedSequence([sample_seed, zlib.crc32(self.name.encode())])
        rng = np.random.Generator(np.random.PCG64(seed))
        kind, arg = self.draw
        if kind == "uniform":
            return [float(v) for v in rng.uniform(arg[0], arg[1], count)]
        if kind == "loguniform":
            logs = rng.uniform(math.log(arg[0]), math.log(arg[1]), count)
            return [float(math.exp(v)) for v in logs]
        if kind == "randint":
            return [int(v) for v in rng.integers(arg[0], arg[1] + 1, count)]
        return [copy.deepcopy(arg[int(i)]) for i in rng.integers(0, len(arg), count)]


def parse_param(name: str, spec: Any) -> Param:
    """Check one `[sweep.params]` entry; raise ParamError (path errors without `where`)."""
    try:
        path = parse_path(name)
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    if isinstance(spec, list):
        return Param(name, path, "grid", _value_list(spec))
    if not isinstance(spec, dict):
        raise ParamError(
            "must be a list of values or a table such as { logspace = [0.01, 1.0], num = 9 } "
            "or { uniform = [0.0, 1.0] }"
        )
    kinds = [k for k in spec if k in GRIDS + RANDOM]
    if len(kinds) != 1:
        raise ParamError(f"needs exactly one of {', '.join(GRIDS + RANDOM)}")
    kind = kinds[0]
    extra = sorted(set(spec) - {kind, "num"} if kind in GRIDS else set(spec) - {kind})
    if extra:
        raise ParamError("unknown key", (extra[0],))
    log = kind in ("logspace", "loguniform")
    if kind in GRIDS:
        return Param(name, path, "grid", _spaced(kind, spec), log_scale=log)
    return Param(name, path, "random", draw=(kind, _distribution(kind, spec[kind])), log_scale=log)


def _value_list(values: list) -> tuple:
    if not 1 <= len(values) <= LIMITS["values"]:
        raise ParamError(f"needs 1 … {LIMITS['values']:,} values")
    for i, value in enumerate(values):
        if any(type(v) is type(value) and v == value for v in values[:i]):
            raise ParamError(f"the value {value!r} appears twice")
    return tuple(values)


def _numbers(kind: str, value: Any, count: int = 2) -> list[float]:
    ok = (
        isinstance(value, list)
        and len(value) == count
        and all(_is_number(v) and math.isfinite(v) for v in value)
    )
    if not ok:
        raise ParamError("must be [low, high]: two finite numbers", (kind,))
    return [float(v) for v in value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _spaced(kind: str, spec: dict) -> tuple:
    lo, hi = _numbers(kind, spec[kind])
    num = spec.get("num")
    if not isinstance(num, int) or isinstance(num, bool) or not 1 <= num <= LIMITS["values"]:
        raise ParamError(f"needs num = 1 … {LIMITS['values']:,} (how many values)", ("num",))
    if kind == "logspace" and not (lo > 0 and hi > 0):
        raise ParamError("logspace needs positive ends", (kind,))
    if num == 1:
        return (lo,)
    fractions = [i / (num - 1) for i in range(num)]
    if kind == "linspace":
        values = [lo + (hi - lo) * f for f in fractions]
    else:
        values = [lo * (hi / lo) ** f for f in fractions]
    # 12 significant digits: 0.7, not 0.7000000000000001 (in the table, the plots and the files).
    return tuple(float(f"{v:.12g}") for v in values[:-1]) + (hi,)


def _distribution(kind: str, arg: Any) -> Any:
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise ParamError("choice needs a non-empty list of values", (kind,))
        return tuple(arg)
    if kind == "randint":
        ok = (
            isinstance(arg, list)
            and len(arg) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in arg)
        )
        if not ok or arg[0] > arg[1]:
            raise ParamError("randint needs [low, high]: two integers, low ≤ high", (kind,))
        return tuple(arg)
    lo, hi = _numbers(kind, arg)
    if not lo < hi:
        raise ParamError(f"{kind} needs low < high", (kind,))
    if kind == "loguniform" and lo <= 0:
        raise ParamError("loguniform needs a positive low end", (kind,))
    return (lo, hi)
