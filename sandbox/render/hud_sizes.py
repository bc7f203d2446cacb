"""Sizes of the heads-up display, in pixels of a 720-pixel-high frame (scaled with the frame:
`ui` = height / 720), shared by its panels (render/hud.py) and its legend (render/legend.py)."""

from __future__ import annotations

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels from the top left

MARGIN, PAD = 16, 12
TITLE_PX, BODY_PX, SMALL_PX, TICK_PX = 30, 23, 20, 19
