"""What the renderer has (re)done: the work its caches save, counted for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RenderStats:
    """What the renderer has (re)done since it was made: the work its caches save, counted so
    that tests and benchmarks can see it without reaching into the caches."""

    frames: int = 0
    heights_uploaded: int = 0  # new heights (a new array, bounds or scale)
    axes_built: int = 0  # axis ticks and labels measured again (the camera or the world moved)
    layouts_measured: int = 0  # the HUD arrangement chosen again (texts, area or size changed)
    legends_measured: int = 0  # the legend's widths measured again (its texts or size changed)
    top_views_drawn: int = 0  # the mini-map's surface image redrawn
    uploads: dict[str, int] = field(default_factory=dict)  # segment buffer name -> uploads
    segments: dict[str, int] = field(default_factory=dict)  # ... -> segments in the last one

    def uploaded(self, name: str, segments: int | None) -> None:
        if segments is not None:
            self.uploads[name] = self.uploads.get(name, 0) + 1
            self.segments[name] = segments
