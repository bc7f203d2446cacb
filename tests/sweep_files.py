"""Small sweep files over the bundled saddle scenario, shared by the sweep tests."""

from __future__ import annotations

from pathlib import Path

from sandbox.sweep.spec import load_sweep

SMALL = """
title = "Saddle, lr x noise"
scenario = "saddle"

[sweep]
seeds = [0, 1, 2]
metrics = ["final_loss", "min_loss", "diverged", "diverged_at", "steps_done", "final_x",
           "final_y", "steps_to(0.5)", "loss_at(10)", "mean_loss_last(20)", "loss_ratio"]

[sweep.set]
steps = 200

[sweep.params]
"runs.*.lr" = [0.02, 0.05]
"runs.1.noise" = [0.1, 0.3]

[sweep.plot]
metrics = ["final_loss", "diverged"]
"""


def small_sweep(folder: Path):
    path = folder / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return load_sweep(path)


TINY = """
title = "tiny"
scenario = "saddle"

[sweep]
metrics = ["{metric}"]

[sweep.set]
steps = 20
timeline = []

[sweep.params]
"runs.*.lr" = [0.01, 0.02]
"""


def tiny_sweep(folder: Path, metric: str = "final_loss"):
    path = folder / f"tiny_{metric}.toml"
    path.write_text(TINY.format(metric=metric), encoding="utf-8")
    return load_sweep(path)
