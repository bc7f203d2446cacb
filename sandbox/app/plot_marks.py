"""What the instrument plots share: fixed colours, run selection, labels placed inside a plot,
numbers for hover text and values for log axes."""

from __future__ import annotations

import math

import numpy as np

from sandbox.app.plots import TimelineView
from sandbox.render.numbers import human

# Fixed colours (no run has them), dark theme first, then the light (lecture) theme's darker
# ones that still read on white.
CLASS_COLORS = (
    ((0.30, 0.85, 0.72), (0.95, 0.88, 0.30)),  # the data's two classes
    ((0.05, 0.55, 0.45), (0.70, 0.52, 0.00)),
)
REFERENCE_GREY = ((0.62, 0.62, 0.66), (0.40, 0.40, 0.44))  # SVM line, straight path, thresholds
CURVE_GREEN = ((0.35, 0.88, 0.45), (0.10, 0.55, 0.20))


def fixed(gui, colors):
    """The theme's one of a (dark, light) pair of fixed colours."""
    return colors[1] if gui.light else colors[0]


def visible(view: TimelineView) -> list[int]:
    return [i for i in range(len(view.names)) if i not in view.hidden]


def vec4(gui, color, alpha: float = 1.0):
    return gui.imgui.ImVec4(*color, alpha)


def label(
    gui, text: str, x: float, y: float, color, offset: tuple[float, float], below: float = -1e9
) -> float:
    """`text` in `color` near plot point (x, y): moved by `offset` pixels, then kept whole
    inside the plot area (a label at a curve's top end would otherwise be cut off) and its
    centre at least one line below pixel row `below`. Returns that centre's pixel row."""
    implot, imgui = gui.implot, gui.imgui
    if not (math.isfinite(x) and math.isfinite(y)):
        return below
    corner, size = implot.get_plot_pos(), implot.get_plot_size()
    point, text_size = implot.plot_to_pixels(x, y), imgui.calc_text_size(text)
    half_x, half_y = text_size.x / 2 + 3, text_size.y / 2 + 1
    px = min(max(point.x + offset[0], corner.x + half_x), corner.x + size.x - half_x)
    py = min(max(point.y + offset[1], corner.y + half_y), corner.y + size.y - half_y)
    py = max(py, below + 2 * half_y)  # under the label above it, even if that leaves the plot
    implot.push_style_color(implot.Col_.inlay_text, vec4(gui, color))
    implot.plot_text(text, x, y, imgui.ImVec2(px - point.x, py - point.y))
    implot.pop_style_color()
    return py


def number(value: float) -> str:
    return human(value) if math.isfinite(value) else "—"


def positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: the non-positive ones as NaN (a gap, not a line to 1e-300)."""
    values = np.asarray(values, dtype=np.float64)
    return np.ascontiguousarray(np.where(values > 0, values, np.nan))
