"""Notices over the window's frame: a short-lived message ("saved …png") and the REC badge.

They are drawn onto the screen after the frame has been presented, never into the frame: a
screenshot or a recording shows the scene, not the notice that it is being taken. Placed at the
bottom left of the part of the window the panels leave free, the REC badge lowest.
"""

from __future__ import annotations

from sandbox.render.hud import BODY_PX, MARGIN, PAD, SMALL_PX, Box
from sandbox.render.overlay_pass import OverlayPass

BACKING = (0.05, 0.06, 0.08, 0.88)  # dark on either theme: a notice is not part of the scene
ERROR_BACKING = (0.70, 0.08, 0.08, 0.94)
TEXT = (1.0, 1.0, 1.0, 1.0)
REC_RED = (0.95, 0.12, 0.10, 1.0)
HALO = (0.02, 0.02, 0.03, 0.8)


def recording_badge(
    overlay: OverlayPass, elapsed: str, ui: float, left: float, bottom: float
) -> Box:
    """A red dot, "REC" and the elapsed time in a pill whose bottom left is (left, bottom);
    returns its box."""
    px = SMALL_PX * ui
    text = f"REC  {elapsed}"
    dot = 0.7 * px
    height = px * 1.5 + PAD * ui
    width = dot + 10 * ui + overlay.measure(text, px, True) + 2 * PAD * ui
    top = bottom - height
    overlay.rect(left, top, width, height, BACKING, height / 2)
    middle = top + height / 2
    overlay.rect(left + PAD * ui, middle - dot / 2, dot, dot, REC_RED, dot / 2)
    overlay.text(text, left + PAD * ui + dot + 10 * ui, middle, px, TEXT, True, valign="middle")
    return left, top, left + width, bottom


def toast(
    overlay: OverlayPass, message: str, ui: float, left: float, bottom: float, error: bool = False
) -> Box:
    """`message` in a box whose bottom left is (left, bottom), red for an error; returns its box."""
    px = BODY_PX * ui
    height = px * 1.5 + PAD * ui
    width = overlay.measure(message, px) + 2 * PAD * ui
    top = bottom - height
    overlay.rect(left, top, width, height, ERROR_BACKING if error else BACKING, 8 * ui)
    overlay.text(message, left + PAD * ui, top + height / 2, px, TEXT, valign="middle")
    return left, top, left + width, bottom


def draw_notices(
    overlay: OverlayPass,
    size: tuple[int, int],
    corner: tuple[float, float],
    message: str = "",
    error: bool = False,
    elapsed: str = "",
) -> None:
    """The REC badge (when `elapsed` is given) and the message above it, stacked up from
    `corner` = (left, bottom) in pixels of the `size` = (width, height) target bound now."""
    ui = size[1] / 720
    left, bottom = corner[0] + MARGIN * ui, corner[1] - MARGIN * ui
    saved, overlay.halo = overlay.halo, HALO
    try:
        if elapsed:
            bottom = recording_badge(overlay, elapsed, ui, left, bottom)[1] - PAD * ui
        if message:
            toast(overlay, message, ui, left, bottom, error)
        overlay.flush(size)
    finally:
        overlay.halo = saved
