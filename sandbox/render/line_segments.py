"""Line segments in world space: the rows the trail, axis and marker code build, and the vertex
rows the line shader draws (pure numpy, no GL)."""

from __future__ import annotations

import numpy as np

from sandbox.render.layouts import SEGMENT_VERTEX

# Line segments in world space, before projection (float64 positions, per-segment looks).
WORLD_SEGMENT = np.dtype(
    [
        ("p0", "f8", 3),
        ("p1", "f8", 3),
        ("color", "f4", 3),
        ("fade", "f4", 2),
        ("width", "f4"),
        ("dash", "f4"),
        ("cap", "f4"),
    ]
)


def world_segments(p0, p1, color, fade=1.0, width=1.0, dash=0.0, cap=1.0) -> np.ndarray:
    """WORLD_SEGMENT rows from (N, 3) end points; the looks broadcast. `cap` 0 leaves out the
    round cap at a segment's end, for a segment whose successor starts at that exact point: the
    successor's start cap is the same disc, drawn once instead of twice."""
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 3)
    out = np.zeros(len(p0), dtype=WORLD_SEGMENT)
    out["p0"], out["p1"], out["color"] = p0, np.asarray(p1).reshape(-1, 3), color
    out["fade"], out["width"], out["dash"], out["cap"] = fade, width, dash, cap
    return out


def segment_vertices(segments: np.ndarray) -> np.ndarray:
    """SEGMENT_VERTEX rows (float32, world space) from WORLD_SEGMENT rows."""
    out = SEGMENT_VERTEX.empty(len(segments))
    out["in_p0"], out["in_p1"] = segments["p0"], segments["p1"]
    out["in_color"], out["in_fade"] = segments["color"], segments["fade"]
    out["in_width"], out["in_dash"] = segments["width"], segments["dash"]
    out["in_cap"] = segments["cap"]
    return out
