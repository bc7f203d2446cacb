"""Issue 15, data safety: no replay ever removes or changes a file it did not write.

Foreign files (`*.part` ones included, the probe's case) lie beside and inside --out; each case
below refuses, fails, interrupts, terminates or forces a replay and then checks that every one of
them is byte-for-byte and mtime-for-mtime as it was, and that no staging folder is left behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sandbox.pipeline.stream
from sandbox.cli import main
from sandbox.trace.outdir import MANIFEST

CONTRACT = Path(__file__).parent / "contract"
TWO_BOWLS = CONTRACT / "examples" / "two_bowls.toml"
OUTPUTS = {
    "runs/calm_gd.csv",
    "runs/too_bold__lr_0_6_.csv",
    "summary.json",
    "surface.npz",
    MANIFEST,
}

FOREIGN_BESIDE = ("beside.part", "beside.txt")
FOREIGN_INSIDE = (
    "Downloads/big.iso.part",  # the probe's file
    "notes.txt",
    ".hidden.part",
    "runs/mine.csv.part",  # in the replay's own sub-folders too
    "runs/keep.txt",
    "frames/holiday.png",
    "frames/frame_99999.part",
)


def plant(tmp_path: Path) -> tuple[Path, dict[Path, tuple[bytes, int]]]:
    """--out with the user's files in and beside it; returns out and their snapshot."""
    out = tmp_path / "out"
    paths = [tmp_path / n for n in FOREIGN_BESIDE] + [out / n for n in FOREIGN_INSIDE]
    for i, path in enumerate(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"user data {i}\n".encode())
        os.utime(path, ns=(1_000_000_000 * (i + 1), 1_000_000_000 * (i + 1)))
    return out, snapshot(paths)


def snapshot(paths) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def assert_untouched(before: dict[Path, tuple[bytes, int]], out: Path) -> None:
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before if p.exists()}
    assert after == before, sorted(set(map(str, before)) - set(map(str, after)))
    assert not list(out.glob(".sandbox-staging-*")), "a staging folder was left behind"


def replay(out: Path, *extra: str, scenario: Path = TWO_BOWLS) -> int:
    return main(["replay", str(scenario), "--out", str(out), "--quiet", *extra])


def test_a_refused_replay_changes_nothing(tmp_path, capsys):
    out, before = plant(tmp_path)
    assert replay(out) == 1
    assert "not empty" in capsys.readouterr().err
    assert_untouched(before, out)
    assert not (out / "summary.json").exists()


def test_a_forced_replay_replaces_only_its_own_files(tmp_path):
    out, before = plant(tmp_path)
    assert replay(out, "--force") == 0
    assert_untouched(before, out)
    assert replay(out, "--force") == 0  # and again, over its own outputs
    assert_untouched(before, out)
    ours = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert ours == OUTPUTS | set(FOREIGN_INSIDE)
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest["outputs"]) == OUTPUTS - {MANIFEST}


def boom(*args, **kwargs):
    """A run failing at once, as a bug would."""
    raise RuntimeError("simulated failure in the middle of a run")
    yield  # a generator, as a run's records are


@pytest.mark.parametrize(
    ("error", "code"),
    [(RuntimeError("simulated failure"), 1), (KeyboardInterrupt(), 130)],
    ids=["failed", "interrupted"],
)
def test_a_failed_or_interrupted_forced_replay_keeps_the_earlier_one(
    tmp_path, monkeypatch, error, code
):
    out, before = plant(tmp_path)
    assert replay(out, "--force") == 0
    earlier = snapshot([out / n for n in OUTPUTS])
    real = sandbox.pipeline.stream.steps

    def failing(prepared, run, *args, **kwargs):
        for step in real(prepared, run, *args, **kwargs):
            if run.name == "Calm GD" and step.step == 50:
                raise error
            yield step

    monkeypatch.setattr(sandbox.pipeline.stream, "steps", failing)
    assert replay(out, "--force") == code
    assert_untouched(before, out)
    assert_untouched(earlier, out)  # the earlier replay is still whole and complete


