"""Progress for logs: when stderr is not a terminal (CI, a redirected file, a notebook), a
progress bar's carriage returns pile up into one unreadable line, and a long replay said
nothing for minutes. `LogLines` writes one plain line every LOG_SECONDS instead, and a last
one when done. `progress_bar` picks between the two for every long command (replays, frames,
videos, bench, sweeps): one mechanism, the same lines everywhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

LOG_SECONDS = 10.0

T = TypeVar("T")


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
        initial: int = 0,
    ):
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.clock = clock
        self.start = self.last = clock()
        self.n = initial  # done before this start (a sweep's cached tasks)

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


class NoProgress:
    """What `progress_bar` gives when progress is off (--quiet)."""

    n = 0

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, label: str, unit: str = "steps", *, enabled=True, initial=0):
    """A tqdm bar on a terminal, `LogLines` where stderr is a log, nothing when not `enabled`;
    each has `update(n)` and `close()`. `unit` is plural ("steps", "frames", "tasks")."""
    if not enabled:
        return NoProgress()
    if not sys.stderr.isatty():
        return LogLines(total, label, unit, initial=initial)
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=label,
        unit=unit.removesuffix("s"),
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )


def counted(items: Iterable[T], bar) -> Iterator[T]:
    """`items`, counting each one on `bar` once the consumer asks for the next (so a frame is
    counted when it has been drawn), and closing `bar` at the end."""
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
