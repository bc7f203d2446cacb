"""What a replay shows in a notebook: `ReplayResult.plot()`'s figure and `.video()`'s clip.

Both display inline in Jupyter without touching global state: the figure is a
`matplotlib.figure.Figure` made without pyplot (no backend switch), the video an object whose
`_repr_html_` embeds the file, so a notebook shows it and a script gets a path.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from sandbox.plots import result_figure

__all__ = ["Video", "result_figure", "result_video"]

EMBED_LIMIT = 50 * 2**20  # bytes: a larger video is linked, not embedded in the notebook


class Video:
    """A written MP4 or GIF; shown inline by Jupyter, its file at `path`."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Video({str(self.path)!r})"

    def _repr_html_(self) -> str:
        if self.path.stat().st_size > EMBED_LIMIT:
            return f'<a href="{self.path}">{self.path.name}</a>'
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        if self.path.suffix.lower() == ".gif":
            return f'<img src="data:image/gif;base64,{data}"/>'
        return f'<video controls loop src="data:video/mp4;base64,{data}"></video>'


def result_video(
    result,
    path: str | Path | None = None,
    *,
    frames: int = 120,
    size: tuple[int, int] = (960, 540),
    fps: float = 30,
) -> Video:
    """`result`'s scenario as an MP4 (or GIF, by `path`'s suffix) of `frames` frames, drawn
    by the renderer the window uses. A replay made with `keep_messages=True` is drawn from its
    kept stream; otherwise the runs are computed again (replays are deterministic, so the
    video shows the same runs)."""
    from sandbox.app.headless import scene_states
    from sandbox.render.frames import write_video

    if path is None:
        path = Path(tempfile.mkdtemp(prefix="sandbox-video-")) / "replay.mp4"
    states = scene_states(result.scenario, frames, result.messages)
    return Video(write_video(states, Path(path), size, fps))
