"""Colour themes of the frame: the default dark slate, and a light one for projectors.

A projector washes out dark greys and thin light text; lecture mode draws dark text on white
panels over a light backdrop, at a larger type size, with the caption as a subtitle.
"""

from __future__ import annotations

from dataclasses import dataclass

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class Theme:
    """Colours (RGBA in [0, 1]) and type size of the HUD and backdrop."""

    backdrop: RGBA
    minimap_backdrop: RGBA
    panel: RGBA
    text: RGBA
    dim: RGBA
    warn: RGBA
    edge: RGBA  # mini-map border
    halo: RGBA  # behind text drawn straight over the 3-D scene
    help_panel: RGBA
    help_key: RGBA
    type_scale: float = 1.0  # multiplies every HUD font size
    subtitles: bool = False  # the caption goes to the bottom centre in large type

    def on_panel(self, color: tuple[float, float, float] | None) -> RGBA:
        """Text in `color` on a panel (None: the dim text colour): darkened on a light panel,
        where bright yellow or cyan would hardly read; the hue stays, so a legend line in an
        arrow's colour still names its arrow."""
        if color is None:
            return self.dim
        shade = 0.55 if sum(self.panel[:3]) / 3 > 0.5 else 1.0
        return (*(shade * c for c in color), 1.0)


DARK = Theme(
    backdrop=(0.13, 0.145, 0.175, 1.0),  # dark slate: viridis and white text both stand out
    minimap_backdrop=(0.06, 0.07, 0.09, 1.0),
    panel=(0.05, 0.06, 0.08, 0.78),
    text=(1.0, 1.0, 1.0, 1.0),
    dim=(0.80, 0.83, 0.88, 1.0),
    warn=(1.0, 0.45, 0.40, 1.0),
    edge=(0.85, 0.87, 0.9, 0.9),
    halo=(0.02, 0.02, 0.03, 0.8),
    help_panel=(0.03, 0.04, 0.06, 0.9),
    help_key=(1.0, 0.85, 0.4, 1.0),
)

LECTURE = Theme(
    backdrop=(0.97, 0.97, 0.98, 1.0),
    minimap_backdrop=(0.90, 0.91, 0.93, 1.0),
    panel=(1.0, 1.0, 1.0, 0.93),
    text=(0.04, 0.05, 0.08, 1.0),
    dim=(0.18, 0.20, 0.26, 1.0),
    warn=(0.75, 0.05, 0.05, 1.0),
    edge=(0.15, 0.16, 0.2, 0.9),
    halo=(1.0, 1.0, 1.0, 0.85),
    help_panel=(1.0, 1.0, 1.0, 0.96),
    help_key=(0.62, 0.16, 0.0, 1.0),
    type_scale=1.15,
    subtitles=True,
)
