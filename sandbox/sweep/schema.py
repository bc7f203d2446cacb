"""The sweep file's schema: strict, frozen pydantic models (see docs/sweeps.md).

Like the scenario schema, strict: no silent type coercion, no unknown keys. Parameter value
specifications (`[sweep.params]`) hold lists or small tables whose shape depends on the kind of
range, so they are checked by `sandbox.sweep.spec`, which also knows the line each came from.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from sandbox.scenario.schema import Finite, Strict

LIMITS = {"tasks": 100_000, "values": 10_000, "seeds": 1_000, "params": 16}


def _list_to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


Name = Annotated[str, Field(min_length=1)]
Names = Annotated[tuple[Name, ...], BeforeValidator(_list_to_tuple)]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]


class FitSpec(Strict):
    """A curve fitted to one metric against one swept parameter, per run and per seed."""

    x: Name  # a swept parameter, as written in [sweep.params]
    y: Name  # a metric, as written in sweep.metrics
    model: Literal["power", "power_plus_constant"]
    runs: Names | None = None  # default: every run


Numbers = Annotated[tuple[Finite, ...], BeforeValidator(_list_to_tuple), Field(min_length=1)]


class Overlay(Strict):
    """A reference drawn over each plot: points joined by straight lines (a curve that is a
    power law is straight on log-log axes, so two points draw it exactly)."""

    x: Numbers  # swept parameter values (the horizontal axis)
    y: Numbers  # heatmaps: the second parameter's values; line plots: metric values
    label: str = ""

    @model_validator(mode="after")
    def _same_length(self) -> Overlay:
        if len(self.x) != len(self.y):
            raise ValueError(
                f"x and y need the same number of values ({len(self.x)} vs {len(self.y)})"
            )
        return self


class PlotSpec(Strict):
    """Options for the PNG plots."""

    overlay: Annotated[tuple[Overlay, ...], BeforeValidator(_list_to_tuple)] = ()
    log: Names = ()  # parameters or metrics drawn on a log axis (default: when they span 100×)
    linear: Names = ()  # ... drawn on a linear axis even so
    metrics: Names | None = None  # which metrics get a plot (default: every numeric one)


class SweepTable(Strict):
    """The [sweep] table: what to vary, how often, and what to collect."""

    params: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, Any] = Field(default_factory=dict)
    seeds: Annotated[
        Annotated[int, Field(ge=1, le=LIMITS["seeds"])]
        | Annotated[tuple[Seed, ...], Field(min_length=1, max_length=LIMITS["seeds"])],
        BeforeValidator(_list_to_tuple),
    ] = 1
    samples: Annotated[int, Field(ge=1, le=LIMITS["tasks"])] | None = None
    sample_seed: Seed = 0
    runs: Names | None = None
    metrics: Annotated[Names, Field(min_length=1, max_length=64)]
    fit: Annotated[tuple[FitSpec, ...], BeforeValidator(_list_to_tuple)] = ()
    plot: PlotSpec = Field(default_factory=PlotSpec)


class SweepFile(Strict):
    """A whole sweep file."""

    title: Name
    description: str = ""
    scenario: Name | dict[str, Any]  # bundled name, path relative to this file, or inline table
    sweep: SweepTable
