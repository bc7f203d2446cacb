"""Where the HUD's panels go in the 3-D view's area: title, legend, mini-map, subtitle, alert.

The arrangement (legend beside or below the title, the mini-map kept or not, the caption as a
subtitle or in the title panel) is the one that leaves the surface the largest picture with no
two panels overlapping; it is measured once per layout, not per frame.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from sandbox.render import hud
from sandbox.render.challenge_bar import challenge_bar
from sandbox.render.framing import GAP, SURFACE_ASPECT, Box, clear_box
from sandbox.render.legend import NUMBER, LegendMeasures
from sandbox.render.overlay_pass import OverlayPass


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class HudLayout:
    """Lays the HUD out on `overlay` for frames of `size`; `captions` (pixels) is the lecture
    subtitles' strip when they have one of their own (app/layout.py)."""

    def __init__(self, overlay: OverlayPass, size: tuple[int, int]):
        self.overlay, self.size = overlay, size
        self.captions: Box | None = None
        self.measured = 0  # arrangements measured (Renderer.stats.layouts_measured)
        self.legend = LegendMeasures()  # the legend's widths, kept from one frame to the next
        self._arranged: tuple = (None, None)  # layout key, (arrangement, mini-map, subtitles)

    def arrange(self, state, trails, ui, area: Box, minimap_box) -> tuple[str, bool, bool]:
        """The layout of the HUD that leaves the surface the largest picture with no two panels
        overlapping: the arrangement of title and legend (hud.ARRANGEMENTS), whether the
        mini-map has room (in a small window a tall legend can reach down to it: then the top
        view goes, not a run) and, in lecture mode, whether the caption has room as a subtitle
        (else it goes into the title panel, as outside lecture mode: four long runs, a big title
        and a three-line subtitle do not fit above a 720-pixel timeline). Measured once per
        layout: it depends on the texts with their numbers as templates (the legend's steady
        widths), not on the step or the digits."""
        key = (
            area, ui, state.title, state.captions, state.theme, state.alert, len(state.hud_lines),
            state.show_legend, minimap_box, self.captions, bool(state.challenge),
            tuple((t.trail.name, NUMBER.sub("0", t.trail.label)) for t in trails),
        )  # fmt: skip
        if self._arranged[0] != key:
            self._arranged = (key, self._best(state, trails, ui, area, minimap_box))
            self.measured += 1
        return self._arranged[1]

    def _best(self, state, trails, ui, area: Box, minimap_box):
        """See `arrange`: the first layout, in order of preference (subtitles, then the
        mini-map kept), that has any arrangement free of overlaps, and its best arrangement."""
        subtitles = (True, False) if state.theme.subtitles else (False,)
        minimaps = (True, False) if minimap_box is not None else (False,)
        for subtitle, keep in itertools.product(subtitles, minimaps):
            best = (-math.inf, None)
            for arrangement in hud.ARRANGEMENTS:
                layout = (arrangement, keep, subtitle)
                boxes = self.panels(state, trails, ui, area, minimap_box, layout)
                self.overlay.discard()
                if any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2)):
                    continue
                box = clear_box(area, boxes, GAP * ui)
                score = min((box[2] - box[0]) / SURFACE_ASPECT, box[3] - box[1])
                if keep and score < 2 * (minimap_box[3]):
                    continue  # a top view as big as the view itself: the view gets its room
                best = max(best, (score, layout), key=lambda b: b[0])
            if best[1] is not None:
                return best[1]
        return ("below", False, False)  # nothing fits (a tiny window): the fewest panels

    def panels(
        self, state, trails, ui, area: Box, minimap_box, layout=("beside", True, True)
    ) -> list[Box]:
        """Queue the title, legend, mini-map frame, subtitles and alert inside `area` in the
        `layout` that `arrange` chose; returns their boxes (pixels), which the view and the
        axis labels keep clear of."""
        arrangement, keep_minimap, subtitles = layout
        minimap_box = minimap_box if keep_minimap else None
        overlay, theme = self.overlay, state.theme
        overlay.halo = theme.halo
        if theme.subtitles and not subtitles:  # the caption in the title panel instead
            state = replace(state, theme=replace(theme, subtitles=False))
        panels = hud.top_panels(overlay, state, trails, ui, area, arrangement, self.legend)
        if minimap_box is not None:
            panels.append(hud.minimap_frame(overlay, minimap_box, ui, theme))
        right = minimap_box[0] - hud.MARGIN * ui if minimap_box else area[2]
        bottom = area[3]
        if subtitles and theme.subtitles and self.captions is not None:  # a strip of its own
            strip = self.captions
            panels.append(hud.subtitle(overlay, state, self.size, strip, strip[2], True))
        elif subtitles and theme.subtitles:
            caption = hud.subtitle(overlay, state, self.size, area, right)
            panels.append(caption)
            bottom = caption[1] if caption else bottom
        if state.challenge:  # its own size whatever it says: see challenge_bar
            panels.append(challenge_bar(overlay, state, ui, area, right, bottom))
            bottom = panels[-1][1]
        if state.alert:
            panels.append(hud.alert_banner(overlay, state.alert, ui, area, right, bottom))
        return [box for box in panels if box is not None]
