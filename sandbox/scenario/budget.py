"""What a scenario will cost to run, estimated from its numbers alone, against documented budgets.

The model, for a network with P parameters, widths w₀ … w_L, U = w₁ + … + w_L units per sample
(every value float32, 4 bytes), n data points and b samples per step (batch_size, else n):

Memory (peak; the Python process with torch, ~250 MB, comes on top):
- weights and the vectors of their size (θ, gradient, optimiser state, slice plane): 64·P bytes;
- data: 16 bytes per coordinate, 32·n·dim for ``low_rank`` (made in float64, then converted);
- the largest of these phases:
  - a training step's autograd graph: 3 × b·U·4 (measured 2.7-3.8×), at least n·U·4 for the
    full-data loss and activation norms;
  - a Hessian-vector product graph (sharpness, Hessian slice, ``diag`` on a network):
    16 × n·U·4 (measured 14-21×);
  - ``newton`` on a network: its Hessian is vectorised, P graphs at once: 4 × P·n·U·4
    (measured 3.3-5.8×) and 3·P²·4 for the Hessian and its eigenvectors;
  - ``pca`` slice: the snapshots, 2 × runs × (≤ 514) × P·4 (kept, then stacked);
  - ``connect``: the Bézier fit's graph on 8 points of the curve, 3 × 8·n·U·4;
  - a surface chunk: 2 × 16 points × min(n, 1024)·U·4.

A cnn (``kind = "cnn"``) counts the same way with U its layers' output values per sample
(`sandbox.catalogue.convnets`) and M its multiply-adds per sample in place of P in the work
below: its filters are reused at every pixel, so M is many times P.

Work (floating-point operations; one forward pass costs 2·P per sample):
- a training step: 6·b·P (twice for ``sam``: a second gradient at its ascent point), plus
  2·n·P for the full-data loss when b < n or with dropout;
- a sharpness estimate (20 Lanczos steps): 21 Hessian-vector products of 8·n·P each;
- ``diag`` on a network: 5 such products per step; ``newton`` on a network: 100·n·P² per step
  (P vectorised products, measured 10× slower than the same products one by one) + 5·P³ (eigh);
- the slice: ``pca`` trains every run once more, ``hessian`` 30 products (+ the first run once
  more for ``center = "final"``), ``connect`` its two runs once more + 8 × 6·n·P per fit step;
- surfaces (the app, ``--frames``): 2·min(n, 1024)·P per grid point, (17² + resolution²) points,
  and 33² more every 64 steps for ``center = "moving"``.

Analytic surfaces cost next to nothing per step; their time is Python's per-step overhead
(~4-5k steps/s), bounded by the `steps` limit, not here.

Budgets (`LIMITS`): 2 GiB of memory, and 6·10¹² operations: about 10 minutes at the ~10 GFLOP/s
that one core of a laptop-class CPU sustains on these small matrix products (replays use one
torch thread). Measured on this project's 2-core test machine: training steps ran at 8-15 GFLOP/s
by this count, Hessian-vector products at 6-13, vectorised Newton at about 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from sandbox.catalogue.convnets import IMAGE_SHAPES, cnn_macs, cnn_parameters, cnn_units
from sandbox.catalogue.networks import input_dim_of, n_classes_of, n_rows_of
from sandbox.scenario.schema import (
    LIMITS,
    DataSpec,
    ModelSpec,
    NetworkLandscape,
    Run,
    Scenario,
)

FLOAT = 4  # bytes: networks are float32
EVAL_POINTS = 1024  # as sandbox.landscape.sampling: a surface's evaluation batch
SURFACE_CHUNK = 16  # as sandbox.landscape.slicing.surface_grid
LANCZOS_STEPS = 20  # as sandbox.optim.sharpness.top_eigenvalue
# As sandbox.optim.spectrum (torch-free here: the counts are repeated, a test compares them).
TRACE_PRODUCTS, SLQ_PROBES, SLQ_STEPS = 60, 4, 30
HESSIAN_SLICE_STEPS = 30  # as sandbox.pipeline.slices.hessian_directions
MAX_SNAPSHOTS = 512  # as sandbox.pipeline.slices
CONNECT_POINTS = 8  # as sandbox.landscape.connect.T_SAMPLES
FLOPS_PER_SECOND = 1e10  # one laptop core on these products (see the docstring)


def count_parameters(model: ModelSpec, data: DataSpec | None = None) -> int:
    """Parameters of the network a ModelSpec describes, without building it (cheap for any size).
    A cnn's head depends on its data (image size, classes), so it needs ``data``."""
    if model.kind == "cnn":
        return cnn_parameters(*_cnn_shape(model, data))
    if model.kind == "module":  # counted when it was handed over
        return model.user.n_params
    widths = model.widths
    linear = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    batchnorm = 2 * sum(widths[1:-1]) if model.batchnorm else 0
    return linear + batchnorm


