"""Background worker: a scenario's runs and surfaces computed in a separate process.

`scenario_stream` is a plain generator of torch-free messages (surfaces, batches of step records:
`sandbox.pipeline.stream`); tests iterate it directly. `BackgroundWorker` runs it in a spawned
process and hands messages to the app through a bounded queue: the worker blocks when the app
falls behind (so memory stays bounded), the app never blocks on the worker (it only drains what
is there). A process, not a thread: torch next to a GUI thread crawls (DESIGN.md, "Measured
here").
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Iterator

from sandbox.pipeline.messages import Failed, Finished, Message, Panel, Steps, Surface
from sandbox.scenario.schema import Scenario

PUMP_POLL_SECONDS = 0.1  # how often the message pump looks whether it is being closed
DEATH_GRACE_SECONDS = 1.0  # a dead worker's unread bytes this long after: a cut-off message
WORKER_NICENESS = 3  # added to the app's own (Linux and macOS): ~1/3 of a shared core

__all__ = ["Failed", "Finished", "Message", "Panel", "Steps", "Surface", "scenario_stream"]


def scenario_stream(
    scenario: Scenario, batch: int = 64, moving_every: int = 50
) -> Iterator[Message]:
    """The scenario's messages (`sandbox.pipeline.stream`): surfaces first (coarse, then
    refined), the declared panels' fixed arrays, then every run's steps, interleaved in batches,
    each record with its update taken apart (the anatomy arrows and step panel draw them).
    torch is imported here, in the worker's process, not when the window imports this module."""
    from sandbox.pipeline.prepare import prepare
    from sandbox.pipeline.stream import stream

    yield from stream(prepare(scenario), batch, moving_every, anatomy=True)


def _worker_main(jobs: mp.Queue, messages: mp.Queue, stop) -> None:
    """The process: torch imported first, then the scenario awaited. A spare started before it
    is needed (`Spares`) has the import (seconds on a laptop) behind it when an edit arrives."""
    import torch

    import sandbox.pipeline.prepare  # noqa: F401 - the slow imports, before the scenario comes
    import sandbox.pipeline.stream  # noqa: F401

    torch.set_num_threads(1)  # leave the other core to the render loop
    _below_the_window()
    while not stop.is_set():
        try:
            scenario = jobs.get(timeout=PUMP_POLL_SECONDS)
        except queue.Empty:
            continue
        _compute(scenario, messages, stop)
        return


def _compute(scenario: Scenario, messages: mp.Queue, stop) -> None:
    try:
        for message in scenario_stream(scenario):
            while not stop.is_set():
                try:
                    messages.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message for the window
        messages.put(Failed(f"{type(exc).__name__}: {exc}"))


def _below_the_window() -> None:
    """A little below the window, not under everything: an ordinary niceness, so that on a
    2-core laptop where a browser or a video call keeps one core busy the runs still advance.
    (SCHED_IDLE, used before, gave the worker only the cycles nothing else wanted: with one busy
    program and the render loop drawing, training got almost none, and rastrigin, two_weight_net
    and init_gain_1 showed "starting…" for two minutes.) The render loop in turn caps its rate
    and stops drawing while nothing changes (`App.frame`), which is what leaves it the cycles."""
    if hasattr(os, "nice") and WORKER_NICENESS:
        os.nice(WORKER_NICENESS)


class BackgroundWorker:
    """A scenario computed in a spawned process; the app polls `drain()` once per frame.

    A thread moves whole messages from the process's queue to a local one: reading a message
    that the process was killed in the middle of sending (a surface is ~100 kB) blocks until
    bytes that will never come arrive, and that must block the thread, never the window.
    """

    def __init__(self, scenario: Scenario | None = None, maxsize: int = 64):
        context = mp.get_context("spawn")
        self.messages = context.Queue(maxsize)
        self.jobs = context.Queue(1)
        self.stop_event = context.Event()
        self.process = context.Process(
            target=_worker_main, args=(self.jobs, self.messages, self.stop_event), daemon=True
        )
        self.scenario = scenario
        self.finished = False
        self._ready: queue.Queue = queue.Queue(maxsize)  # whole messages, for `drain`
        self._closing = threading.Event()
        self._pump = threading.Thread(target=self._pump_messages, daemon=True)
        self._dead_since: float | None = None

    def start(self) -> BackgroundWorker:
        """Start the process (and, given a scenario, its computation)."""
        self.process.start()
        self._pump.start()
        if self.scenario is not None:
            self.jobs.put(self.scenario)
        return self

    def assign(self, scenario: Scenario) -> BackgroundWorker:
        """Compute `scenario` in this started spare."""
        self.scenario = scenario
        self.jobs.put(scenario)
        return self

    def _pump_messages(self) -> None:
        """Move messages to `_ready` as they arrive; the bounded queues keep the back-pressure
        (the process waits when the app falls behind)."""
        while not self._closing.is_set():
            try:
                message = self.messages.get(timeout=PUMP_POLL_SECONDS)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue was closed under us
                return
            while not self._closing.is_set():
                try:
                    self._ready.put(message, timeout=PUMP_POLL_SECONDS)
                    break
                except queue.Full:
                    continue

    def drain(self, limit: int = 64) -> list[Message]:
        """Whatever messages are ready now (at most `limit`); never waits."""
        ready: list[Message] = []
        while len(ready) < limit:
            try:
                ready.append(self._ready.get_nowait())
            except queue.Empty:
                break
        self.finished = self.finished or any(isinstance(m, Finished | Failed) for m in ready)
        return ready

    def died(self) -> str | None:
        """A message if the process ended without finishing (killed, crashed), else None: once
        the app has drained what it sent before it ended, or DEATH_GRACE_SECONDS after its end
        when what is left in the pipe is a message cut off by its death."""
        if self.finished or self.process.is_alive() or self.process.exitcode is None:
            return None
        now = time.monotonic()
        self._dead_since = self._dead_since or now
        if not self._ready.empty():
            return None
        if not self.messages.empty() and now - self._dead_since < DEATH_GRACE_SECONDS:
            return None
        return f"the background worker stopped unexpectedly (exit code {self.process.exitcode})"

    def close(self, timeout: float = 2.0) -> None:
        """Stop the process and wait for it; kill it if it does not stop in time."""
        self.stop_event.set()
        self._closing.set()
        if self.process.pid is None:
            return
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self._pump.join(2 * PUMP_POLL_SECONDS)  # a pump stuck on a cut-off message is a daemon
        for channel in (self.messages, self.jobs):
            channel.cancel_join_thread()
            channel.close()


class Spares:
    """A worker factory that keeps one started process waiting for its scenario: an edit, a
    restart or a dropped ball starts computing at once instead of after a process start and
    torch's import (1-2 s on a laptop, more on a busy one). The next spare starts as soon as
    one is taken."""

    def __init__(self):
        self.spare: BackgroundWorker | None = None

    def __call__(self, scenario: Scenario) -> BackgroundWorker:
        spare, self.spare = self.spare, None
        if spare is None or not spare.process.is_alive():
            if spare is not None:
                spare.close()
            spare = BackgroundWorker().start()
        spare.assign(scenario)
        self.spare = BackgroundWorker().start()
        return spare

    def close(self) -> None:
        if self.spare is not None:
            self.spare.close()
            self.spare = None
