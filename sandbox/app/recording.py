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
import queue
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD_FPS = 30
TOAST_SECONDS = 4.0
RECORD_PRESET = "ultrafast"  # x264 at ~1/3 of a core for 720p at 30 fps, half of veryfast's
ENCODER_QUEUE = 8  # frames (~2.8 MB each at 720p) that may wait for the encoder


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
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass  # the encoder's failure is why we are here, or the video is dropped anyway
        error = error or OSError("recording aborted")
        self._stack.__exit__(type(error), error, error.__traceback__)

    def _send(self, frame: np.ndarray) -> None:
        if self._writer is None:
            size = (frame.shape[1], frame.shape[0])
            self._writer = BackgroundEncoder(self._tmp, size, self._frames.fps)
        self._writer.send(frame)


class BackgroundEncoder:
    """An MP4 writer fed from a thread: the window's loop hands a frame over and goes on while
    x264 encodes (it waits only when the encoder is ENCODER_QUEUE frames behind)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float):
        from sandbox.render.frames import mp4_writer

        self._writer = mp4_writer(path, size, fps, RECORD_PRESET)
        self._queue: queue.Queue = queue.Queue(maxsize=ENCODER_QUEUE)
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name="recording", daemon=True)
        self._thread.start()

    def send(self, frame: np.ndarray) -> None:
        if self.failure is not None:
            raise OSError(f"the video encoder failed: {self.failure}") from self.failure
        self._queue.put(frame)

    def close(self) -> None:
        """Encode what is queued, then end the file; raises OSError when encoding failed."""
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if self.failure is not None:
            raise OSError(f"the video encoder failed: {self.failure}") from self.failure

    def _encode(self) -> None:
        # after a failure, frames are still taken off the queue: `send` must never wait forever
        while (frame := self._queue.get()) is not None:
            if self.failure is None:
                try:
                    self._writer.send(np.ascontiguousarray(frame))
                except Exception as error:  # raised in the window's thread, at its next send
                    self.failure = error


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
