"""In-app recording at the speed the user saw, and the short notices of the output keys.

The window draws a frame only when something changes, at whatever rate the machine manages
(~19 fps on software GL while the runs move, none while the view is still), so frames arrive at
irregular times. The recording resamples them to a constant rate: output frame k shows the last
frame drawn at or before k / fps seconds after the start. A gap repeats the frame on screen (a
paused view recorded for 3 s is 3 s of video) and frames drawn faster than the rate are dropped,
so the video lasts the wall time recorded, to within one frame. Times come from the caller
(`time.monotonic()` in the app, synthetic ones in tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD_FPS = 30
TOAST_SECONDS = 4.0
RECORD_PRESET = "veryfast"  # x264 keeps up with the window on a shared 2-core laptop


class FrameResampler:
    """Frames at arbitrary times in, frames at a constant `fps` out (to `sink`)."""

    def __init__(self, sink: Callable[[np.ndarray], None], fps: float = RECORD_FPS):
        self.sink, self.fps = sink, fps
        self.start: float | None = None
        self.held: np.ndarray | None = None  # the frame on screen
        self.written = 0

    def add(self, frame: np.ndarray, now: float) -> None:
        """`frame` went on screen at `now` (seconds)."""
        if self.start is None:
            self.start = now
        self.tick(now)
        self.held = frame

    def tick(self, now: float) -> None:
        """Time reached `now`: every output frame due before it shows the held frame."""
        if self.held is None:
            return
        # output frame k is due at k / fps; the tolerance keeps a frame drawn exactly on a slot
        # from also filling that slot with its predecessor
        due = math.ceil((now - self.start) * self.fps - 1e-6)
        while self.written < due:
            self.sink(self.held)
            self.written += 1

    def finish(self, now: float) -> float:
        """End at `now` (one frame at least when any came in); returns the length in seconds."""
        self.tick(now)
        if self.written == 0 and self.held is not None:
            self.sink(self.held)
            self.written = 1
        return self.written / self.fps


class Recording:
    """An MP4 being recorded from the window's frames, written atomically to `path`.

    The folder is claimed at once (an unwritable one raises OSError here, not at the end);
    ffmpeg starts with the first frame, whose size the video takes.
    """

    def __init__(self, path: Path, started: float, fps: float = RECORD_FPS):
        from sandbox.trace.io import atomic_path

        self.path = Path(path).absolute()
        self.started = started
        self._stack = ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self._writer = None
        self._frames = FrameResampler(self._send, fps)

    def add(self, frame: np.ndarray, now: float) -> None:
        """The (H, W, 3) uint8 `frame` went on screen at `now`."""
        self._frames.add(frame, now)

    def tick(self, now: float) -> None:
        """Nothing new was drawn, but time passed: the frame on screen goes on."""
        self._frames.tick(now)

    def elapsed(self, now: float) -> float:
        return now - self.started

    def finish(self, now: float) -> float:
        """Close the video at `now` and put it in place; returns its length in seconds."""
        try:
            seconds = self._frames.finish(now)
            if self._writer is None:
                raise OSError("no frame was drawn")
            self._writer.close()
        except BaseException as error:
            self.abort(error)
            raise
        self._stack.close()
        return seconds

    def abort(self, error: BaseException | None = None) -> None:
        """Stop without a video (the partial file is removed)."""
        if self._writer is not None:
            self._writer.close()
        error = error or OSError("recording aborted")
        self._stack.__exit__(type(error), error, error.__traceback__)

    def _send(self, frame: np.ndarray) -> None:
        if self._writer is None:
            from sandbox.render.frames import mp4_writer

            size = (frame.shape[1], frame.shape[0])
            self._writer = mp4_writer(self._tmp, size, self._frames.fps, RECORD_PRESET)
        self._writer.send(np.ascontiguousarray(frame))


@dataclass(frozen=True)
class Toast:
    """A short notice drawn over the frame (seen also with the panels hidden)."""

    text: str
    error: bool
    until: float

    def shown(self, now: float) -> str:
        return self.text if now < self.until else ""


def toast(text: str, now: float, error: bool = False) -> Toast:
    return Toast(text, error, now + TOAST_SECONDS)


def minutes(seconds: float) -> str:
    """Elapsed time as m:ss."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