def _cnn_shape(model: ModelSpec, data: DataSpec | None) -> tuple:
    if data is None:
        raise ValueError("a cnn's size depends on its data: pass the DataSpec")
    return model.channels, IMAGE_SHAPES[data.name], model.pool, n_classes_of(data)


@dataclass(frozen=True)
class Part:
    """One contribution to the cost: the key that controls it, what it is, its memory and work."""

    path: tuple
    what: str
    memory_bytes: float = 0.0
    work_flops: float = 0.0
    advice: str = ""


@dataclass(frozen=True)
class Cost:
    """A scenario's estimated peak memory and total work, and the parts they come from."""

    memory_bytes: float
    work_flops: float
    parts: tuple[Part, ...]

    @property
    def seconds(self) -> float:
        """The work at FLOPS_PER_SECOND."""
        return self.work_flops / FLOPS_PER_SECOND


def estimate(scenario: Scenario) -> Cost:
    """The cost model of the module docstring, for a validated scenario."""
    land = scenario.landscape
    if not isinstance(land, NetworkLandscape):
        return Cost(0.0, 0.0, ())
    net = _Network(scenario, land)
    parts = (net.fixed(), *net.phases())
    peak = parts[0].memory_bytes + max(p.memory_bytes for p in parts[1:])
    return Cost(peak, sum(p.work_flops for p in parts), parts)


def budget_problems(scenario: Scenario) -> Iterator[tuple[tuple, str]]:
    """(key path, reason) when the estimate exceeds a budget, naming the largest part."""
    cost = estimate(scenario)
    if cost.memory_bytes > LIMITS["memory_bytes"]:
        part = max(cost.parts[1:], key=lambda p: p.memory_bytes)
        yield (
            part.path,
            (
                f"needs about {_bytes(cost.memory_bytes)} of memory ({part.what}: "
                f"{_bytes(part.memory_bytes)}); the budget is {_bytes(LIMITS['memory_bytes'])}: "
                f"{part.advice}"
            ),
        )
    if cost.work_flops > LIMITS["work_flops"]:
        part = max(cost.parts, key=lambda p: p.work_flops)
        yield (
            part.path,
            (
                f"needs about {cost.work_flops:.1e} floating-point operations, "
                f"~{_duration(cost.seconds)} on one laptop core ({part.what}: "
                f"{part.work_flops:.1e}); the budget is {LIMITS['work_flops']:.0e}, "
                f"~{_duration(LIMITS['work_flops'] / FLOPS_PER_SECOND)}: {part.advice}"
            ),
        )


