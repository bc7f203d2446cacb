"""What the app saves and says: screenshots, recordings, and the notices over the frame (a part
of `App`, kept apart so that the shell reads in one screen). Times come from the controller's
clock."""

from __future__ import annotations

import time
from pathlib import Path


class Capture:
    """`App`'s screenshots, video recording and notices."""

    def setup_capture(self) -> None:
        self.recorder = None
        self.toast = None  # a notice over the frame for a few seconds (`notify`)

    def _now(self) -> float:
        return self.controller.clock()

    def screenshot(self, path: Path) -> Path | None:
        """Save the frame as a PNG (without the notices); says where, or why not (None)."""
        from sandbox.render.frames import save_png

        path = Path(path).absolute()
        try:
            save_png(self.renderer.read_rgb(), path)
        except OSError as error:
            self.notify(f"could not save {path}: {error.strerror or error}", error=True)
            return None
        self.notify(f"saved {path}")
        return path

    def start_recording(self) -> None:
        """Record what the window shows to sandbox-<date>-<time>.mp4, at the speed it is shown."""
        from sandbox.app.recording import Recording

        path = Path(f"sandbox-{time.strftime('%Y%m%d-%H%M%S')}.mp4").absolute()
        try:
            self.recorder = Recording(path, self._now())
        except OSError as error:
            self.notify(f"cannot record in {path.parent}: {error.strerror or error}", error=True)
            return
        self.notify("recording… (v to stop)")

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            seconds = recorder.finish(self._now())
        except OSError as error:
            self.notify(f"recording failed: {error.strerror or error}", error=True)
            return
        self.notify(f"saved recording {recorder.path}, {seconds:.1f} s")

    def _record(self, rgb=None) -> None:
        """The recording gets the frame just drawn, or (None) hears that time passed."""
        try:
            if rgb is None:
                self.recorder.tick(self._now())
            else:
                self.recorder.add(rgb, self._now())
        except OSError as error:  # disk full, ffmpeg gone: stop, and say so
            recorder, self.recorder = self.recorder, None
            recorder.abort(error)
            self.notify(f"recording stopped: {error.strerror or error}", error=True)

    def notify(self, message: str, error: bool = False) -> None:
        """`say`, and show it over the frame for a few seconds (seen with the panels hidden)."""
        from sandbox.app.recording import toast

        self.controller.say(message, error)
        self.toast = toast(message, self._now(), error)

    def _notices_key(self) -> tuple:
        """What the notices show now: the frame is drawn again when it changes."""
        from sandbox.app.recording import minutes

        now = self._now()
        shown = self.toast.shown(now) if self.toast else ""
        elapsed = minutes(self.recorder.elapsed(now)) if self.recorder else ""
        return shown, elapsed

    def _draw_notices(self) -> None:
        from sandbox.render.notices import draw_notices

        message, elapsed = self._notices_key()
        if not (message or elapsed):
            return
        screen = self.backend.screen
        screen.use()
        screen.viewport = (0, 0, *self.window_size)
        error = self.toast is not None and self.toast.error
        draw_notices(
            self.renderer.overlay, self.window_size, self._notice_corner(), message, error, elapsed
        )

    def _notice_corner(self) -> tuple[float, float]:
        """The bottom left of the part of the window that the panels leave free, in pixels."""
        if self.controller.show_panel:
            left, _, _, bottom = self.layout().view
            return left, bottom
        return 0.0, float(self.window_size[1])
