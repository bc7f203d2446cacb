"""The pieces of the app's state that need no window: which step is shown, a restart catching up,
a scenario file being watched. Plain Python, timed by an injected clock (seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLAYBACK_SECONDS = 20.0  # a whole scenario plays in about this long at speed ×1
FPS = 60
RELOAD_POLL_SECONDS = 0.5

Clock = Callable[[], float]  # seconds, e.g. time.monotonic


@dataclass
class Playback:
    """Which step is shown and how fast it advances; `target` is a step to reach as soon as the
    worker has computed it (a caption jumped to before its step exists).

    Playback moves by frames, not by the clock: `sandbox run --frames N` shows the same steps on
    a fast and a slow machine, and a recording shows the runs at the speed the window did.
    """

    step: int = 0
    speed: float = 1.0  # steps per frame
    paused: bool = False
    carry: float = 0.0  # fractional steps owed at speeds below one step per frame
    target: int | None = None

    def advance(self, available: int) -> None:
        if self.target is not None:
            self.step = min(self.target, available)
            if self.step >= self.target:
                self.target = None
            return
        if self.paused:
            return
        self.carry += self.speed
        whole = int(self.carry)
        self.carry -= whole
        self.step = max(0, min(self.step + whole, available))

    def jump(self, step: int, available: int) -> None:
        self.step, self.carry = max(0, min(step, available)), 0.0
        self.target = step if step > available else None


def default_speed(steps: int) -> float:
    return max(steps / (PLAYBACK_SECONDS * FPS), 0.25)


@dataclass
class Pending:
    """A restarted worker catching up with step `at` while the old runs stay on screen."""

    worker: Any  # a started BackgroundWorker (or a test's stand-in)
    model: Any  # its ViewModel
    at: int
    note: str
    hidden: set[int] | None = None  # the hidden runs once it shows (a removed run shifts them)


class FileWatch:
    """Notices when a scenario file is saved (mtime or size changed); polled, no extra thread."""

    def __init__(self, path: Path | None, clock: Clock):
        self.path = path
        self.clock = clock
        self.stamp = self._stamp()
        self.next_poll = 0.0

    def _stamp(self):
        try:
            info = self.path.stat() if self.path else None
        except OSError:
            return None
        return info and (info.st_mtime_ns, info.st_size)

    def changed(self) -> bool:
        now = self.clock()
        if self.path is None or now < self.next_poll:
            return False
        self.next_poll = now + RELOAD_POLL_SECONDS
        stamp = self._stamp()
        if stamp is None or stamp == self.stamp:
            return False
        self.stamp = stamp
        return True
