"""Layout of the heads-up display: title, legend (render/legend.py), axis labels, mini-map
frame, help, alerts.

Sizes are given for a 720-pixel-high frame and scaled with the frame (`ui` = height / 720), so a
video and a full-screen window read the same from the back of a lecture hall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sandbox.render.axes import Label
from sandbox.render.hud_sizes import BODY_PX, MARGIN, PAD, SMALL_PX, TICK_PX, TITLE_PX, Box
from sandbox.render.legend import LegendMeasures, legend, legend_width
from sandbox.render.overlay_pass import OverlayPass
from sandbox.render.scene import SceneState
from sandbox.render.theme import Theme
from sandbox.render.world import PreparedTrail

LEGEND_SHARE = 0.4  # a legend wider than this share of the view stacks each run's two lines
SUBTITLE_FRACTION = 22  # lecture subtitles: frame height / 22 pixels (the goal is ≥ 1/25)

# What the marks on the view mean, under the keys.
HELP_MARKS = (
    ("dashed line", "a run's true loss, off the drawn plane"),
    ("ring at an edge", "a run outside the view (arrow: where it left)"),
    ("pale-centred ball", "behind the surface, seen through it"),
    ("arrows (a)", "step taken, −η∇f, −η·m: displacements on one scale (legend: ×N)"),
    ("", "step ≠ −η∇f in direction: momentum, or per-coordinate scaling (Adam)"),
)


def wrap(overlay: OverlayPass, text: str, px: float, bold: bool, max_width: float) -> list[str]:
    """`text` broken at spaces into lines no wider than `max_width` (a long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and overlay.measure(candidate, px, bold) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]


def title_panel(
    overlay: OverlayPass, state: SceneState, ui: float, max_width: float, x: float, y: float
) -> Box:
    """Title, caption and step counter in a panel with its top left at (x, y), wrapped to
    `max_width` pixels; returns the panel's box. The panel is as tall as the longest of the
    scenario's captions needs (`state.captions`), so it does not grow and shrink as captions
    change, and the view framed beside it stays clear of it."""
    inner = max_width - 2 * PAD * ui
    theme = state.theme
    title = wrap(overlay, state.title, TITLE_PX * ui, True, inner)
    lines = [(t, TITLE_PX, True, theme.text) for t in title]
    if not theme.subtitles:
        caption = wrap(overlay, state.caption, SMALL_PX * ui, False, inner) if state.caption else []
        room = max(
            (len(wrap(overlay, c, SMALL_PX * ui, False, inner)) for c in state.captions), default=0
        )
        caption += [""] * (room - len(caption))
        lines += [(t, SMALL_PX, False, theme.dim) for t in caption]
    lines.append((f"step {state.step}", BODY_PX, False, theme.text))
    return panel_of_lines(overlay, lines, x, y, ui, theme.panel)


ARRANGEMENTS = ("beside", "below")  # the legend beside the title, or under it


def _subtitle_sizes(size: tuple[int, int], strip: bool) -> tuple[float, ...]:
    """Subtitle type sizes in pixels to try, largest first (1/22 of the height; in a strip of
    its own down to 1/30, still larger than the body text)."""
    fractions = (SUBTITLE_FRACTION, 25, 28, 30) if strip else (SUBTITLE_FRACTION,)
    return tuple(size[1] / f for f in fractions)


def top_panels(
    overlay: OverlayPass,
    state: SceneState,
    trails: list[PreparedTrail],
    ui: float,
    area: Box,
    arrangement: str = "beside",
    measures: LegendMeasures | None = None,
) -> list[Box]:
    """Title panel (top left of `area`) and legend (top right): "beside" the title, which then
    wraps in the room the legend leaves, or "below" it, the title taking the full width (the
    renderer keeps whichever leaves the view more room). A legend wider than LEGEND_SHARE of the
    area puts each run's detail under its name. Nothing ever overlaps. Returns the boxes drawn;
    `measures` keeps the legend's widths between calls (one per renderer)."""
    measures = measures or LegendMeasures()
    x0, y0, x1, _ = area
    width, margin = x1 - x0, MARGIN * ui
    legend_w = 0.0
    if state.show_legend:
        legend_w = legend_width(overlay, state, trails, ui, False, measures)
    # a wide legend puts each detail under its name, unless that makes it taller than half
    # the area (eight runs: it ran into the timeline)
    rows = len(trails)
    stacked = legend_w > LEGEND_SHARE * width and rows * (BODY_PX + SMALL_PX) * 1.35 * ui < (
        0.5 * (area[3] - y0)
    )
    stacked |= legend_w > width - 2 * margin  # one line per run would not fit at all
    if stacked:
        legend_w = legend_width(overlay, state, trails, ui, True, measures)
    beside = width - legend_w - 3 * margin
    if legend_w == 0 or (arrangement == "beside" and beside >= 0.3 * width):
        room = beside if legend_w else width - 2 * margin
        title = title_panel(overlay, state, ui, room, x0 + margin, y0 + margin)
        top = y0 + margin
    else:
        title = title_panel(overlay, state, ui, width - 2 * margin, x0 + margin, y0 + margin)
        top = title[3] + margin / 2
    boxes = [
        title,
        legend(overlay, state, trails, ui, x1, top, stacked, width - 2 * margin, measures)
        if legend_w
        else None,
    ]
    return [box for box in boxes if box is not None]


