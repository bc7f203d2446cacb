"""The scenario file's schema: strict, frozen pydantic models (see docs/scenarios.md).

Strict mode matters: lax pydantic would turn ``steps = "300"`` into 300 without a word. Every
model forbids unknown keys, so a typo such as ``learning_rate`` is an error, not a silent default.
Resource limits (``LIMITS``) keep a scenario from asking for more than a laptop can give.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sandbox.catalogue import optimizers, surfaces
from sandbox.catalogue.convnets import POOLS
from sandbox.catalogue.networks import (
    ACTIVATIONS,
    DATASETS,
    GIVEN_LOSS,
    INITS,
    LOSSES,
    MODEL_KINDS,
)
from sandbox.instruments import NAMES as INSTRUMENT_NAMES
from sandbox.scenario import datafile, handover
from sandbox.scenario.limits import LIMITS

# Names from the catalogues (sandbox/catalogue/): adding one there adds it here.
SURFACE_NAMES = surfaces.NAMES
OPTIMIZERS = optimizers.NAMES


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number (no nan or inf)")
    return value


def _list_to_tuple(value: Any) -> Any:
    # TOML arrays arrive as lists; frozen models hold tuples. Only the container is converted:
    # the items are still checked strictly.
    return tuple(value) if isinstance(value, list) else value


Finite = Annotated[float, AfterValidator(_finite)]
Positive = Annotated[Finite, Field(gt=0)]
NonNegative = Annotated[Finite, Field(ge=0)]
# torch.Generator takes seeds below 2**64; 2**63 keeps them a signed 64-bit integer everywhere
# (numpy, JSON readers). Derived seeds are reduced modulo 2**63 (sandbox.optim.run.run_seed).
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
Coordinate = Annotated[Finite, Field(ge=-LIMITS["coordinate"], le=LIMITS["coordinate"])]
Pair = Annotated[tuple[Coordinate, Coordinate], BeforeValidator(_list_to_tuple)]
Matrix2 = Annotated[tuple[Pair, Pair], BeforeValidator(_list_to_tuple)]


def _at_most(limit: int, what: str):
    """A list's length limit, reported at its first item beyond the limit: that item has a line
    in the file (the list as a whole, an array of tables, has none)."""

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            reason = f"{len(value):,} {what}; the limit is {limit:,} (this is the first beyond it)"
            error = PydanticCustomError("too_long", reason)
            # input: the list, so the message does not repeat the item's whole text.
            raise ValidationError.from_exception_data(
                "limit", [InitErrorDetails(type=error, loc=(limit,), input=value)]
            )
        return _list_to_tuple(value)

    return check


class Strict(BaseModel):
    """Base for every scenario table: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _check_bounds(bounds: tuple[tuple[float, float], tuple[float, float]]):
    for axis, (lo, hi) in zip("xy", bounds, strict=True):
        if not lo < hi:
            raise ValueError(f"{axis} bounds must be increasing, got [{lo}, {hi}]")
        # The surface and its grid are drawn in float32: a narrower axis has too few distinct
        # coordinates to draw (and one subnormally thin divides by zero in the renderer).
        least = LIMITS["min_width"] * max(1.0, abs(lo), abs(hi))
        if hi - lo < least:
            raise ValueError(
                f"{axis} bounds [{lo}, {hi}] are too narrow to draw: the width must be at least "
                f"{least:g} ({LIMITS['min_width']:g} × the largest of 1 and |bound|)"
            )
    return bounds


Bounds = Annotated[Matrix2, AfterValidator(_check_bounds)]


class AnalyticLandscape(Strict):
    """A named closed-form surface f(x, y), or one written as a formula (surface = "formula")."""

    kind: Literal["analytic"]
    surface: Literal[SURFACE_NAMES]  # type: ignore[valid-type]
    params: dict[str, Finite] = Field(default_factory=dict)
    bounds: Bounds | None = None
    formula: str | None = None  # parsed by sandbox.catalogue.formula (scenario/rules.py checks)


class DataSpec(Strict):
    """A dataset generated in code from a seed, a bundled real one (``digits``), or one read
    from a file (`file`, see sandbox/scenario/datafile.py): exactly one of `name` and `file`.
    Nothing is downloaded."""

    name: Literal[DATASETS] | None = None  # type: ignore[valid-type]
    # An absolute path once loaded (the loader resolves it from the scenario file's folder).
    file: Annotated[str, Field(min_length=1)] | None = None
    task: Literal["classification", "regression"] | None = None  # file: else from the labels
    n: Annotated[int, Field(ge=4, le=LIMITS["data_n"])] = 256
    noise: NonNegative = 0.1
    classes: Annotated[int, Field(ge=2, le=10)] = 2
    seed: Seed | None = None
    dim: Annotated[int, Field(ge=1, le=LIMITS["width"])] = 8  # low_rank: input/output dimension
    rank: Annotated[int, Field(ge=1, le=LIMITS["width"])] = 1  # low_rank: rank of the target map
    # The file's arrays, read once at validation: they travel with the scenario (to the worker
    # too), so a run uses what was checked even if the file changes later.
    _table: datafile.Table | None = PrivateAttr(None)

    @property
    def table(self) -> datafile.Table | None:
        """The file's validated arrays (None for a generated dataset)."""
        return self._table

    @model_validator(mode="after")
    def _read_file(self) -> DataSpec:
        self._table = datafile.checked_table(self.name, self.file, self.task)
        return self


