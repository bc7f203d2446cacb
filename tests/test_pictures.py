"""The picture comparison the render tests use (tests/pictures.py) fails when it should and
leaves a diff image behind."""

from __future__ import annotations

import numpy as np
import pytest
from pictures import EXACT, LINE_EDGES, assert_pictures_match
from PIL import Image


def test_a_changed_pixel_beyond_the_tolerance_fails_and_writes_a_diff(tmp_path, monkeypatch):
    monkeypatch.setenv("PICTURE_DIFFS", str(tmp_path))
    expected = np.full((100, 100, 3), 90, dtype=np.uint8)
    actual = expected.copy()
    actual[10, 10] = (200, 90, 90)  # one pixel in 10,000: within "line edges" (0.1 %)
    assert assert_pictures_match(actual, expected, LINE_EDGES, "one") == 1e-4
    with pytest.raises(AssertionError, match=r"0\.0100% of the pixels .* Diff: .*two\.png"):
        assert_pictures_match(actual, expected, EXACT, "two")
    diff = np.asarray(Image.open(tmp_path / "two.png"))
    assert diff.shape == (100, 300, 3) and tuple(diff[10, 210]) == (255, 0, 0)
    actual[:20] = 0  # 20 % of the frame: beyond any named tolerance
    with pytest.raises(AssertionError):
        assert_pictures_match(actual, expected, LINE_EDGES, "three")
