"""Progress for logs: when stderr is not a terminal (CI, a redirected file, a notebook), a
progress bar's carriage returns pile up into one unreadable line, and a long replay said
nothing for minutes. `LogLines` writes one plain line every LOG_SECONDS instead, and a last
one when done."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

LOG_SECONDS = 10.0


class LogLines:
    """`update(n)` / `close()` as a tqdm bar has them; lines like
    "replay: 12,000 of 60,000 steps (20 %), 31 s"."""

    def __init__(
        self,
        total: int,
        label: str,
        unit: str = "steps",
        stream=None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.clock = clock
        self.start = self.last = clock()
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= LOG_SECONDS:
            self.last = now
            self._line(now)

    def close(self) -> None:
        """The last line: how many in how long (a run that diverged ends early: no "of")."""
        elapsed = self.clock() - self.start
        print(
            f"{self.label}: {self.n:,} {self.unit} in {elapsed:.0f} s", file=self.stream, flush=True
        )

    def _line(self, now: float) -> None:
        share = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        done = f"{self.n:,} of {self.total:,} {self.unit}{share}"
        print(f"{self.label}: {done}, {now - self.start:.0f} s", file=self.stream, flush=True)
