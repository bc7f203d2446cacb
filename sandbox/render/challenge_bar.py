"""The challenge bar at the foot of the 3-D view: the goal and its progress, then the result.

The bar has one size from the first frame to the last, whatever it says, so the view framed
above it never moves when the verdict arrives; only its colour and text change.
"""

from __future__ import annotations

from sandbox.render.hud import BODY_PX, MARGIN, PAD, SMALL_PX, Box
from sandbox.render.overlay_pass import OverlayPass

RESULT_FILL = {
    "met": (0.08, 0.50, 0.20, 0.94),  # green and red that white bold text reads on in both themes
    "missed": (0.70, 0.08, 0.08, 0.94),
}


def challenge_bar(
    overlay: OverlayPass, state, ui: float, area: Box, right: float, bottom: float
) -> Box:
    """`state.challenge` in a bar a margin above `bottom`, from the area's left edge to
    `right` (the mini-map), in the panel colour while open and green or red once decided;
    returns its box. Text too wide for the bar is drawn in smaller type."""
    theme, result = state.theme, state.challenge_result
    height = BODY_PX * ui * 1.6 + PAD * ui
    left, width = area[0] + MARGIN * ui, right - area[0] - 2 * MARGIN * ui
    top = bottom - MARGIN * ui - height
    fill = RESULT_FILL.get(result, theme.panel)
    color = (1.0, 1.0, 1.0, 1.0) if result else theme.text
    overlay.rect(left, top, width, height, fill, 8 * ui)
    for px in (BODY_PX * ui, SMALL_PX * ui, 0.8 * SMALL_PX * ui):  # the first that fits
        if overlay.measure(state.challenge, px, bool(result)) <= width - 2 * PAD * ui:
            break
    centre = left + width / 2
    overlay.text(
        state.challenge, centre, top + height / 2, px, color, bool(result), "center", "middle"
    )
    return left, top, left + width, top + height
