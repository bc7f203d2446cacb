"""The pipeline from a scenario to its records: one path for replays, the window, frames, sweeps
and benchmarks.

`prepare(scenario)` (`sandbox.pipeline.prepare`) builds the finished problem: a network's slice
plane is chosen there, training the runs first when the plane depends on where they go (PCA,
Hessian at the final weights, mode connectivity). `steps(prepared, run)` then yields one run's
records, and `stream(prepared)` (`sandbox.pipeline.stream`) the surfaces and every run's records
as the torch-free messages of `sandbox.pipeline.messages`, which the window's worker sends and a
replay writes.

This module imports nothing itself, so that the window (which must not load torch) can import
the messages.
"""
