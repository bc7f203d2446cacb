"""Comparing pictures in tests (STYLE 10): a frame against a prediction or against the same
picture drawn a second way, under a named tolerance; on failure a diff image is written and its
path is in the message.

A tolerance says how far a channel may move before a pixel counts as changed, and what share of
the pixels may change; each named one says what it allows for, and where its numbers were
measured. The diff images go to $PICTURE_DIFFS (default: the system's temporary folder,
`picture-diffs/`): actual | expected | changed pixels in red.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Tolerance:
    """`level`: a pixel has changed when a channel differs by more than this (0 … 255);
    `share`: at most this share of the pixels may change."""

    name: str
    level: int
    share: float


EXACT = Tolerance("byte-identical", 0, 0.0)
# line edges that FXAA softens a little differently (jittering runs, caps at joints): 40 levels
# is a visible change; 0.056 % of the pixels changed where it was measured
LINE_EDGES = Tolerance("line edges", 40, 1e-3)
# the same scene at another render scale or with MSAA instead of FXAA: edges of the surface,
# trails and text move by up to a pixel (measured: see test_renderer_options_draw_the_same_scene)
RESAMPLED = Tolerance("resampled edges", 60, 0.04)


def changed_share(actual: np.ndarray, expected: np.ndarray, level: int) -> float:
    """The share of pixels whose largest channel difference exceeds `level`."""
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16)).max(axis=-1)
    return float((diff > level).mean())


def assert_pictures_match(
    actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance, name: str
) -> float:
    """Assert that two (H, W, 3) uint8 frames match under `tolerance`; returns the changed
    share. On failure writes `name`.png (actual | expected | changed pixels) and says where."""
    assert actual.shape == expected.shape, f"{name}: shapes {actual.shape} != {expected.shape}"
    share = changed_share(actual, expected, tolerance.level)
    if share > tolerance.share:
        path = write_diff(actual, expected, tolerance.level, name)
        raise AssertionError(
            f"{name}: {share:.4%} of the pixels changed by more than {tolerance.level} levels; "
            f"'{tolerance.name}' allows {tolerance.share:.4%}. Diff: {path}"
        )
    return share


def write_diff(actual: np.ndarray, expected: np.ndarray, level: int, name: str) -> Path:
    folder = Path(os.environ.get("PICTURE_DIFFS", Path(tempfile.gettempdir()) / "picture-diffs"))
    folder.mkdir(parents=True, exist_ok=True)
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16)).max(axis=-1) > level
    marked = (expected // 3).astype(np.uint8)
    marked[diff] = (255, 0, 0)
    path = folder / f"{name}.png"
    Image.fromarray(np.concatenate([actual, expected, marked], axis=1)).save(path)
    return path
