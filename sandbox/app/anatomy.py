"""The anatomy of a step in the app (the `a` key): each run's updates taken apart (the records'
`Step.anatomy`), turned into the arrows at the balls, their legend key, and, while stepping one
update at a time, the numbers of that update from torch.optim's state.

All three arrows are displacements in the drawn plane: the step θ_{k+1} − θ_k at its true length,
−η∇f and −η·m scaled by the learning rate so that they compare with it (for plain GD the step
*is* −η∇f; an adaptive optimiser's step turns away from −η∇f by its per-coordinate scaling).
"""

from __future__ import annotations

import math

from sandbox.render.numbers import human
from sandbox.render.scene import ARROW_COLORS, ARROW_LABELS, Color
from sandbox.render.world import footprint_half_extent
from sandbox.trace.records import Anatomy

ANATOMY_CAPACITY = 20_000  # updates kept per run (then every second one, as the trails do)

KEY_TEXTS = ("", "momentum", "θₖ₊₁ − θₖ")
# The longest arrow is drawn at least this long in world units (the surface's longer side is 2):
# a true-length step of a small learning rate is a few pixels, hidden under its ball (saddle's
# GD at step 14: 0.05 of a 4-wide plot, ~4 px). All arrows are then magnified alike, by a power
# of two that the legend states.
MIN_ARROW_WORLD = 0.3
NETWORK_NOTE = "arrows: projected on the plane"

# How the step panel writes the numbers (`sandbox.optim.anatomy`, torch.optim's state keys):
# m is the momentum buffer or Adam's exp_avg, v the second moment (exp_avg_sq, square_avg),
# Σg² AdaGrad's sum; "scale" is the per-coordinate factor 1/(√v̂ + ε) of an adaptive optimiser.
NUMBER_NAMES = {
    "grad": "∇f",
    "update": "fed",  # ∇f after noise, clipping or a preconditioner
    "lr": "η",
    "step": "t",
    "momentum_buffer": "m",
    "exp_avg": "m",
    "exp_avg_sq": "v",
    "max_exp_avg_sq": "v max",
    "square_avg": "v",
    "grad_avg": "ḡ",
    "sum": "Σg²",
    "bias_correction": "1−β₁ᵗ, 1−β₂ᵗ",
    "preconditioner": "scale",
    "preconditioner_range": "scale min…max",
}
HEADER_NUMBERS = ("step", "lr")  # on the panel's first line
PER_LINE = 2  # numbers a line: the legend stays short enough for a 720-pixel window
SCALARS = frozenset({"lr", "step", "bias_correction", "preconditioner_range"})  # never norms


class AnatomyLog:
    """One run's updates taken apart, by step, in bounded memory: past `capacity` only every
    second (fourth, ...) step is kept, like the run's trail."""

    def __init__(self, capacity: int = ANATOMY_CAPACITY):
        self.capacity = capacity
        self.stride = 1
        self.by_step: dict[int, Anatomy] = {}

    def add(self, step: int, anatomy: Anatomy | None) -> None:
        if anatomy is None or step % self.stride:
            return
        self.by_step[step] = anatomy
        if len(self.by_step) > self.capacity:
            self.stride *= 2
            self.by_step = {k: a for k, a in self.by_step.items() if k % self.stride == 0}

    def at(self, step: int) -> Anatomy | None:
        """The update from `step` to the next, if it was kept."""
        return self.by_step.get(step)


def arrows(anatomy: Anatomy | None, factor: float = 1.0) -> tuple[tuple[float, float] | None, ...]:
    """`Trail.arrows` of one update, `factor` times their length: −η∇f, −η·m, the step."""
    if anatomy is None:
        return ()
    vectors = (anatomy.descent, anatomy.momentum, anatomy.step)
    return tuple(None if v is None else (factor * v[0], factor * v[1]) for v in vectors)


def magnification(updates: list[Anatomy], bounds) -> int:
    """The power of two that draws the longest of these updates' arrows at least
    MIN_ARROW_WORLD long on the drawn surface (1: all at their true length)."""
    (x0, x1), (y0, y1) = bounds
    half_x, half_y = footprint_half_extent(bounds)
    to_world = (2 * half_x / (x1 - x0), 2 * half_y / (y1 - y0))
    lengths = [
        math.hypot(v[0] * to_world[0], v[1] * to_world[1])
        for u in updates
        for v in arrows(u)
        if v is not None
    ]
    longest = max((n for n in lengths if math.isfinite(n)), default=0.0)
    if not longest > 0 or longest >= MIN_ARROW_WORLD:
        return 1
    return 2 ** min(math.ceil(math.log2(MIN_ARROW_WORLD / longest)), 30)


def offplane_text(anatomy: Anatomy | None) -> str:
    """ "  step 62 % off-plane" for a network update (what the drawn arrows leave out)."""
    share = None if anatomy is None else anatomy.offplane[2]
    return "" if share is None else f"  step {100 * share:.0f} % off-plane"


def key_lines(with_momentum: bool, factor: int) -> tuple[tuple[str, Color], ...]:
    """The legend's key to the arrows, each line in its arrow's colour; the last says how much
    all of them are magnified (`magnification`)."""
    lines = [
        (f"→ {label}  {text}".rstrip(), color)
        for label, text, color in zip(ARROW_LABELS, KEY_TEXTS, ARROW_COLORS, strict=True)
        if with_momentum or label != ARROW_LABELS[1]
    ]
    scale = "true length" if factor == 1 else f"all arrows ×{factor}"
    lines[-1] = (f"{lines[-1][0]}   ({scale})", lines[-1][1])
    return tuple(lines)


def panel_lines(name: str, step: int, anatomy: Anatomy, network: bool) -> tuple[str, ...]:
    """The numbers of the update from `step`, for the single-step panel, straight from
    torch.optim's state: every coordinate of a 2-parameter run, norms (‖·‖) of a network's."""
    numbers = dict(anatomy.numbers)
    header = [f"{NUMBER_NAMES[key]} {_shown(numbers[key])}" for key in HEADER_NUMBERS
              if key in numbers]  # fmt: skip
    items = []
    for key, values in anatomy.numbers:
        if key in HEADER_NUMBERS:
            continue
        symbol = NUMBER_NAMES.get(key, key)
        symbol = f"‖{symbol}‖" if network and key not in SCALARS else symbol
        items.append(f"{symbol} {_shown(values)}")
    lines = [f"{name}, update {step} → {step + 1}:  " + "  ".join(header)]
    lines += ["   ".join(items[i : i + PER_LINE]) for i in range(0, len(items), PER_LINE)]
    return tuple(lines)


def _shown(values: tuple[float, ...]) -> str:
    text = ", ".join(human(v) for v in values)
    return text if len(values) == 1 else f"({text})"
