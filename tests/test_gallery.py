"""`sandbox gallery`: the app's own window saved at each caption's step, and a contact sheet.

The app runs offscreen in a subprocess (a process gets one OpenGL context through pygame, and
the renderer tests of the session hold a headless one). The folder rules and the contact sheet
are tested in this process, without OpenGL.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from offscreen import python, sandbox
from PIL import Image

from sandbox.errors import OutputError
from sandbox.gallery import (
    INDEX,
    LABEL_PX,
    MANIFEST,
    PAD,
    GalleryError,
    GalleryFolder,
    Shot,
    draw_scenario,
    frame_name,
    gallery_steps,
    sheet,
)
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

SIZE = (320, 180)

# make_gallery in a fresh interpreter, noting what the window showed when each frame was taken
SPY = """
import json, sys
from pathlib import Path
import numpy as np
from sandbox import gallery

seen = []
frame_at = gallery._frame_at

def spy(app, name, step):
    rgb = frame_at(app, name, step)
    state = app.last_state
    same = bool(np.array_equal(rgb, app.renderer.read_rgb()))
    # the balls as drawn, and as they would be with the view's centre panned onto the middle
    # of the control panel (pan is in view heights: the centre moves by dx * height pixels)
    x0, _, x1, _ = app.layout().controls
    region = app.renderer.region  # where the view is framed, normalised device coordinates
    centre = (region[0] + region[1]) / 4 * app.window_size[0] + app.window_size[0] / 2
    panned = app.renderer.camera.pan(((x0 + x1) / 2 - centre) / app.window_size[1], 0)
    hidden = [gallery.hidden_balls(app), gallery.hidden_balls(app, panned)]
    seen.append([step, app.playback.step, app.playback.paused, state.step, state.caption, same,
                 hidden])
    return rgb

gallery._frame_at = spy
if __name__ == "__main__":
    lines = []
    shots, failures = gallery.make_gallery(
        Path(sys.argv[1]), only=["saddle"], size=(320, 180), log=lines.append
    )
    print(json.dumps({"seen": seen, "log": lines, "failures": failures}))
