"""The issue's endurance replay: 3·10⁶ steps of an analytic run, streamed with bounded memory.

At ~4-5k steps/s it takes ~12 min of CPU, so the test session starts it in a subprocess right
after collection (conftest.py), at the lowest CPU priority so it only uses what the rest of the
suite leaves idle, and `test_replay.py` checks it at the very end. Set SANDBOX_LONG_STEPS to
replay fewer steps while working on it locally.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builders import analytic_toml, run

TEST_NAME = "test_a_three_million_step_replay_streams_in_bounded_memory"
STEPS = int(os.environ.get("SANDBOX_LONG_STEPS", "3000000"))
TIMEOUT_S = 45 * 60  # far beyond the ~12 min it needs on a loaded 2-core machine: never a hang


def scenario_text(steps: int) -> str:
    """Noisy GD on a rotated quadratic bowl for `steps` steps."""
    noisy_gd = run("noisy gd", lr=0.2, noise=0.5, start=[2.0, -1.0])
    return analytic_toml(
        params={"l1": 4.0, "l2": 1.0, "angle": 30.0},
        bounds=[[-3.0, 3.0], [-3.0, 3.0]],
        runs=[noisy_gd],
        title="endurance",
        seed=3,
        steps=steps,
    )


# Prints the replay's exit code and the process's peak RSS in KiB. argv[3] is a niceness to add
# and, if not 0, SCHED_IDLE where there is one, as the app's worker has (set here rather than with
# preexec_fn, which may deadlock a child forked from a threaded parent).
# It also ends itself if the test session dies without stopping it (killed, not interrupted).
REPLAY_CODE = """
import os, resource, sys, threading, time
if hasattr(os, 'nice'):
    os.nice(int(sys.argv[3]))
if int(sys.argv[3]) and hasattr(os, 'SCHED_IDLE'):  # not above other tests' app workers
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
def _end_with_parent(parent=os.getppid()):
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
threading.Thread(target=_end_with_parent, daemon=True).start()
from sandbox.cli import main
code = main(['replay', sys.argv[1], '--out', sys.argv[2], '--quiet'])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def replay_in_subprocess(steps: int, directory: Path, nice: bool = False) -> subprocess.Popen:
    """Start `sandbox replay` of scenario_text(steps) with `steps` steps into `directory`/out."""
    scenario = directory / f"endurance_{steps}.toml"
    scenario.write_text(scenario_text(steps), encoding="utf-8")
    out = directory / f"out_{steps}"
    return subprocess.Popen(
        [sys.executable, "-c", REPLAY_CODE, str(scenario), str(out), "19" if nice else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class LongReplay:
    """The running endurance replay and the folder it writes to."""

    process: subprocess.Popen
    directory: Path
    steps: int

    @classmethod
    def start(cls) -> LongReplay:
        directory = Path(tempfile.mkdtemp(prefix="sandbox-endurance-"))
        return cls(replay_in_subprocess(STEPS, directory, nice=True), directory, STEPS)

    def result(self) -> tuple[int, int, str]:
        """Wait for the replay: (exit code, peak RSS in KiB, stderr)."""
        out, err = self.process.communicate(timeout=TIMEOUT_S)
        if self.process.returncode != 0 or not out.strip():
            return self.process.returncode or 1, 0, err
        code, peak = (int(v) for v in out.split())
        return code, peak, err

    @property
    def csv(self) -> Path:
        return self.directory / f"out_{self.steps}" / "runs" / "noisy_gd.csv"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