class _Network:
    """The sizes the model needs, and its parts, for one network scenario."""

    def __init__(self, scenario: Scenario, land: NetworkLandscape):
        self.scenario, self.land = scenario, land
        self.p = count_parameters(land.model, land.data)
        self.n = n_rows_of(land.data)
        if land.model.kind == "cnn":
            shape = _cnn_shape(land.model, land.data)
            self.units, self.macs = cnn_units(*shape), cnn_macs(*shape)
        elif land.model.kind == "module":  # measured on one sample when it was handed over
            self.units, self.macs = land.model.user.units, land.model.user.macs
        else:
            self.units, self.macs = sum(land.model.widths[1:]), self.p
        self.shape = f"{self.p:,} parameters"

    def fixed(self) -> Part:
        data = self.land.data
        per_point = 32 * data.dim if data.name == "low_rank" else 16 * (input_dim_of(data) + 1)
        return Part(("landscape",), "weights and data", 64 * self.p + per_point * self.n)

    def batch(self, run: Run) -> int:
        """The most samples one of the run's steps sees (the timeline may change batch_size)."""
        sizes = [run.batch_size] + [
            e.set.batch_size
            for e in self.scenario.timeline
            if e.set is not None and e.set.run == run.name and e.set.batch_size is not None
        ]
        return self.n if None in sizes else min(self.n, max(s for s in sizes if s is not None))

    def step_flops(self, run: Run) -> float:
        """One training step's gradient (and full-data loss), without preconditioning."""
        b = self.batch(run)
        full = b < self.n or self.land.model.dropout > 0
        gradients = 2 if run.optimizer == "sam" else 1
        return gradients * 6 * b * self.macs + (2 * self.n * self.macs if full else 0)

    def precondition_flops(self, run: Run) -> float:
        """One step's preconditioning."""
        if run.optimizer == "newton" or run.precondition == "newton":
            return 100 * self.n * self.p**2 + 5 * self.p**3
        return 5 * self.hvp() if run.precondition == "diag" else 0.0

    def hvp(self) -> float:
        return 8 * self.n * self.macs

    def graph(self, samples: float, factor: float) -> float:
        return factor * samples * self.units * FLOAT

    def draft_resolution(self) -> int:
        """See the module-level `draft_resolution`."""
        point = 2 * min(self.n, EVAL_POINTS) * self.macs
        fits = math.isqrt(int(FLOPS_PER_SECOND * DRAFT_SECONDS / point))
        return max(DRAFT_COARSEST, min(DRAFT_FINEST, fits))

    def phases(self) -> Iterator[Part]:
        scenario, steps = self.scenario, self.scenario.steps
        for i, run in enumerate(scenario.runs):
            here = ("runs", i)
            b = self.batch(run)
            yield Part(
                ("landscape", "model", "widths"),
                f"the training of run {run.name!r}, {b:,} samples × {self.units:,} units a step",
                max(self.graph(b, 3), self.graph(self.n, 1)),
                steps * self.step_flops(run),
                "lower data.n or the widths" + ("" if run.batch_size else ", or set a batch_size"),
            )
            newton = run.optimizer == "newton" or run.precondition == "newton"
            if newton:
                key = "optimizer" if run.optimizer == "newton" else "precondition"
                yield Part(
                    (*here, key),
                    f"the Newton Hessian of run {run.name!r}, {self.p:,} parameters × "
                    f"{self.n:,} samples × {self.units:,} units every step",
                    4 * self.p * self.graph(self.n, 1) + 3 * self.p**2 * FLOAT,
                    steps * self.precondition_flops(run),
                    "use a smaller network or data.n, or another optimizer",
                )
            if run.precondition == "diag":
                yield Part(
                    (*here, "precondition"),
                    f"the diagonal preconditioner of run {run.name!r}, Hessian-vector products",
                    self.graph(self.n, 16),
                    steps * self.precondition_flops(run),
                    "lower data.n or the widths",
                )
            if run.sharpness_every:
                count = steps // run.sharpness_every + 1
                yield Part(
                    (*here, "sharpness_every"),
                    f"the {count:,} sharpness estimates of run {run.name!r}, "
                    f"{LANCZOS_STEPS + 1} Hessian-vector products each on {self.n:,} samples × "
                    f"{self.shape}",
                    self.graph(self.n, 16),
                    count * (LANCZOS_STEPS + 1) * self.hvp(),
                    "raise sharpness_every, or lower steps, data.n or the widths",
                )
            for key, products, what in (
                ("trace_every", TRACE_PRODUCTS, "trace"),
                ("density_every", SLQ_PROBES * SLQ_STEPS, "spectral density"),
            ):
                if getattr(run, key):
                    count = steps // getattr(run, key) + 1
                    yield Part(
                        (*here, key),
                        f"the {count:,} Hessian {what} estimates of run {run.name!r}, "
                        f"{products} Hessian-vector products each on {self.n:,} samples × "
                        f"{self.shape}",
                        self.graph(self.n, 16),
                        count * products * self.hvp(),
                        f"raise {key}, or lower steps, data.n or the widths",
                    )
        yield from self.slice_parts()

    def slice_parts(self) -> Iterator[Part]:
        spec, runs, steps = self.land.slice, self.scenario.runs, self.scenario.steps
        here = ("landscape", "slice")
        # A pre-pass replays runs without sharpness estimates, but with their preconditioning.
        train = {
            run.name: steps * (self.step_flops(run) + self.precondition_flops(run)) for run in runs
        }
        if spec.directions == "pca":
            stride = -(-(steps + 1) // MAX_SNAPSHOTS)
            snapshots = len(runs) * (-(-(steps + 1) // stride) + 1)
            yield Part(
                (*here, "directions"),
                f"the PCA slice's {snapshots:,} weight snapshots of {self.shape}",
                2 * snapshots * self.p * FLOAT,
                sum(train.values()),
                "use fewer runs or a smaller network, or other directions",
            )
        elif spec.directions == "hessian":
            again = train[runs[0].name] if spec.center == "final" else 0.0
            yield Part(
                (*here, "directions"),
                "the Hessian slice's eigenvectors",
                self.graph(self.n, 16),
                HESSIAN_SLICE_STEPS * self.hvp() + again,
                "lower data.n or the widths",
            )
        elif spec.directions == "connect" and spec.connect is not None:
            again = sum(train.get(name, 0.0) for name in spec.connect)
            yield Part(
                (*here, "connect_steps"),
                f"the mode-connectivity fit, {spec.connect_steps:,} steps on {CONNECT_POINTS} "
                "points of the curve, and its two runs",
                self.graph(CONNECT_POINTS * self.n, 3),
                again + spec.connect_steps * CONNECT_POINTS * 6 * self.n * self.macs,
                "lower connect_steps, data.n or the widths",
            )
        points = self.draft_resolution() ** 2 + spec.resolution**2
        if spec.center == "moving":
            points += -(-steps // 64) * 33**2
        evaluated = min(self.n, EVAL_POINTS)
        yield Part(
            (*here, "resolution"),
            f"the surface, {points:,} grid points × {evaluated:,} samples × {self.shape}",
            2 * SURFACE_CHUNK * evaluated * self.units * FLOAT,
            points * 2 * evaluated * self.macs,
            "lower the resolution or the widths",
        )


# The coarse draft surface a network's view shows first, before the refined one: as fine as fits
# in about DRAFT_SECONDS at FLOPS_PER_SECOND, between these two resolutions.
DRAFT_SECONDS, DRAFT_FINEST, DRAFT_COARSEST = 1.0, 17, 5


def draft_resolution(scenario: Scenario) -> int:
    """The draft surface's resolution: 17 for the small networks, fewer points where one costs
    so much that 17² would leave the view blank for seconds (a ~100k-parameter cnn on 1,024
    digits: 1.75·10⁹ operations a point, 5² points; measured 44 ms a point, 1.1 s)."""
    return _Network(scenario, scenario.landscape).draft_resolution()


def _bytes(value: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} bytes"


def _duration(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"
