"""Sweeps: many replays of one scenario with parameters varied, run on Dask (docs/sweeps.md).

    from sandbox.sweep import load_sweep, run_sweep
    sweep = load_sweep("scenarios/sweeps/gd_stability.toml")
    result = run_sweep(sweep, "out/")       # a 2-worker LocalCluster by default
    result.rows                              # one dict per variant × seed × run
    result.summary                           # what summary.json holds

Kept import-light: the CLI imports `sandbox.sweep.cli` for every command.
"""

from __future__ import annotations

__all__ = ["load_sweep", "parse_sweep", "run_sweep", "Sweep", "SweepResult"]


def __getattr__(name: str):
    if name in ("load_sweep", "parse_sweep", "Sweep"):
        from sandbox.sweep import spec

        return getattr(spec, name)
    if name in ("run_sweep", "SweepResult"):
        from sandbox.sweep import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'sandbox.sweep' has no attribute {name!r}")