class ModelSpec(Strict):
    """A multilayer perceptron (widths from input to output), or a small convolutional network
    on image data (``kind = "cnn"``: channels per 3×3 convolution, then a Linear head to the
    classes; see `sandbox.catalogue.convnets`). Keys of the other kind are refused by the rules."""

    kind: Literal[MODEL_KINDS] = "mlp"  # type: ignore[valid-type]
    # Required for an mlp (sandbox.scenario.rules says so with the table's line).
    widths: (
        Annotated[
            tuple[Annotated[int, Field(ge=1, le=LIMITS["width"])], ...],
            BeforeValidator(_list_to_tuple),
            Field(min_length=2, max_length=LIMITS["layers"] + 1),
        ]
        | None
    ) = None
    channels: (
        Annotated[
            tuple[Annotated[int, Field(ge=1, le=LIMITS["channels"])], ...],
            BeforeValidator(_list_to_tuple),
            Field(min_length=1, max_length=LIMITS["conv_layers"]),
        ]
        | None
    ) = None
    pool: Literal[POOLS] = "none"  # type: ignore[valid-type]
    activation: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]
    skip: bool = False
    init: Literal[INITS] = "he"  # type: ignore[valid-type]
    gain: Annotated[Positive, Field(le=LIMITS["gain"])] = 1.0
    batchnorm: bool = False
    dropout: Annotated[Finite, Field(ge=0, lt=1)] = 0.0
    # kind = "module": the handle of a torch module handed over from Python (sandbox.show); the
    # module itself is attached here (`user`), never read from a file.
    module: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    _user: Any = PrivateAttr(None)

    @property
    def user(self) -> Any:
        """The handed-over module (`sandbox.landscape.module.UserModel`), or None."""
        return self._user

    @model_validator(mode="after")
    def _attach_module(self) -> ModelSpec:
        self._user = handover.handed(self.module) if self.module is not None else None
        return self


class SliceSpec(Strict):
    """Which 2D plane of parameter space the view shows and the CSV's (x, y) lie in."""

    directions: Literal["random", "pca", "hessian", "connect"] = "random"
    center: Literal["init", "final", "moving"] = "init"
    span: Annotated[Finite, Field(ge=LIMITS["min_width"], le=LIMITS["coordinate"])] = 1.0
    resolution: Annotated[int, Field(ge=3, le=LIMITS["resolution"])] = 51
    seed: Seed | None = None
    # directions = "connect" (mode connectivity): the two runs whose final weights are joined,
    # and the Adam fit of the Bézier curve's control point between them.
    connect: (
        Annotated[
            tuple[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]],
            BeforeValidator(_list_to_tuple),
        ]
        | None
    ) = None
    connect_steps: Annotated[int, Field(ge=0, le=LIMITS["connect_steps"])] = 500
    connect_lr: Annotated[Finite, Field(gt=0, le=10)] = 0.01


class NetworkLandscape(Strict):
    """A small real network trained on generated data; the view is a 2D slice of its loss."""

    kind: Literal["network"]
    loss: Literal[(*LOSSES, GIVEN_LOSS)]  # type: ignore[valid-type]
    data: DataSpec
    model: ModelSpec
    slice: SliceSpec = Field(default_factory=SliceSpec)


class Schedule(Strict):
    """Learning-rate schedule: a factor applied to the run's lr at each step."""

    kind: Literal["constant", "step", "cosine", "warmup"] = "constant"
    every: Annotated[int, Field(ge=1)] = 100  # step: multiply by gamma every `every` steps
    gamma: Annotated[Finite, Field(gt=0, le=1)] = 0.5
    warmup: Annotated[int, Field(ge=0)] = 0  # linear ramp from 0 over this many steps
    min_factor: Annotated[Finite, Field(ge=0, le=1)] = 0.0  # cosine floor


def _schedule_from_name(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


def _check_precondition(value: Any) -> Any:
    # One clear message instead of pydantic's per-union-member errors.
    if value in optimizers.PRECONDITIONERS:
        return value
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(row, list) and len(row) == 2 for row in value)
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for row in value
            for v in row
        )
    )
    if not ok:
        names = ", ".join(f'"{name}"' for name in optimizers.PRECONDITIONERS)
        raise ValueError(f"must be {names} or a 2x2 matrix [[a, b], [c, d]] of numbers")
    return tuple(tuple(float(v) for v in row) for row in value)


Precondition = Annotated[Any, BeforeValidator(_check_precondition)]
WeightDecay = Annotated[NonNegative, Field(le=LIMITS["weight_decay"])]


