"""Progress where stderr is a log, not a terminal (issue 21): a line every LOG_SECONDS and a
last one, instead of a bar's carriage returns or minutes of silence. Replays, frames, videos,
bench (test_bench.py) and sweeps (test_sweep.py) all go through `progress_bar`."""

from __future__ import annotations

import io
import subprocess
import sys

import imageio.v3 as iio

from sandbox.cli import main
from sandbox.trace.progress import LOG_SECONDS, LogLines, NoProgress, counted, progress_bar


def test_a_line_every_few_seconds_and_one_at_the_end():
    now = [100.0]
    out = io.StringIO()
    lines = LogLines(60_000, "replay t", stream=out, clock=lambda: now[0])
    lines.update(1_000)  # no time has passed: nothing yet
    now[0] += LOG_SECONDS
    lines.update(11_000)
    now[0] += LOG_SECONDS / 2
    lines.update(1_000)  # half an interval: still the one line
    now[0] += LOG_SECONDS / 2
    lines.update(1_000)
    lines.close()
    assert out.getvalue().splitlines() == [
        "replay t: 12,000 of 60,000 steps (20 %), 10 s",
        "replay t: 14,000 of 60,000 steps (23 %), 20 s",
        "replay t: 14,000 steps in 20 s",
    ]


def test_replay_into_a_log_says_what_it_did(tmp_path):
    """stderr is a pipe here, as in CI: the replay ends with one plain line, no bar."""
    command = [sys.executable, "-m", "sandbox", "replay", "saddle", "--out"]
    p = subprocess.run([*command, str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "\r" not in p.stderr
    last = p.stderr.splitlines()[-1]
    assert last.startswith("replay Jiggling free of a saddle: 1,203 steps in "), last
    quiet = subprocess.run(
        [*command, str(tmp_path / "q"), "--quiet"], capture_output=True, text=True
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_progress_bar_is_lines_in_a_log_and_nothing_when_quiet(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log: not a terminal
    lines = progress_bar(12, "sweep", "tasks", initial=11)
    assert isinstance(lines, LogLines)
    assert list(counted(["last task"], lines)) == ["last task"]
    assert sys.stderr.getvalue().startswith("sweep: 12 tasks in ")  # the cached 11 count
    assert isinstance(progress_bar(12, "sweep", enabled=False), NoProgress)


def test_frames_and_a_video_say_what_they_drew(tmp_path, capsys):
    """`--frames N` writes N PNGs, `--video-frames M` makes the video M frames; each says so
    in the log (stderr is captured here, not a terminal)."""
    video = tmp_path / "v.gif"
    args = ["--frames", "3", "--video", str(video), "--video-frames", "4", "--size", "64x48"]
    assert main(["replay", "saddle", "--out", str(tmp_path / "o"), *args]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(list((tmp_path / "o" / "frames").glob("frame_*.png"))) == 3
    assert iio.improps(video, index=None).shape[0] == 4
    assert err[-2].startswith("frames: 3 frames in "), err
    assert err[-1].startswith("video v.gif: 4 frames in "), err
