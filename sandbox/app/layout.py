"""The docked layout: the control panel is a left column, the timeline a bottom strip, and the
3-D view (with its title, legend and mini-map) gets the rest.

The panels are placed here every frame from the window's size and whether each is collapsed, so
a resize or a collapse keeps the layout true; the renderer lays its HUD out inside `view` and
frames the surface in what is left (sandbox/render/framing.py), so no panel covers a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.render.framing import Box

PANEL_WIDTH = 360  # the control column, pixels at 720 of height
TIMELINE_HEIGHT = 0.30  # the timeline strip, as a share of the window's height
INSTRUMENTS_HEIGHT = 0.38  # ... for a scenario that declares its plots: they carry its claim
INSTRUMENTS_WIDTH = 0.34  # ... docked as a right column instead (lecture mode: the big title,
# legend and subtitle need the view's full height; a bottom strip left the surface ~90 pixels)
CAPTIONS_HEIGHT = 0.19  # lecture mode beside a column: the subtitle's strip across the bottom
# (three lines of 1/22 of the height); in the view's width a caption took five lines
MARGIN = 16  # pixels at 720 of height
BAR = 30  # a collapsed panel's title bar, pixels at 720 of height (ImGui's is ~26)


@dataclass(frozen=True)
class Docked:
    """Where each part goes, in pixels (left, top, right, bottom) from the top left."""

    controls: Box
    timeline: Box
    view: Box  # the 3-D view's area: title, legend, mini-map, surface
    captions: Box | None = None  # where lecture subtitles go, when not inside the view


def docked(
    size: tuple[int, int],
    ui: float,
    controls_open: bool = True,
    timeline_open: bool = True,
    timeline_share: float = TIMELINE_HEIGHT,
    timeline_right: bool = False,
) -> Docked:
    """The layout for a window of `size` whose text is scaled by `ui` (height / 720 × the font
    scale), the open timeline `timeline_share` of its height (`timeline_right`: a right column
    `timeline_share` of its width, the plots stacked). A collapsed panel keeps only its title
    bar: the control bar at the top left (the view starts below it), the timeline bar along the
    bottom (or the top of its column)."""
    width, height = size
    margin, bar = MARGIN * ui, BAR * ui
    right = margin + PANEL_WIDTH * ui
    if controls_open:
        controls = (margin, margin, right, height - margin)
        view_left, view_top = right, 0.0
    else:
        controls = (margin, margin, right, margin + bar)
        view_left, view_top = 0.0, margin + bar
    if timeline_right:
        return _with_column(
            size, ui, controls, (view_left, view_top), timeline_share, timeline_open
        )
    strip = timeline_share * height if timeline_open else bar
    left = (right if controls_open else 0.0) + margin
    timeline = (left, height - margin - strip, width - margin, height - margin)
    view = (view_left, view_top, float(width), timeline[1])
    return Docked(controls, timeline, view)


def _with_column(
    size: tuple[int, int], ui: float, controls: Box, view_corner, share: float, is_open: bool
) -> Docked:
    """The timeline as a right column `share` of the width (collapsed: its title bar at the top
    right) above a strip for the subtitles across the window's bottom (in the view's width
    alone a caption took five lines of lecture type); the view is what is left."""
    width, height = size
    margin, bar = MARGIN * ui, BAR * ui
    strip_top = height - CAPTIONS_HEIGHT * height
    left = width - margin - share * width
    controls_open = controls[3] - controls[1] > 2 * bar
    if controls_open:  # the open control column ends above the strip too
        controls = (controls[0], controls[1], controls[2], strip_top - margin / 2)
    captions = (view_corner[0], strip_top, float(width), float(height))
    if is_open:
        timeline = (left, margin, width - margin, strip_top - margin / 2)
        view = (*view_corner, left - margin, strip_top)
    else:  # the view starts below the bar, as under a collapsed control bar
        timeline = (left, margin, width - margin, margin + bar)
        view = (view_corner[0], max(view_corner[1], margin + bar), float(width), strip_top)
    return Docked(controls, timeline, view, captions)