class Run(Strict):
    """One optimiser run on the scenario's landscape."""

    # Length and characters (file names, the app's font) are checked by rules.raw_problems.
    name: Annotated[str, Field(min_length=1)]
    optimizer: Literal[OPTIMIZERS]  # type: ignore[valid-type]
    lr: Annotated[Finite, Field(gt=0, le=1e12)]
    momentum: Annotated[Finite, Field(ge=0, lt=1)] | None = None
    dampening: Annotated[Finite, Field(ge=0, le=1)] = 0.0
    # sam's ascent radius (sandbox/optim/extra.py); 0 makes sam its base SGD.
    rho: Annotated[Finite, Field(ge=0, le=LIMITS["coordinate"])] = 0.05
    alpha: Annotated[Finite, Field(gt=0, lt=1)] = 0.99
    # None: the optimiser's own default (the catalogue's; adam's and lion's differ).
    betas: (
        Annotated[
            tuple[Annotated[Finite, Field(ge=0, lt=1)], Annotated[Finite, Field(ge=0, lt=1)]],
            BeforeValidator(_list_to_tuple),
        ]
        | None
    ) = None
    eps: Positive = 1e-8
    weight_decay: WeightDecay = 0.0
    noise: NonNegative = 0.0
    batch_size: Annotated[int, Field(ge=1)] | None = None
    precondition: Precondition = "none"
    damping: Annotated[Positive, Field(le=LIMITS["damping"])] = 1e-3
    clip: Positive | None = None
    schedule: Annotated[Schedule, BeforeValidator(_schedule_from_name)] = Field(
        default_factory=Schedule
    )
    start: Pair | None = None
    init_seed: Seed | None = None
    sharpness_every: Annotated[int, Field(ge=0)] = 0
    trace_every: Annotated[int, Field(ge=0)] = 0
    density_every: Annotated[int, Field(ge=0)] = 0
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None


class Change(Strict):
    """A timeline change of one run's hyper-parameters, from its step on."""

    run: str
    lr: Annotated[Finite, Field(gt=0, le=1e12)] | None = None
    momentum: Annotated[Finite, Field(ge=0, lt=1)] | None = None
    noise: NonNegative | None = None
    weight_decay: WeightDecay | None = None
    clip: Positive | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None
    eps: Positive | None = None


class TimelineEvent(Strict):
    """Something that happens at a step: a caption, and optionally a hyper-parameter change."""

    at: Annotated[int, Field(ge=0)]
    caption: str = ""
    set: Change | None = None


# Themes group scenarios in `sandbox list` and the app's picker, in this order.
THEMES = (
    "step size",
    "terrain",
    "adaptive steps",
    "depth",
    "noise and regularisation",
    "implicit bias",
    "paths between solutions",
    "challenges",
)


class View(Strict):
    """What the app's timeline window shows: plots from the catalogue (sandbox/instruments.py),
    in order. Without [view], the default set (loss, λmax when measured, gradient, distance)."""

    plots: Annotated[
        tuple[Literal[INSTRUMENT_NAMES], ...],  # type: ignore[valid-type]
        BeforeValidator(_list_to_tuple),
        Field(min_length=1, max_length=LIMITS["plots"]),
    ]


GOALS = ("loss_below", "escape", "end_near", "beat")  # sandbox/trace/challenge.py grades them


class Challenge(Strict):
    """A goal for one run (docs/scenarios.md, Challenges): met or missed by step `within`.

    Which keys each goal needs, and that `run`, `rival` and `unlocks` name real runs and run
    keys, is checked by sandbox/scenario/rules.py."""

    goal: Literal[GOALS]  # type: ignore[valid-type]
    run: Annotated[str, Field(min_length=1)] | None = None  # the graded run; default: the first
    within: Annotated[int, Field(ge=1)] | None = None  # the deadline step; default: steps
    loss: Positive | None = None  # loss_below: the loss to get under
    point: Pair | None = None  # escape / end_near: the point (plane coordinates)
    radius: Positive | None = None  # escape / end_near: how far from it
    place: Annotated[str, Field(min_length=1, max_length=80)] | None = None  # the point's name
    rival: Annotated[str, Field(min_length=1)] | None = None  # beat: the run to beat
    unlocks: Annotated[  # at most as many as there are run keys (checked by name in rules)
        tuple[Annotated[str, Field(min_length=1, max_length=40)], ...],
        BeforeValidator(_list_to_tuple),
        Field(max_length=len(Run.model_fields)),
    ] = ()


class Scenario(Strict):
    """A whole scenario file, validated."""

    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    theme: Literal[THEMES] | None = None  # type: ignore[valid-type]
    seed: Seed = 0
    steps: Annotated[int, Field(ge=1, le=LIMITS["steps"])]
    landscape: Annotated[AnalyticLandscape | NetworkLandscape, Field(discriminator="kind")]
    runs: Annotated[
        tuple[Run, ...], BeforeValidator(_at_most(LIMITS["runs"], "runs")), Field(min_length=1)
    ]
    timeline: Annotated[
        tuple[TimelineEvent, ...], BeforeValidator(_at_most(LIMITS["timeline"], "timeline events"))
    ] = ()
    view: View | None = None
    challenge: Challenge | None = None
