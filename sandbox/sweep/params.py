"""Swept parameters: value lists, evenly spaced grids and seeded random draws.

"runs.0.lr" = [0.1, 0.2, 0.5]                         # grid: these values
"runs.0.lr" = { logspace = [0.01, 1.0], num = 9 }      # grid: geometric spacing, ends included
"runs.0.momentum" = { linspace = [0.0, 0.9], num = 10 }
"runs.0.lr" = { loguniform = [1e-3, 1.0] }             # random: one draw per sample
"runs.0.momentum" = { uniform = [0.0, 0.99] }
"landscape.data.n" = { randint = [16, 1024] }          # inclusive
"runs.0.optimizer" = { choice = ["gd", "momentum"] }

Every value a sweep can produce is checked here, before anything runs: numbers are finite,
integers fit the table's int64 columns (and torch's and numpy's seeds), and ranges are narrow
enough that no value computed from them overflows to ±inf.
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
INT64 = (-(2**63), 2**63 - 1)  # results.parquet's integer columns; numpy's and torch's ints


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
        if kind == "randint":  # endpoint=True: high may be 2**63 - 1 (high + 1 would overflow)
            return [int(v) for v in rng.integers(arg[0], arg[1], count, endpoint=True)]
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
        check_value(value)
        if any(type(v) is type(value) and v == value for v in values[:i]):
            raise ParamError(f"the value {value!r} appears twice")
    return tuple(values)


def check_value(value: Any, where: tuple = ()) -> None:
    """Refuse what no scenario key can use and no table column can hold: NaN, ±inf, and
    integers beyond int64 (TOML reads any size; pyarrow, numpy and torch cannot), at any depth."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise ParamError(f"the integer {value} does not fit in 64 bits (|value| < 2**63)", where)
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(f"values must be finite numbers, got {value!r}", where)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        check_value(item, where)


def _numbers(kind: str, value: Any) -> tuple[float, float]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(_is_number(v) and _finite(v) for v in value)
    )
    if not ok:
        raise ParamError("must be [low, high]: two finite numbers", (kind,))
    lo, hi = float(value[0]), float(value[1])
    # Values are computed from high - low (linspace, uniform) or high / low (logspace): past
    # ±1.8e308 they would be inf, and numpy refuses such a uniform range outright.
    span = hi / lo if kind == "logspace" and lo > 0 and hi > 0 else hi - lo
    if not math.isfinite(span):
        what = "high / low" if kind == "logspace" else "high - low"
        raise ParamError(f"{what} must be a finite number (the range is too wide)", (kind,))
    return lo, hi


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(number: int | float) -> bool:
    # An int past ±1.8e308 cannot even be converted to a float (OverflowError).
    if isinstance(number, int):
        return INT64[0] <= number <= INT64[1]
    return math.isfinite(number)


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
        if not isinstance(arg, list) or not 1 <= len(arg) <= LIMITS["values"]:
            raise ParamError(f"choice needs a list of 1 … {LIMITS['values']:,} values", (kind,))
        for value in arg:
            check_value(value, (kind,))
        return tuple(arg)
    if kind == "randint":
        ok = (
            isinstance(arg, list)
            and len(arg) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in arg)
        )
        if not ok or arg[0] > arg[1]:
            raise ParamError("randint needs [low, high]: two integers, low ≤ high", (kind,))
        if not all(INT64[0] <= v <= INT64[1] for v in arg):
            raise ParamError(
                "randint's low and high must fit in 64 bits (-2**63 … 2**63 - 1)", (kind,)
            )
        return tuple(arg)
    lo, hi = _numbers(kind, arg)
    if not lo < hi:
        raise ParamError(f"{kind} needs low < high", (kind,))
    if kind == "loguniform" and lo <= 0:
        raise ParamError("loguniform needs a positive low end", (kind,))
    return (lo, hi)