def axis_labels(
    overlay: OverlayPass,
    labels: list[Label],
    ui: float,
    theme: Theme,
    keep_out: Sequence[Box] = (),
) -> None:
    """Axis names, then tick labels; a label that would overlap one already placed, or a panel
    in `keep_out` (whose text it would otherwise be printed over), is dropped."""
    placed: list[Box] = list(keep_out)
    for label in sorted(labels, key=lambda item: not item.is_name):
        if not (math.isfinite(label.x) and math.isfinite(label.y)):
            continue
        px = (BODY_PX if label.is_name else TICK_PX) * ui
        width = overlay.measure(label.text, px, label.is_name)
        left = label.x - {"left": 0, "center": width / 2, "right": width}[label.align]
        # a little air around each label, so neighbours from two axes never read as one
        box = (left - 5 * ui, label.y - 0.75 * px, left + width + 5 * ui, label.y + 0.75 * px)
        if any(_overlap(box, other) for other in placed):
            continue
        placed.append(box)
        color = theme.text if label.is_name else theme.dim
        overlay.text(label.text, label.x, label.y, px, color, label.is_name, label.align, "middle")


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def minimap_frame(
    overlay: OverlayPass, box: tuple[int, int, int, int], ui: float, theme: Theme
) -> Box:
    """A border and a caption around the mini-map; `box` is (x, y, w, h) from the top left.
    Returns the box of the frame and its caption."""
    x, y, w, h = box
    t = max(2.0, 2 * ui)
    edge = theme.edge
    for rect in ((x - t, y - t, w + 2 * t, t), (x - t, y + h, w + 2 * t, t)):
        overlay.rect(*rect, edge)
    for rect in ((x - t, y, t, h), (x + w, y, t, h)):
        overlay.rect(*rect, edge)
    caption_top = y - t - 4 * ui - 1.2 * SMALL_PX * ui
    overlay.text("top view", x, y - t - 4 * ui, SMALL_PX * ui, theme.dim, valign="baseline")
    return x - t, caption_top, x + w + t, y + h + t


def alert_banner(
    overlay: OverlayPass, message: str, ui: float, area: Box, right: float, bottom: float
) -> Box:
    """A red banner whose bottom is a margin above `bottom` (the foot of `area`, or the top of
    the lecture subtitle), centred between the area's left edge and `right` (the mini-map);
    returns its box."""
    px = BODY_PX * ui
    height = px * 1.6 + PAD * ui
    width = overlay.measure(message, px, True) + 2 * PAD * ui
    left = area[0]
    centre = max((left + right) / 2, left + width / 2 + MARGIN * ui)
    x, y = centre - width / 2, bottom - MARGIN * ui - height
    overlay.rect(x, y, width, height, (0.70, 0.08, 0.08, 0.92), 8 * ui)
    overlay.text(message, centre, y + height / 2, px, (1, 1, 1, 1), True, "center", "middle")
    return x, y, x + width, y + height


