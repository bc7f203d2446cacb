"""Lecture mode and `sandbox present` in the real window (offscreen), each in its own process."""

from __future__ import annotations

import numpy as np
import pytest
from offscreen import sandbox
from panel_driver import drive, ok
from PIL import Image


@pytest.mark.slow
def test_lecture_mode_screenshot_offscreen(tmp_path):
    """The acceptance command: light theme, no panel, the caption as a large subtitle."""
    shot = tmp_path / "out.png"
    p = sandbox("run", "saddle", "--lecture", "--frames", "90", "--screenshot", str(shot))
    assert p.returncode == 0, p.stderr
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    height, width, _ = image.shape
    assert image[5, width // 2].min() > 230  # light backdrop at the top edge
    # the subtitle: a white box in the bottom middle holding dark text at least H/25 tall
    band = image[int(0.75 * height) :, int(0.1 * width) : int(0.6 * width)]
    dark_rows = np.where((band.sum(axis=2) < 200).sum(axis=1) > 3)[0]
    assert len(dark_rows), "no subtitle text"
    lines = np.split(dark_rows, np.where(np.diff(dark_rows) > 3)[0] + 1)
    tallest = max(line[-1] - line[0] + 1 for line in lines)
    assert tallest >= height / 25 * 0.7, (tallest, height)  # glyph extent ≈ 0.75 × font size


@pytest.mark.slow
def test_present_steps_through_captions_then_the_playlist(tmp_path):
    ok(
        drive(
            """
            paths = [find_scenario("saddle"), find_scenario("learning_rate")]
            app = App(load_scenario(paths[0]), (640, 360), source=paths[0], lecture_mode=True,
                      playlist=paths)
            assert not app.show_panel
            frames_until(lambda: app.last_state is not None)
            seen = []
            for _ in range(6):
                press(pygame.K_PAGEDOWN)
                frames_until(lambda: app.playback.target is None and app.pending is None)
                seen.append((app.source.stem, app.playback.step))
            assert seen[:2] == [("saddle", 60), ("saddle", 150)], seen
            assert seen[2][0] == "learning_rate", seen
            press(pygame.K_PAGEUP)
            frames_until(lambda: app.playback.target is None)
            assert app.source.stem in ("saddle", "learning_rate")
            app.close()
            print("ok")
            """
        )
    )


def test_a_deck_with_a_missing_scenario_exits_2_naming_the_line(tmp_path):
    deck = tmp_path / "deck.toml"
    deck.write_text('title = "Lecture 3"\nscenarios = ["saddle", "no_such_thing"]\n')
    p = sandbox("present", str(deck), "--frames", "1", timeout=120)
    assert p.returncode == 2, p.stderr
    assert f"{deck}:2: scenarios[1]: no scenario file" in p.stderr


@pytest.mark.slow
def test_lecture_mode_shows_the_plots_of_a_scenario_whose_claim_is_in_them():
    """Issue 16: in lecture mode the panels were hidden, so max_margin's margin, angle and data
    (its claim) were drawn nowhere. A scenario with [view] plots opens with the timeline and
    the control panel collapsed to its bar; one without keeps the clean view."""
    ok(
        drive(
            """
            app = App(load_scenario(find_scenario("max_margin")), (1280, 720), lecture_mode=True)
            frames_until(lambda: app.camera is not None and "plots" in app.panel_state.item_rects)
            x0, y0, x1, y1 = app.panel_state.item_rects["panel"]
            # collapsed to its bar (measured 28 px high)
            assert app.show_panel and not app.panel_state.controls_open and y1 - y0 < 40
            plots = app.panel_state.item_rects["plots"]
            assert plots[3] - plots[1] > 200  # open (measured 555 px of 720)
            app.open(find_scenario("saddle"))
            assert not app.show_panel
            app.close()
            print("ok")
            """
        )
    )