def test_a_full_disk_during_the_commit_leaves_no_complete_looking_folder(tmp_path, monkeypatch):
    import sandbox.trace.outdir as outdir

    out, before = plant(tmp_path)
    assert replay(out, "--force") == 0
    real = os.replace

    def full(src, dst):  # the move from the staging folder into --out fails
        if str(dst) == str(out / "runs" / "too_bold__lr_0_6_.csv"):
            raise OSError(28, "No space left on device", str(src))
        real(src, dst)

    monkeypatch.setattr(outdir.os, "replace", full)
    assert replay(out, "--force") == 1
    assert_untouched(before, out)
    assert not (out / "summary.json").exists()  # incomplete, and says so
    monkeypatch.undo()
    assert replay(out, "--force") == 0  # the manifest still knows every file of ours
    assert_untouched(before, out)


def long_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text(TWO_BOWLS.read_text().replace("steps = 120", "steps = 2000000"))
    return path


def test_sigterm_unwinds_like_ctrl_c(tmp_path):
    out, before = plant(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "replay", str(long_scenario(tmp_path))]
        + ["--out", str(out), "--force", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not list(out.glob(".sandbox-staging-*/runs/*.part")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "terminated" in err
    assert_untouched(before, out)
    assert not (out / "summary.json").exists()


def test_a_second_replay_into_a_busy_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)  # as a running replay holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert replay(out) == 1
        assert "another replay is writing into --out" in capsys.readouterr().err
    finally:
        os.close(fd)
    assert list(out.iterdir()) == []
    assert replay(out) == 0  # the lock goes with its holder


def test_two_replays_racing_into_one_folder(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sandbox", "replay", str(TWO_BOWLS), "--out", str(out)]
    procs = [
        subprocess.Popen([*command, "--force", "--quiet"], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert 0 in [code for code, _ in results], results
    for code, err in results:  # the other one finishes after, or is refused while it runs
        assert code == 0 or "another replay is writing" in err, err
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == OUTPUTS


def test_a_file_in_the_way_is_an_error_not_overwritten(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    mine = out / "runs" / "calm_gd.csv"  # the user's, with no replay's manifest around it
    mine.write_text("my own numbers\n")
    assert replay(out, "--force") == 1
    assert "runs/calm_gd.csv is in the way" in capsys.readouterr().err
    assert mine.read_text() == "my own numbers\n"
    assert sorted(p.name for p in out.rglob("*")) == ["calm_gd.csv", "runs"]


def test_a_link_in_place_of_a_folder_is_not_followed(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "calm_gd.csv").write_text("someone else's\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs").symlink_to(elsewhere)
    assert replay(out, "--force") == 1
    assert "is in the way" in capsys.readouterr().err
    assert (elsewhere / "calm_gd.csv").read_text() == "someone else's\n"
    assert [p.name for p in elsewhere.iterdir()] == ["calm_gd.csv"]


def test_a_tampered_manifest_cannot_point_outside(tmp_path):
    out, before = plant(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST).write_text(
        json.dumps({"outputs": ["../victim.txt", str(victim), "notes.txt/../../victim.txt"]})
    )
    assert replay(out, "--force") == 0
    assert victim.read_text() == "keep me"
    assert_untouched(before, out)


def test_forced_replays_clear_an_earlier_replays_plots_and_frames(tmp_path):
    out, before = plant(tmp_path)
    extra = ("--plots", "--frames", "3", "--size", "64x48")
    assert replay(out, "--force", *extra) == 0
    assert {p.name for p in (out / "frames").glob("frame_*.png")} == {
        f"frame_{i:05d}.png" for i in range(3)
    }
    assert (out / "loss.png").exists()
    assert replay(out, "--force") == 0
    assert not (out / "loss.png").exists() and not list(out.glob("frames/frame_*.png"))
    assert_untouched(before, out)  # the user's frames/holiday.png stays, and its folder


def test_a_replay_from_before_manifests_is_replaced_by_its_summary(tmp_path):
    out, before = plant(tmp_path)
    assert replay(out, "--force", "--plots") == 0
    (out / MANIFEST).unlink()  # as an older version left it
    (out / "frames" / "frame_00000.png").write_bytes(b"an old frame")
    assert replay(out, "--force") == 0
    assert not (out / "loss.png").exists() and not (out / "frames" / "frame_00000.png").exists()
    assert_untouched(before, out)


def test_a_failed_replay_into_a_new_folder_removes_only_what_it_created(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.pipeline.stream, "steps", boom)
    out = tmp_path / "new" / "deeper"
    assert replay(out) == 1
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []


def test_out_equal_to_the_compare_baseline_is_refused(tmp_path, capsys):
    old = tmp_path / "old"
    assert replay(old) == 0
    before = snapshot([p for p in old.rglob("*") if p.is_file()])
    code = main(["replay", str(TWO_BOWLS), "--compare", str(old), "--out", f"{old}/.", "--force"])
    assert code == 2
    assert "is the --compare baseline" in capsys.readouterr().err
    assert_untouched(before, old)


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ("not json", "summary.json: cannot read it"),
        ('{"title": "x"}', "runs: missing or not a list"),
        ('{"runs": [{"file": "runs/a.csv"}]}', "runs[0].name: missing"),
        ('{"runs": [{"name": "A", "file": "../../etc/passwd"}]}', "runs[0].file: '../../etc/"),
        ('{"runs": [{"name": "A", "file": "/etc/passwd"}]}', "runs[0].file: '/etc/passwd'"),
        ('{"runs": [{"name": "A", "file": "runs/../../x.csv"}]}', "runs[0].file"),
        ('{"runs": [{"name": "A", "file": "runs/missing.csv"}]}', "is not a CSV in"),
    ],
)
def test_a_malformed_baseline_is_bad_input(tmp_path, capsys, summary, message):
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(summary)
    assert main(["replay", str(TWO_BOWLS), "--compare", str(old), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_a_baseline_csv_of_other_shape_is_reported_not_crashed(tmp_path, capsys):
    old = tmp_path / "old"
    assert replay(old) == 0
    (old / "runs" / "calm_gd.csv").write_text("nothing,like\n1,2\n")
    (old / "runs" / "too_bold__lr_0_6_.csv").write_bytes(b"\xff\xfe binary")
    assert main(["replay", str(TWO_BOWLS), "--compare", str(old), "--quiet"]) == 1
    report = capsys.readouterr().out
    assert "Calm GD: parts at step None" in report and "Too bold (lr 0.6): cannot read" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fps", "0"], "--fps: must be between 1 and 120"),
        (["--fps", "nan"], "--fps: must be between 1 and 120"),
        (["--fps", "inf"], "--fps: must be between 1 and 120"),
        (["--fps", "-5"], "--fps: must be between 1 and 120"),
        (["--fps", "fast"], "--fps: must be a number"),
        (["--video", "x.txt"], "--video: must end in .mp4 or .gif"),
        (["--frames", "0"], "--frames: must be between 2 and 100000"),
        (["--frames", "1e9"], "--frames: must be a whole number"),
        (["--video-frames", "1"], "--video-frames: must be between 2 and 100000"),
    ],
)
def test_bad_arguments_exit_2_before_anything_runs(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(TWO_BOWLS), "--out", str(out), *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_existing_video_is_kept_unless_forced(tmp_path, capsys):
    video = tmp_path / "talk.gif"
    video.write_bytes(b"my talk")
    assert replay(tmp_path / "out", "--video", str(video)) == 1
    assert "exists (use --force" in capsys.readouterr().err
    assert video.read_bytes() == b"my talk" and not (tmp_path / "out").exists()
