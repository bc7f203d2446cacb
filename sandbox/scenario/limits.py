"""Hard limits on what one scenario may ask for, in one table (documented in docs/scenarios.md).

The schema's field bounds, the rules and the cost estimate (sandbox/scenario/budget.py) read them
from here; `sandbox.scenario.schema.LIMITS` is the same table.
"""

LIMITS = {
    "steps": 10_000_000,
    "runs": 16,
    "timeline": 1_000,
    "resolution": 513,
    "data_n": 100_000,
    "width": 1_024,
    "channels": 256,  # a cnn's channels per layer
    "conv_layers": 8,
    "layers": 64,
    "parameters": 1_000_000,
    "newton_parameters": 2_000,
    "connect_steps": 100_000,
    "plots": 6,  # [view] plots: more would be too narrow to read in the timeline window
    # Values beyond these only overflow float32 (a gain of 1e20 makes the weights' norms inf);
    # what they would show is already visible well inside them.
    "gain": 100,
    "weight_decay": 1e6,
    "damping": 1e6,
    "coordinate": 1e6,  # |bounds|, |start|, slice span: the renderer works in float32
    "min_width": 1e-6,  # an axis narrower than this (relative to 1) collapses in float32
    # Text: the app draws these (a 10 MB title once took 6 GB to lay out).
    "name": 80,  # characters; the file-safe name is at most as many bytes of UTF-8
    "title": 200,
    "caption": 500,
    "description": 4_000,
    # Resource budgets for the cost estimate of sandbox/scenario/budget.py.
    "memory_bytes": 2 * 2**30,
    "work_flops": 6 * 10**12,
}
