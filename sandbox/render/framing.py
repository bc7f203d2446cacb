"""Where the 3-D view goes: the largest part of the frame that no panel covers.

The title, legend, mini-map, subtitles and the app's docked panels are boxes on the frame; the
surface is framed in the biggest rectangle between them, so no panel ever covers a run (a
rectangle at the top of the frame reserved "for the title" did not stay true: a legend with four
runs reaches a third of the way down).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels from the top left
Region = tuple[float, float, float, float]  # x0, x1, y0, y1 in normalised device coordinates

SURFACE_ASPECT = 1.5  # width / height of a surface seen from the front left, 40–70° up
GAP = 10.0  # pixels (at 720 of height) kept between the view and any panel


def clear_box(area: Box, obstacles: Sequence[Box], gap: float = GAP) -> Box:
    """The rectangle inside `area` that overlaps no obstacle (each grown by `gap`) and holds the
    largest picture of aspect SURFACE_ASPECT; ties go to the larger rectangle. Every maximal
    empty rectangle has its edges on the area's or the obstacles' edges, so trying those pairs
    finds the best one (a handful of boxes: a few thousand candidates, one numpy pass)."""
    ax0, ay0, ax1, ay1 = area
    grown = np.array(
        [(b[0] - gap, b[1] - gap, b[2] + gap, b[3] + gap) for b in obstacles], dtype=np.float64
    ).reshape(-1, 4)
    inside = (grown[:, 0] < ax1) & (grown[:, 2] > ax0) & (grown[:, 1] < ay1) & (grown[:, 3] > ay0)
    grown = grown[inside]
    xs = np.unique(np.clip(np.concatenate([[ax0, ax1], grown[:, 0], grown[:, 2]]), ax0, ax1))
    ys = np.unique(np.clip(np.concatenate([[ay0, ay1], grown[:, 1], grown[:, 3]]), ay0, ay1))
    x_pairs = np.array(list(combinations(xs, 2)), dtype=np.float64).reshape(-1, 2)
    y_pairs = np.array(list(combinations(ys, 2)), dtype=np.float64).reshape(-1, 2)
    # every (x pair, y pair): shape (X, Y)
    x0, x1 = x_pairs[:, 0][:, None], x_pairs[:, 1][:, None]
    y0, y1 = y_pairs[:, 0][None, :], y_pairs[:, 1][None, :]
    free = np.ones((len(x_pairs), len(y_pairs)), dtype=bool)
    for bx0, by0, bx1, by1 in grown:
        free &= ~((x0 < bx1) & (bx0 < x1) & (y0 < by1) & (by0 < y1))
    if not free.any():
        return area
    width, height = x1 - x0, y1 - y0
    picture = np.minimum(width / SURFACE_ASPECT, height)  # the height of the picture it holds
    score = np.where(free, picture + 1e-6 * width * height / max(ax1 - ax0, 1.0), -np.inf)
    i, j = np.unravel_index(np.argmax(score), score.shape)
    return float(x_pairs[i, 0]), float(y_pairs[j, 0]), float(x_pairs[i, 1]), float(y_pairs[j, 1])


def to_region(box: Box, size: tuple[int, int]) -> Region:
    """A pixel box as (x0, x1, y0, y1) in normalised device coordinates (y up)."""
    width, height = size
    left, top, right, bottom = box
    x0, x1 = 2 * left / width - 1, 2 * right / width - 1
    return x0, x1, 1 - 2 * bottom / height, 1 - 2 * top / height


def same_region(a: Region | None, b: Region | None, tolerance: float = 0.02) -> bool:
    """Whether two regions differ by less than `tolerance` (1 % of the frame) on every edge: a
    framed view is not moved for a few pixels."""
    if a is None or b is None:
        return a is b
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))