"""


@pytest.fixture(scope="module")
def saddle_gallery(tmp_path_factory):
    """A gallery of saddle at 320x180: (its folder, what the spy saw, its log lines)."""
    folder = tmp_path_factory.mktemp("gallery")
    script = folder.parent / "spy_gallery.py"
    script.write_text(SPY)
    out = folder / "out"
    p = python(
        f"import runpy, sys; sys.argv = ['', {str(out)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["failures"] == []
    return out, report["seen"], report["log"]


@pytest.mark.slow
def test_one_frame_per_caption_step_and_a_contact_sheet(saddle_gallery):
    out, _, log = saddle_gallery
    steps = gallery_steps(load_scenario(find_scenario("saddle")))
    assert steps == [0, 60, 150, 400]  # the three captions and the last step
    frames = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert frames == sorted([INDEX] + [frame_name("saddle", s) for s in steps])
    for step in steps:
        image = np.asarray(Image.open(out / frame_name("saddle", step)))
        assert image.shape == (SIZE[1], SIZE[0], 3)
        assert image.std() > 20  # drawn, not a blank backdrop
    # one row of four 320x180 thumbnails (the frames' own size), each under its label
    index = Image.open(out / INDEX)
    assert index.size == (PAD + 4 * (SIZE[0] + PAD), PAD + LABEL_PX + 6 + SIZE[1] + PAD)
    assert len(log) == 2 and log[0].startswith("gallery [1/1] saddle: steps 0, 60, 150, 400")


@pytest.mark.slow
def test_each_frame_is_taken_paused_at_its_captions_step(saddle_gallery):
    _, seen, _ = saddle_gallery
    scenario = load_scenario(find_scenario("saddle"))
    captions = {event.at: event.caption for event in scenario.timeline if event.caption}
    assert [row[0] for row in seen] == [0, 60, 150, 400]
    for step, playback_step, paused, shown, caption, same, _ in seen:
        assert (playback_step, paused, shown, same) == (step, True, step, True)
        assert caption == captions.get(step, captions[150])  # the last step keeps the last one


@pytest.mark.slow
def test_balls_under_a_panel_are_found(saddle_gallery):
    _, seen, log = saddle_gallery
    for step, *_, (as_drawn, panned) in seen:
        assert as_drawn == [], step  # the layout keeps every ball clear of the panels
        if step > 0:  # the three runs have parted: each is named
            assert [p.split(":")[0] for p in panned] == ["GD", "GD + noise 0.3", "GD + noise 0.05"]
            assert all("under the control panel, ball at" in p for p in panned)
    assert not any(line.startswith("  saddle step") for line in log)  # nothing to report


@pytest.mark.slow
def test_the_headless_backend_draws_the_frames_of_the_window(saddle_gallery, ctx, tmp_path):
    """The same frames drawn two ways: the gallery's pygame window (offscreen, a subprocess)
    and an App in this process on the headless backend (an EGL framebuffer). The worker has
    finished before each frame, so they show the same thing; the same renderer on the same
    rasteriser draws it to the same bytes."""
    from sandbox.app.window import App, Headless

    path = find_scenario("saddle")
    app = App(load_scenario(path), SIZE, source=path, backend=Headless(SIZE, ctx=ctx))
    try:
        with GalleryFolder(tmp_path / "out") as folder:
            shots = draw_scenario(app, "saddle", folder, stall_timeout=120)
    finally:
        app.close()
    assert [shot.step for shot in shots] == [0, 60, 150, 400]
    for shot in shots:
        window, headless = (
            np.asarray(Image.open(out / shot.file)) for out in (saddle_gallery[0], tmp_path / "out")
        )
        assert np.array_equal(window, headless), f"step {shot.step}: the two frames differ"


@pytest.mark.slow
def test_frames_at_different_captions_differ(saddle_gallery):
    out = saddle_gallery[0]
    first, later = (
        np.asarray(Image.open(out / frame_name("saddle", s)), dtype=int) for s in (0, 150)
    )
    assert (np.abs(first - later).max(axis=2) > 40).mean() > 0.002  # the balls moved


def test_an_unknown_only_name_exits_2_before_anything_runs(tmp_path):
    p = sandbox("gallery", str(tmp_path / "out"), "--only", "saddle", "no_such_scenario")
    assert p.returncode == 2
    assert "no bundled scenario named 'no_such_scenario'" in p.stderr
    assert "sandbox list" in p.stderr and not (tmp_path / "out").exists()


def test_a_foreign_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    p = sandbox("gallery", str(tmp_path), "--only", "saddle")
    assert p.returncode == 1
    assert "not empty and holds no earlier gallery" in p.stderr and "--force" in p.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# -- the folder, without OpenGL --------------------------------------------------------------


def _frame(value: int = 128) -> np.ndarray:
    return np.full((18, 32, 3), value, dtype=np.uint8)


def test_an_earlier_gallery_is_replaced_and_foreign_files_are_kept(tmp_path):
    with GalleryFolder(tmp_path) as folder:
        folder.save_frame(Shot(frame_name("saddle", 0), "saddle", 0), _frame())
        folder.save_frame(Shot(frame_name("saddle", 250), "saddle", 250), _frame())
    (tmp_path / "saddle" / "mine.txt").write_text("mine")
    with GalleryFolder(tmp_path) as folder:  # no --force needed: it is an earlier gallery
        assert set(folder.shots) == {frame_name("saddle", 0), frame_name("saddle", 250)}
        folder.drop({frame_name("saddle", 250), "saddle/mine.txt"})  # a caption moved
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert names == [MANIFEST, "saddle", "saddle/mine.txt", frame_name("saddle", 0)]


def test_force_writes_beside_foreign_files_but_never_over_them(tmp_path):
    (tmp_path / "saddle").mkdir()
    (tmp_path / "saddle" / "step000060.png").write_bytes(b"not ours")
    with pytest.raises(OutputError, match="not empty"):
        GalleryFolder(tmp_path).__enter__()
    with GalleryFolder(tmp_path, force=True) as folder:
        folder.save_frame(Shot(frame_name("saddle", 0), "saddle", 0), _frame())
        with pytest.raises(OutputError, match="in the way"):
            folder.save_frame(Shot(frame_name("saddle", 60), "saddle", 60), _frame())
    assert (tmp_path / "saddle" / "step000060.png").read_bytes() == b"not ours"
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["outputs"] == [frame_name("saddle", 0)]


def test_the_contact_sheet_is_a_grid_of_labelled_cells():
    red, blue = (Image.new("RGB", (40, 20), color) for color in ("red", "blue"))
    rgb = sheet([[("a  step 0", red), ("a  step 5", red)], [("b  step 0", blue)]])
    cell_h = LABEL_PX + 6 + 20
    assert rgb.shape == (PAD + 2 * (cell_h + PAD), PAD + 2 * (40 + PAD), 3)
    y, x = PAD + LABEL_PX + 6 + 10, PAD + 40 + PAD + 20  # middle of row 0, column 1
    assert tuple(rgb[y, x]) == (255, 0, 0)
    assert tuple(rgb[y + cell_h + PAD, PAD + 20]) == (0, 0, 255)
    assert rgb[PAD : PAD + LABEL_PX, PAD : PAD + 40].max() > 200  # the label is drawn


# -- waiting for the worker, with a stand-in app ---------------------------------------------


class _Model:
    def __init__(self, failure: str = ""):
        self.failure, self.finished = failure, False

    def available_step(self) -> int:
        return 7


class _StuckApp:
    """An app whose worker computed up to step 7 and then nothing more (or failed)."""

    def __init__(self, failure: str = ""):
        self.scenario = load_scenario(find_scenario("saddle"))
        self.model = _Model(failure)
        self.frames = 0

    def frame(self) -> bool:
        self.frames += 1
        return False


def test_a_stalled_worker_gives_the_scenario_up_with_a_clear_message(tmp_path):
    app = _StuckApp()
    with GalleryFolder(tmp_path) as folder, pytest.raises(GalleryError) as error:
        draw_scenario(app, "saddle", folder, stall_timeout=0.2)
    assert str(error.value) == "saddle: no new step for 0.2 s (computed up to step 7 of 400)"
    assert app.frames > 0 and not any(tmp_path.rglob("*.png"))


def test_a_failed_worker_is_reported_with_its_message(tmp_path):
    with GalleryFolder(tmp_path) as folder, pytest.raises(GalleryError, match="boom"):
        draw_scenario(_StuckApp(failure="ValueError: boom"), "saddle", folder, 60.0)
