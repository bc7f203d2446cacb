"""Stand-ins for the app's clock and worker, so that the controller is tested in-process and
deterministically: time moves only when the test says so, and the worker computes the real
message stream in the test's own process, a few messages per frame."""

from __future__ import annotations

from itertools import islice

from sandbox.app.worker import Failed, Finished, scenario_stream


class FakeClock:
    """Seconds that pass only through `advance`."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StreamWorker:
    """`BackgroundWorker`'s interface over `scenario_stream` in this process: each `drain`
    computes the next `per_drain` messages (the whole stream is deterministic, so a restarted
    worker repeats the same steps)."""

    def __init__(self, scenario, per_drain: int = 2):
        self.stream = scenario_stream(scenario, batch=8)
        self.per_drain = per_drain
        self.finished = False
        self.closed = False
        self.death: str | None = None

    def drain(self, limit: int = 64) -> list:
        if self.closed or self.death:
            return []
        messages = list(islice(self.stream, min(self.per_drain, limit)))
        self.finished = self.finished or any(isinstance(m, Finished | Failed) for m in messages)
        return messages

    def died(self) -> str | None:
        return self.death

    def close(self) -> None:
        self.closed = True


class StreamWorkers:
    """A worker factory that keeps every worker it made (the latest last)."""

    def __init__(self, per_drain: int = 2):
        self.per_drain = per_drain
        self.made: list[StreamWorker] = []

    def __call__(self, scenario) -> StreamWorker:
        self.made.append(StreamWorker(scenario, self.per_drain))
        return self.made[-1]


# --- the app itself, headless, in this process ------------------------------------------------


class HeadlessApp:
    """An `App` on the `Headless` backend with the session's GL context, and what a test does
    with it: post events, draw frames until something holds."""

    def __init__(self, ctx, name: str = "saddle", size=(480, 270), *, path=None, **options):
        from sandbox.app.window import App, Headless
        from sandbox.resources import find_scenario
        from sandbox.scenario.load import load_scenario

        scenario = load_scenario(path or find_scenario(name))
        self.app = App(scenario, backend=Headless(size, ctx=ctx), source=path, **options)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.app.close()

    def frames_until(self, condition, limit: float = 90.0) -> None:
        import time

        deadline = time.monotonic() + limit
        while not condition() and time.monotonic() < deadline:
            self.app.frame()
        assert condition(), "timed out"

    def post(self, kind, **fields) -> None:
        """An input event as pygame would send it, then a frame."""
        import pygame

        self.app.backend.post(pygame.event.Event(kind, **fields))
        self.app.frame()

    def press(self, key: int) -> None:
        import pygame

        self.post(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)

    def drag(self, rect, start: float, end: float) -> None:
        """A left-button drag across `rect`, from fraction `start` to `end` of its width."""
        import pygame

        x0, y0, x1, y1 = rect
        y = int((y0 + y1) / 2)

        def at(fraction: float) -> int:
            return int(x0 + fraction * (x1 - x0))

        self.post(pygame.MOUSEMOTION, pos=(at(start), y), rel=(0, 0), buttons=(0, 0, 0))
        self.post(pygame.MOUSEBUTTONDOWN, pos=(at(start), y), button=1)
        for k in range(1, 6):
            x = at(start + k * (end - start) / 5)
            self.post(pygame.MOUSEMOTION, pos=(x, y), rel=(1, 0), buttons=(1, 0, 0))
        self.post(pygame.MOUSEBUTTONUP, pos=(at(end), y), button=1)
