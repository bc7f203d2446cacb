"""Headless replays: outputs as specified, determinism, atomicity, refusal, compare, exit codes."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import long_replay
import numpy as np
import pytest
from builders import network_scenario

import sandbox
from sandbox.cli import main

CONTRACT = Path(__file__).parent / "contract"
TWO_BOWLS = CONTRACT / "examples" / "two_bowls.toml"


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def test_api_arrays_match_the_csv(tmp_path):
    result = sandbox.replay(TWO_BOWLS, tmp_path / "out")
    for run in result.summary["runs"]:
        with (tmp_path / "out" / run["file"]).open() as f:
            rows = list(csv.DictReader(f))
        arrays = result.runs[run["name"]]
        np.testing.assert_array_equal(arrays.loss, [float(r["loss"]) for r in rows])
        np.testing.assert_array_equal(arrays.x, [float(r["x"]) for r in rows])
        assert arrays.step[-1] == run["steps_done"]
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk == result.summary


def test_replays_are_byte_identical(tmp_path):
    for name in ("a", "b"):
        assert main(["replay", str(TWO_BOWLS), "--out", str(tmp_path / name), "--quiet"]) == 0
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert [str(f) for f in files] == [
        ".sandbox-outputs.json",  # the manifest: which files --force may replace
        "runs/calm_gd.csv",
        "runs/too_bold__lr_0_6_.csv",
        "summary.json",
        "surface.npz",  # the drawn height field (zip entries with fixed timestamps)
    ]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_existing_out_is_refused_unless_forced(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["replay", str(TWO_BOWLS), "--out", str(out)]) == 1
    assert "not empty (use --force" in capsys.readouterr().err
    assert main(["replay", str(TWO_BOWLS), "--out", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # only our own outputs are replaced


def test_compare_reports_where_runs_part(tmp_path, capsys):
    old = tmp_path / "old"
    assert main(["replay", str(TWO_BOWLS), "--out", str(old)]) == 0
    assert main(["replay", str(TWO_BOWLS), "--compare", str(old)]) == 0
    path = old / "runs" / "calm_gd.csv"
    lines = path.read_text().splitlines()
    fields = lines[11].split(",")
    fields[2] = str(float(fields[2]) + 1e-3)
    lines[11] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["replay", str(TWO_BOWLS), "--compare", str(old)]) == 1
    report = capsys.readouterr().out
    assert "Calm GD: parts at step 10: x" in report
    assert "Too bold" not in report


def test_invalid_file_exits_2_without_traceback():
    p = cli("check", str(CONTRACT / "examples" / "bad_types.toml"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "bad_types.toml:15: runs[0].lr: Input should be a valid number (got 'fast')" in p.stderr
    p = cli("replay", str(CONTRACT / "examples" / "bad_types.toml"), "--out", "/tmp/never")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert not Path("/tmp/never/summary.json").exists()


def test_unwritable_out_exits_1_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = cli("replay", str(TWO_BOWLS), "--out", str(blocker / "sub"))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


class FullDisk:
    """A file on a disk that fills up after `room` characters: writes beyond it fail with
    ENOSPC, and so does closing once a write has failed (buffered data cannot be flushed)."""

    def __init__(self, real, room: int):
        self.real, self.room, self.failed = real, room, False

    def write(self, text: str) -> int:
        if len(text) > self.room:
            self.failed = True
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(text)
        return self.real.write(text)

    def close(self) -> None:
        self.real.close()
        if self.failed:
            raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_exits_1_with_one_line_and_leaves_no_output(tmp_path, capsys, monkeypatch):
    import sandbox.trace.io as trace_io

    real_open = open
    monkeypatch.setattr(
        trace_io, "open", lambda *a, **k: FullDisk(real_open(*a, **k), 2_000), raising=False
    )
    out = tmp_path / "out"
    assert main(["replay", str(TWO_BOWLS), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err
    assert "cannot write " in err[0] and "runs/calm_gd.csv" in err[0], err  # names the file
    assert not out.exists()  # nothing half-written: the folder it created is gone too


def test_ctrl_c_exits_130_and_leaves_no_complete_looking_output(tmp_path):
    scenario = tmp_path / "long.toml"
    scenario.write_text(TWO_BOWLS.read_text().replace("steps = 120", "steps = 2000000"))
    out = tmp_path / "out"
    # `python -m sandbox replay ...` as a terminal starts it: with SIGINT at its default even when
    # this test runs under a shell's background job (`cmd &`), whose children inherit it ignored
    terminal = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'sandbox'; runpy.run_module('sandbox', run_name='__main__', alter_sys=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", terminal, "replay", str(scenario)]
        + ["--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60

    def csv_bytes() -> int:  # the rows staged so far (in the replay's own staging folder)
        return sum(p.stat().st_size for p in out.glob(".sandbox-staging-*/runs/*.part"))

    # Interrupt in the steady state (thousands of rows written), not during start-up imports.
    while csv_bytes() < 200_000 and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        status = Path(f"/proc/{proc.pid}/status")  # Linux: its blocked and ignored signals
        signals = [ln for ln in status.read_text().splitlines() if ln.startswith("Sig")]
        proc.send_signal(signal.SIGABRT)  # -X faulthandler: every thread's Python stack
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(
            f"still running 120 s after SIGINT\n{signals}\nout: {out[-1000:]}\nerr: {err[-3000:]}"
        )
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err
    assert not out.exists()  # it created the folder, and removes it with what it staged


def test_bundled_names_and_list():
    p = cli("list")
    assert p.returncode == 0 and "Jiggling free of a saddle" in p.stdout
    lines = p.stdout.splitlines()
    assert lines.index("Terrain") < lines.index(
        "  saddle                     Jiggling free of a saddle"
    )
    assert "Other" not in lines  # every bundled scenario declares its theme
    assert cli("check", "saddle").returncode == 0


@pytest.mark.slow
def test_public_contract(tmp_path):
    """The shared conformance check, through the installed `sandbox` command."""
    bin_dir = Path(sys.executable).parent
    if shutil.which("sandbox", path=str(bin_dir)) is None:
        pytest.fail(f"no `sandbox` console script next to {sys.executable}: pip install -e .")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    p = subprocess.run(
        [sys.executable, str(CONTRACT / "check_contract.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout[-3000:]
    assert "contract: all checks pass" in p.stdout


def peak_rss_kib(scenario: Path, out: Path) -> int:
    code = (
        "import resource, sys; from sandbox.cli import main; "
        f"assert main(['replay', {str(scenario)!r}, '--out', {str(out)!r}, '--quiet']) == 0; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return int(p.stdout.strip())


def csv_rows(path: Path) -> tuple[int, str]:
    """Number of lines and the last line, reading the file in blocks (it may be 300 MB)."""
    lines, last = 0, ""
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = (last + block.decode())[-200:]
    return lines, last.splitlines()[-1]


@pytest.mark.slow
def test_a_three_million_step_replay_streams_in_bounded_memory(tmp_path, background_long_replay):
    """The issue's endurance run (tests/long_replay.py): 3·10⁶ steps, started beside the suite,
    must peak at the memory of a 10⁴-step replay (rows go to disk, not to a list: 3·10⁶ kept
    rows would be ~1 GB) and write every row."""
    short = long_replay.replay_in_subprocess(10_000, tmp_path)
    out, err = short.communicate(timeout=600)
    assert short.returncode == 0, err
    code, short_peak = (int(v) for v in out.split())
    assert code == 0
    job = background_long_replay
    code, peak, err = job.result()
    assert code == 0, err[-3000:]
    lines, last = csv_rows(job.csv)
    assert lines == job.steps + 2 and last.startswith(f"{job.steps},")  # header + steps 0..N
    assert peak - short_peak < 20_000, (peak, short_peak)  # KiB


def test_plots_are_written_beside_the_csvs(tmp_path):
    from PIL import Image

    out = tmp_path / "out"
    example = str(CONTRACT / "examples" / "tiny_net.toml")
    assert main(["replay", example, "--out", str(out), "--plots", "--quiet"]) == 0
    for name in ("loss.png", "sharpness.png", "layer_grads.png"):
        image = np.asarray(Image.open(out / name).convert("L"))
        assert image.shape[1] > 400 and image.std() > 10, name  # measured: 880 wide, std 25-32
    assert not list(out.glob(".*.part"))


@pytest.mark.parametrize(("loss", "classes", "out"), [("bce", 2, 1), ("cross_entropy", 3, 3)])
def test_final_margin_is_the_smallest_classification_margin(loss, classes, out):
    from sandbox.pipeline import prepare as pipeline

    data = {"name": "gaussians", "n": 60, "classes": classes}
    runs = [{"name": "gd", "optimizer": "gd", "lr": 0.1}]
    scenario = network_scenario(
        title="m", steps=5, loss=loss, data=data, widths=[2, 6, out], runs=runs
    )
    margin = sandbox.replay(scenario).summary["runs"][0]["final_margin"]
    prepared = pipeline.prepare(scenario)
    problem = prepared.problem
    thetas = []
    for _ in pipeline.steps(prepared, scenario.runs[0], lambda k, t: thetas.append(t.clone())):
        pass
    f = problem.model.forward(thetas[-1], problem.data.x).detach().numpy()
    y = problem.data.y.numpy()
    if out == 1:
        expected = (f[:, 0] * (2 * y - 1)).min()
    else:
        true = f[np.arange(len(y)), y]
        f[np.arange(len(y)), y] = -np.inf
        expected = (true - f.max(axis=1)).min()
    assert margin == pytest.approx(float(expected), rel=1e-6)


def test_no_opengl_exits_3_with_one_line(tmp_path, capsys, monkeypatch):
    from sandbox.render import context

    def no_gl():
        raise context.NoOpenGL("could not create a headless OpenGL context (no EGL). Install it.")

    monkeypatch.setattr(context, "headless_context", no_gl)
    code = main(["replay", str(TWO_BOWLS), "--out", str(tmp_path / "o"), "--frames", "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "error: could not create a headless OpenGL context (no EGL). Install it."
    ]


def replay_video(out: Path, video: Path, frames: int, size: str) -> int:
    """`sandbox replay two_bowls.toml --out OUT --frames N --video VIDEO --quiet`, in-process."""
    frames_args = ["--frames", str(frames), "--size", size]
    return main(
        [
            "replay",
            str(TWO_BOWLS),
            "--out",
            str(out),
            *frames_args,
            "--video",
            str(video),
            "--quiet",
        ]
    )


def test_missing_video_encoder_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    import imageio_ffmpeg

    def no_ffmpeg():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_ffmpeg)
    out = tmp_path / "o"
    code = replay_video(out, tmp_path / "v.mp4", frames=3, size="320x180")
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "imageio-ffmpeg" in err
    assert err.strip().splitlines() == [
        f"error: cannot write {tmp_path / 'v.mp4'}: no ffmpeg encoder (No ffmpeg exe could be "
        "found); `pip install imageio-ffmpeg` ships one"
    ]
    assert not out.exists() and not (tmp_path / "v.mp4").exists()


def test_video_and_frames(tmp_path):
    out = tmp_path / "o"
    code = replay_video(out, tmp_path / "v.mp4", frames=4, size="320x176")
    assert code == 0
    assert len(list((out / "frames").glob("frame_*.png"))) == 4
    assert (tmp_path / "v.mp4").stat().st_size > 1000  # measured: about 9 kB
