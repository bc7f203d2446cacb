"""The torch-free messages of a scenario's stream (`sandbox.pipeline.stream`).

The window's background worker sends them across a process boundary; a replay writes them and
keeps them for frames and videos. Each holds numbers and arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.trace.records import Step, SurfaceSample


@dataclass(frozen=True)
class Surface:
    """A new height field for the view; `refined` is False for the quick first draft."""

    sample: SurfaceSample
    refined: bool


@dataclass(frozen=True)
class Steps:
    """The next records of run number `run` (index into scenario.runs)."""

    run: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Finished:
    """Every run has ended (completed or diverged)."""


@dataclass(frozen=True)
class Failed:
    """The worker raised; the app shows `message` and offers a restart."""

    message: str


@dataclass(frozen=True)
class Panel:
    """The fixed arrays of one declared panel (sandbox/instruments.py), e.g. the data."""

    name: str
    arrays: dict


Message = Surface | Panel | Steps | Finished | Failed