def help_panel(
    overlay: OverlayPass, ui: float, size: tuple[int, int], theme: Theme, keys: Sequence
) -> None:
    """The key reference (`keys`: (keys, what they do) rows), then what the marks on the view
    mean, centred; in smaller type when the body size would not fit the frame's height."""
    entries = tuple(keys) + HELP_MARKS
    for px in (BODY_PX * ui, SMALL_PX * ui, 0.8 * SMALL_PX * ui):
        row = px * 1.45
        h = row * (len(entries) + 2) + 2 * PAD * ui
        if h <= 0.95 * size[1]:
            break
    key_w = max(overlay.measure(k, px, True) for k, _ in entries)
    act_w = max(overlay.measure(a, px) for _, a in entries)
    w = key_w + act_w + 30 * ui + 4 * PAD * ui
    x, y = (size[0] - w) / 2, (size[1] - h) / 2
    overlay.rect(x, y, w, h, theme.help_panel, 12 * ui)
    cx, cy = x + 2 * PAD * ui, y + 1.5 * PAD * ui
    overlay.text("Keys", x + w / 2, cy, TITLE_PX * ui, theme.text, True, "center")
    cy += row * 1.5
    for key, action in entries:
        cy += row * 0.5 if key == HELP_MARKS[0][0] else 0.0  # a gap between keys and marks
        overlay.text(key, cx + key_w, cy, px, theme.help_key, True, "right")
        overlay.text(action, cx + key_w + 30 * ui, cy, px, theme.text)
        cy += row


def panel_of_lines(
    overlay: OverlayPass, lines: list, x: float, y: float, ui: float, color: tuple
) -> Box:
    width = max(overlay.measure(text, px * ui, bold) for text, px, bold, _ in lines)
    height = sum(px * ui * 1.3 for _, px, _, _ in lines) + 2 * PAD * ui - 0.3 * lines[-1][1] * ui
    overlay.rect(x, y, width + 2 * PAD * ui, height, color, 10 * ui)
    cy = y + PAD * ui
    for text, px, bold, color in lines:
        overlay.text(text, x + PAD * ui, cy, px * ui, color, bold)
        cy += px * ui * 1.3
    return x, y, x + width + 2 * PAD * ui, y + height


def subtitle(
    overlay: OverlayPass,
    state: SceneState,
    size: tuple[int, int],
    area: Box,
    right: float,
    strip: bool = False,
) -> Box | None:
    """The caption in large type at the bottom centre of `area` (lecture mode): at least 1/25
    of the frame height, wrapped to 80 % of the room between the area's left edge and `right`
    (the mini-map). Returns the box it keeps for captions, as tall as the longest caption needs
    (so the view framed above it stays clear of every caption), or None without captions.
    `strip`: `area` is a strip of its own (lecture mode beside a column of plots): the caption
    takes 95 % of its width, and smaller type if the longest would not fit its height."""
    captions = [c for c in (state.caption, *state.captions) if c]
    if not captions:
        return None
    theme = state.theme
    left, bottom = area[0], area[3]
    centre = (left + right) / 2
    for px in _subtitle_sizes(size, strip):
        pad = 0.45 * px
        room = (0.95 if strip else 0.8) * (right - left) - 2 * pad
        tallest = max(len(wrap(overlay, c, px, False, room)) for c in captions)
        reserved = tallest * 1.3 * px + 2 * pad - 0.3 * px
        top = bottom - reserved - 0.6 * px
        if not strip or top >= area[1]:
            break
    if state.caption:
        lines = wrap(overlay, state.caption, px, False, room)
        width = max(overlay.measure(line, px) for line in lines) + 2 * pad
        height = len(lines) * 1.3 * px + 2 * pad - 0.3 * px
        y = bottom - height - 0.6 * px
        overlay.rect(centre - width / 2, y, width, height, theme.panel, 0.3 * px)
        for k, line in enumerate(lines):
            overlay.text(line, centre, y + pad + k * 1.3 * px, px, theme.text, False, "center")
    half = room / 2 + pad
    return centre - half, top, centre + half, bottom - 0.6 * px


def waiting_panel(
    overlay: OverlayPass, size: tuple[int, int], title: str, message: str, theme, error: bool
) -> None:
    """The scenario's title and `message` (the landscape being computed, or why the worker
    stopped) in a panel centred on a frame with no surface yet."""
    ui = size[1] / 720 * theme.type_scale
    overlay.halo = theme.halo
    room = 0.7 * size[0] - 2 * PAD * ui
    lines = [
        (text, TITLE_PX, True, theme.text)
        for text in wrap(overlay, title, TITLE_PX * ui, True, room)
    ]
    lines += [
        (text, BODY_PX, False, theme.warn if error else theme.dim)
        for text in wrap(overlay, message, BODY_PX * ui, False, room)
    ]
    width = max(overlay.measure(t, px * ui, bold) for t, px, bold, _ in lines)
    height = sum(px * ui * 1.3 for _, px, _, _ in lines)
    x = (size[0] - width) / 2 - PAD * ui
    y = (size[1] - height) / 2 - PAD * ui
    panel_of_lines(overlay, lines, x, y, ui, theme.panel)
