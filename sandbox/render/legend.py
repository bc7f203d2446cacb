"""The legend: one row per run (colour swatch, name, its loss or label) and the extra HUD lines.

A frame asks for the legend's widths up to three times (its width one line per run, stacked,
then to draw it) and every layout the HUD tries asks again; `LegendMeasures` measures each set of
texts once, so a legend that did not change is not measured again at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.render.hud_sizes import BODY_PX, MARGIN, PAD, SMALL_PX, Box
from sandbox.render.numbers import human
from sandbox.render.overlay_pass import OverlayPass
from sandbox.render.scene import SceneState
from sandbox.render.world import PreparedTrail

# A number as `human` prints it ("0.0123", "-1.43e-4", "< 1e-12", "nan"), and the widest it gets
NUMBER = re.compile(r"(?:[<≈] )?-?\d+(?:\.\d+)?(?:e-?\d+)?|\b(?:nan|inf)\b")
NUMBER_TEMPLATE = "-8.88e-88"
# A network slice's legend ends with this line (app/model.py), always: a row that came and went
# with the drop lines made the legend, and so the framed view, jump between captions.
DROP_LINE_NOTE = "dashed line: true loss, off the drawn plane"
# Measured legends remembered: a frame needs two (one line per run, stacked); the digits of a
# running legend change every step, so the memo is emptied when it grows past this.
MEASURES_MEMO = 16


def _legend_rows(state: SceneState, trails: list[PreparedTrail]):
    """(trail, name, detail) per run and (text, px, bold, colour) per extra line."""
    rows = []
    for prepared in trails:
        trail = prepared.trail
        last = trail.loss[-1] if len(trail.loss) else float("nan")
        detail = trail.label or f"loss {human(float(last))}"
        rows.append((trail, trail.name, detail + ("   diverged" if trail.diverged else "")))
    # lecture mode leaves out the drop-line note (the widest line: it pushed the legend beside
    # the view, not beside the title); the help overlay still says what a dashed line is
    lines = [n for n in state.hud_lines if not (state.theme.subtitles and n == DROP_LINE_NOTE)]
    extra = [(line, SMALL_PX, False, state.theme.dim) for line in lines]
    theme = state.theme
    extra += [(line, SMALL_PX, False, theme.on_panel(c)) for line, c in state.key_lines]
    return rows, extra


def steady_width(overlay: OverlayPass, text: str, px: float) -> float:
    """The width of `text` with room for the widest number `human` prints in place of each
    number in it: the legend keeps its width while the digits change, so videos do not jitter."""
    template = NUMBER.sub(NUMBER_TEMPLATE, text)
    return max(overlay.measure(template, px), overlay.measure(text, px))


@dataclass(frozen=True)
class LegendColumns:
    """The legend's measured widths (pixels): the swatch with its gap, the name column, and the
    inner width with room for the widest digits (`steady`) and as the texts are now (`actual`)."""

    swatch: float
    name: float
    steady: float
    actual: float


class LegendMeasures:
    """The legend's columns, measured once per set of texts, type size and form (stacked or
    not): what determines them. The room the legend may take does not change them (it only
    caps `steady`, see `legend`), so it is not part of the key. `measured` counts the
    measurements (Renderer.stats.legends_measured)."""

    def __init__(self):
        self._memo: dict[tuple, LegendColumns] = {}
        self.measured = 0

    def columns(self, overlay: OverlayPass, rows, extra, ui: float, stacked: bool) -> LegendColumns:
        key = (tuple(r[1:] for r in rows), tuple(e[0] for e in extra), ui, stacked)
        if key not in self._memo:
            if len(self._memo) >= MEASURES_MEMO:
                self._memo.clear()
            self._memo[key] = _measure(overlay, rows, extra, ui, stacked)
            self.measured += 1
        return self._memo[key]


def _measure(overlay: OverlayPass, rows, extra, ui: float, stacked: bool) -> LegendColumns:
    """See LegendColumns; `stacked` puts each run's detail under its name in smaller type (a
    narrow legend beside the title instead of a wide one above the view)."""
    swatch = 2 * 9 * ui + 10 * ui
    name_w = max((overlay.measure(r[1], BODY_PX * ui, True) for r in rows), default=0)
    detail_px = (SMALL_PX if stacked else BODY_PX) * ui

    def inner(width) -> float:  # `width(text, px)`: as measured, or with the widest digits
        detail_w = max((width(r[2], detail_px) for r in rows), default=0)
        extra_w = max((width(e[0], SMALL_PX * ui) for e in extra), default=0)
        if stacked:
            return max(swatch + max(name_w, detail_w), extra_w)
        return max(swatch + name_w + 14 * ui + detail_w, extra_w)

    steady = inner(lambda text, px: steady_width(overlay, text, px))
    return LegendColumns(swatch, name_w, steady, inner(overlay.measure))


def legend_width(
    overlay: OverlayPass,
    state: SceneState,
    trails: list[PreparedTrail],
    ui: float,
    stacked: bool = False,
    measures: LegendMeasures | None = None,
) -> float:
    """The legend panel's width in pixels (0 when there is nothing to show)."""
    rows, extra = _legend_rows(state, trails)
    if not rows and not extra:
        return 0.0
    columns = (measures or LegendMeasures()).columns(overlay, rows, extra, ui, stacked)
    return columns.steady + 2 * PAD * ui


