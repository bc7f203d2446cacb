"""Recording at the speed the user saw: irregular frames resampled to a constant rate, with
synthetic clocks (no sleeping)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pytest
from app_doubles import HeadlessApp

from sandbox.app.recording import FrameResampler, Recording, minutes
from sandbox.render.numbers import human


def drawn_times(fps: float = 19, seconds: float = 7, gap: tuple[float, float] = (3, 5)):
    """Draw times at `fps` for `seconds`, nothing during `gap` (a paused, still view)."""
    times = np.arange(0, seconds, 1 / fps)
    return times[(times < gap[0]) | (times >= gap[1])]


def test_the_output_lasts_the_wall_time_and_shows_the_frame_on_screen_at_each_slot():
    out: list[int] = []
    frames = FrameResampler(out.append, fps=30)
    times = drawn_times()
    for index, t in enumerate(times):
        frames.add(index, t)
    seconds = frames.finish(7.0)
    assert seconds == pytest.approx(7.0, abs=1 / 30) and len(out) == 210
    for k, shown in enumerate(out):  # output frame k is the last drawn at or before k / 30
        assert shown == np.searchsorted(times, k / 30 + 1e-9, side="right") - 1
    held = out[round(3.5 * 30) : round(4.9 * 30)]  # the pause is the frame before it, held
    assert set(held) == {np.searchsorted(times, 3.0) - 1}


def test_frames_faster_than_the_rate_are_dropped_and_idle_ticks_advance_time():
    out: list[int] = []
    frames = FrameResampler(out.append, fps=10)
    for index in range(100):  # 100 fps for 1 s
        frames.add(index, index / 100)
    frames.tick(3.0)  # two idle seconds: the app ticks the recording while nothing is drawn
    assert len(out) == 30 and out[:10] == list(range(0, 100, 10)) and set(out[10:]) == {99}
    assert frames.finish(3.0) == pytest.approx(3.0)


def test_a_single_frame_gives_a_one_frame_video():
    out: list[str] = []
    frames = FrameResampler(out.append, fps=30)
    frames.add("only", 5.0)
    assert frames.finish(5.0) == pytest.approx(1 / 30) and out == ["only"]


def test_a_recorded_mp4_lasts_the_recorded_time(tmp_path):
    """19 fps for 7 s with a 2 s pause lasts 7 s, not 7 s of frames stamped at 60 fps."""
    import imageio_ffmpeg

    path = tmp_path / "rec.mp4"
    recording = Recording(path, started=100.0)
    for index, t in enumerate(drawn_times()):
        recording.add(np.full((48, 64, 3), index, np.uint8), 100.0 + t)
    seconds = recording.finish(107.0)
    count, duration = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert count == 210 and abs(duration - 7.0) <= 1 / 30 and seconds == pytest.approx(7.0)
    assert [p.name for p in tmp_path.iterdir()] == ["rec.mp4"]  # no partial file left behind


def test_a_recording_in_an_unwritable_folder_fails_at_once(tmp_path):
    with pytest.raises(OSError):
        Recording(tmp_path / "missing" / "rec.mp4", started=0.0)


def test_an_aborted_recording_leaves_no_file(tmp_path):
    recording = Recording(tmp_path / "rec.mp4", started=0.0)
    recording.add(np.zeros((32, 32, 3), np.uint8), 0.0)
    recording.add(np.zeros((32, 32, 3), np.uint8), 1.0)
    recording.abort()
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_that_fails_stops_the_recording_with_an_oserror(tmp_path):
    """The window catches OSError from `add` and `finish` (a full disk, ffmpeg gone)."""

    class Broken:
        def send(self, frame):
            raise OSError("No space left on device")

        def close(self):
            pass

    recording = Recording(tmp_path / "rec.mp4", started=0.0)
    recording.add(np.zeros((32, 32, 3), np.uint8), 0.0)
    recording.add(np.zeros((32, 32, 3), np.uint8), 0.1)  # the encoder has started
    encoder = recording._writer
    ffmpeg, encoder._writer = encoder._writer, Broken()
    with pytest.raises(OSError, match="No space left"):
        for k in range(2, 100):  # the failure shows at a later frame, never a hang
            recording.add(np.zeros((32, 32, 3), np.uint8), k / 10)
    ffmpeg.close()
    recording.abort()
    assert list(tmp_path.iterdir()) == []


def test_elapsed_time_reads_as_minutes_and_seconds():
    assert [minutes(s) for s in (0, 7.9, 61, 600)] == ["0:00", "0:07", "1:01", "10:00"]


# --- GIF palettes ----------------------------------------------------------------------------


def striped_frame(colors: np.ndarray, seed: int = 0) -> np.ndarray:
    """A shaded viridis backdrop (thousands of colours) crossed by thin shaded lines of each
    run colour, with a small swatch of the exact colour at the left of each line, as the
    legend draws it."""
    from matplotlib import colormaps

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:180, 0:320]
    rgb = colormaps["viridis"](x / 320 * 0.7 + y / 180 * 0.3)[..., :3]
    rgb = rgb * rng.uniform(0.8, 1.0, (180, 320, 1))
    for i, color in enumerate(colors):
        rgb[10 + 25 * i : 13 + 25 * i, 20:300] = color * rng.uniform(0.6, 1.0, (3, 280, 1))
        rgb[10 + 25 * i : 12 + 25 * i, 10:16] = color
    return (rgb * 255).round().astype(np.uint8)


def test_a_gif_frame_keeps_every_run_colour_exactly():
    """Median cut alone moved the red, white, magenta, orange, blue and pink swatches by 14-57
    levels here (red and magenta towards each other); reserved, they stay exact."""
    from PIL import Image

    from sandbox.render.frames import gif_frame
    from sandbox.render.scene import RUN_COLORS

    true = (np.array(RUN_COLORS) * 255).round().astype(int)
    rgb = striped_frame(np.array(RUN_COLORS))
    shown = np.asarray(gif_frame(rgb, [tuple(c) for c in true]).convert("RGB")).astype(int)
    swatches = np.array([shown[10 + 25 * i, 12] for i in range(len(true))])
    assert np.abs(swatches - true).max() == 0
    plain = Image.fromarray(rgb).quantize(255, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    before = np.asarray(plain.convert("RGB")).astype(int)
    assert np.abs(np.array([before[10 + 25 * i, 12] for i in range(6)]) - true).max() > 10
    # the rest looks about as close to the frame as with median cut alone (2.6 vs 2.3 levels)
    assert np.abs(shown - rgb).mean() < 1.25 * np.abs(before - rgb).mean()


def test_a_replayed_gif_keeps_the_red_and_magenta_runs_apart(ctx, tmp_path):
    """Through `write_video`: each run's colour is in the decoded GIF, within 2 levels."""
    from PIL import Image, ImageSequence

    from sandbox.render.examples import saddle_scene
    from sandbox.render.frames import gif_reserved_colors, write_video

    states = [saddle_scene(step) for step in (20, 60)]
    gif = write_video(states, tmp_path / "run.gif", (320, 180), fps=10, ctx=ctx)
    frames = [
        np.asarray(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(Image.open(gif))
    ]
    true = np.array([[round(255 * c) for c in t.color] for t in states[-1].trails])
    assert len(true) >= 3 and tuple(true[0]) != tuple(true[2])  # red and magenta
    distance = np.abs(frames[-1][:, :, None, :] - true[None, None]).max(axis=-1).min(axis=(0, 1))
    assert distance.max() <= 2, distance
    assert set(map(tuple, true)) <= set(gif_reserved_colors(states))


# --- legend width ----------------------------------------------------------------------------


def test_the_legend_keeps_its_width_while_the_losses_change(ctx):
    """Videos jittered: the legend box followed the digits (±15 px)."""
    from sandbox.render import hud
    from sandbox.render.examples import saddle_scene
    from sandbox.render.overlay_pass import OverlayPass
    from sandbox.render.scene import Trail
    from sandbox.render.world import WorldTransform, prepare_trail

    overlay = OverlayPass(ctx)
    state = saddle_scene(20)
    world = WorldTransform.from_state(state)
    grid = world.normalised_heights(state.heights)

    def width(loss: float, label: str = "", line: str = "") -> float:
        trails = [
            prepare_trail(Trail(t.name, t.color, t.xy[-1:], [loss], label=label), world, grid)
            for t in state.trails
        ]
        lines = (line,) if line else ()
        return hud.legend_width(overlay, replace(state, hud_lines=lines), trails, 1.0)

    try:
        losses = (0.5, 0.0001234, -12.5, 1.5e7, 0.0, 3e-13, float("nan"))
        assert len({width(loss) for loss in losses}) == 1
        labels = [f"loss {human(loss)}  lr {human(lr)}" for loss, lr in ((0.5, 0.1), (1e-4, 0.03))]
        assert width(1.0, labels[0]) == width(1.0, labels[1])
        sharpness = [f"sharpness {human(s)}   2/lr = 40" for s in (3.2, 38.14)]
        assert width(1.0, line=sharpness[0]) == width(1.0, line=sharpness[1])
        assert width(1.0, "loss 0.5  lr 0.1") > width(1.0, "loss 0.5")  # text still counts
    finally:
        overlay.release()


# --- the app's s and v keys ------------------------------------------------------------------


def test_s_and_v_save_with_a_notice_and_record_at_the_speed_shown(ctx, tmp_path, monkeypatch):
    """The app in-process on the headless backend: `s` saves a PNG and says where; `v` records
    a video as long as the recording lasted, paused part included; a folder that cannot be
    written gives an error notice, and the app goes on. The notices are on the screen (what
    the window shows), not in the frame."""
    import imageio_ffmpeg
    import pygame

    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o555)
    if os.access(read_only, os.W_OK):  # root writes anywhere: /proc takes no new files
        read_only = "/proc"
    monkeypatch.chdir(tmp_path)
    with HeadlessApp(ctx) as driver:
        app = driver.app
        app.show_panel = False  # lecture mode's view: only the notices tell what happened

        def frames_for(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if not app.frame():
                    time.sleep(0.01)  # as run_app paces an idle loop

        driver.frames_until(lambda: app.playback.step >= 5)
        driver.press(pygame.K_SPACE)
        driver.press(pygame.K_s)
        shot = tmp_path / f"sandbox-step{app.playback.step:06d}.png"
        assert shot.exists() and app.toast.text == f"saved {shot}", app.toast
        corner = (slice(200, 270), slice(0, 240))  # the notices' corner, bottom left
        shown, frame = app.backend.read_screen().astype(int), app.renderer.read_rgb().astype(int)
        assert np.abs(shown[corner] - frame[corner]).max() > 100  # on the screen, not the frame

        t0 = time.monotonic()
        driver.press(pygame.K_v)
        t1 = time.monotonic()
        assert app.recorder is not None and app.toast.text == "recording… (v to stop)"
        frames_for(1.0)  # paused: nothing new to draw, yet the recording goes on
        driver.press(pygame.K_SPACE)
        frames_for(1.0)
        t2 = time.monotonic()
        driver.press(pygame.K_v)
        t3 = time.monotonic()
        assert app.recorder is None and app.toast.text.startswith("saved recording "), app.toast
        video = app.toast.text.removeprefix("saved recording ").rsplit(",", 1)[0]
        count, seconds = imageio_ffmpeg.count_frames_and_secs(video)
        # it lasts from one key press to the other, each somewhere within its frame
        assert t2 - t1 - 1 / 30 <= seconds <= t3 - t0 + 1 / 30, (seconds, t0, t1, t2, t3)
        assert app.toast.text.endswith(f"{seconds:.1f} s")

        os.chdir(read_only)
        driver.press(pygame.K_s)
        assert app.toast.error and app.toast.text.startswith("could not save"), app.toast
        driver.press(pygame.K_v)
        assert app.recorder is None and app.toast.error and "cannot record" in app.toast.text
        assert app.running
