"""Progress where stderr is a log, not a terminal (issue 21): a line every LOG_SECONDS and a
last one, instead of a bar's carriage returns or minutes of silence."""

from __future__ import annotations

import io
import subprocess
import sys

from sandbox.trace.progress import LOG_SECONDS, LogLines


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