def legend(
    overlay: OverlayPass,
    state: SceneState,
    trails: list[PreparedTrail],
    ui: float,
    right: float,
    top: float,
    stacked: bool = False,
    room: float = float("inf"),
    measures: LegendMeasures | None = None,
) -> Box | None:
    """One row per run (colour swatch, name, loss or label; `stacked`: the detail on a second,
    smaller line) and the extra HUD lines, its right edge a margin left of `right`; returns the
    panel's box (None when there is nothing to show)."""
    rows, extra = _legend_rows(state, trails)
    if not rows and not extra:
        return None
    columns = (measures or LegendMeasures()).columns(overlay, rows, extra, ui, stacked)
    swatch, name_w = columns.swatch, columns.name
    # the room kept for the widest digits never pushes the panel out of `room` (lecture type:
    # five numbers a row made it wider than the view); the texts themselves always fit
    inner = max(min(columns.steady, room - 2 * PAD * ui), columns.actual)
    name_h = BODY_PX * ui * (1.3 if stacked else 1.45)
    row_h = name_h + (SMALL_PX * ui * 1.35 if stacked else 0)
    height = len(rows) * row_h + len(extra) * SMALL_PX * ui * 1.4 + 2 * PAD * ui
    x = right - MARGIN * ui - inner - 2 * PAD * ui
    y = top
    theme = state.theme
    overlay.rect(x, y, inner + 2 * PAD * ui, height, theme.panel, 10 * ui)
    cx, cy = x + PAD * ui, y + PAD * ui
    for trail, name, detail in rows:
        mid = cy + name_h / 2
        r = 9 * ui
        overlay.rect(
            cx - 2 * ui, mid - r - 2 * ui, 2 * r + 4 * ui, 2 * r + 4 * ui, (0, 0, 0, 1), r + 2 * ui
        )
        overlay.rect(cx, mid - r, 2 * r, 2 * r, (*trail.color, 1.0), r)
        overlay.text(name, cx + swatch, mid, BODY_PX * ui, theme.text, bold=True, valign="middle")
        color = theme.warn if trail.diverged else theme.text
        if stacked:
            overlay.text(detail, cx + swatch, cy + name_h, SMALL_PX * ui, color)
        else:
            overlay.text(
                detail, cx + swatch + name_w + 14 * ui, mid, BODY_PX * ui, color, valign="middle"
            )
        cy += row_h
    for text, px, bold, color in extra:
        overlay.text(text, cx, cy, px * ui, color, bold)
        cy += px * ui * 1.4
    return x, y, x + inner + 2 * PAD * ui, y + height
