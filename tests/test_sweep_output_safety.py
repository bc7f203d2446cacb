"""Sweep safety (issue 15), the output folders: nothing but a sweep's own files is ever removed or
replaced, and one sweep at a time writes into a folder.

Each test here failed before its fix (checked against the code before it). The engine tests
share one in-process Dask cluster (threads, not processes: it starts in about a second) and
replay a tiny sweep of a few 20-step tasks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sweep_cli import cli
from sweep_files import tiny_sweep

from sandbox.errors import OutputError
from sandbox.sweep import engine, results
from sandbox.sweep.engine import prepare_sweep_dir, run_sweep


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    with Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as dask_client:
        yield dask_client


def listing(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative name -> content), to compare before and after."""
    return {
        p.relative_to(folder).as_posix(): p.read_text(errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def plant(folder: Path, names: list[str]) -> dict[str, str]:
    """The user's own files, each with its own content; returns them."""
    files = {}
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's {name}\n", encoding="utf-8")
        files[name] = path.read_text()
    return files


def assert_kept(folder: Path, files: dict[str, str]) -> None:
    now = listing(folder)
    for name, content in files.items():
        assert now.get(name) == content, f"{name} was removed or changed"


def test_force_removes_the_previous_sweeps_files_only(client, tmp_path):
    out = tmp_path / "out"
    first = run_sweep(tiny_sweep(tmp_path, "final_loss"), out, client=client)
    assert first.summary["plots"] == ["plots/final_loss.png"]
    mine = plant(out, ["plots/mine.txt", "plots/sub/deep.txt", "notes.txt", "cache/README"])
    beside = plant(tmp_path, ["beside.txt"])
    second = run_sweep(tiny_sweep(tmp_path, "min_loss"), out, client=client, force=True)
    assert second.summary["plots"] == ["plots/min_loss.png"]
    assert not (out / "plots" / "final_loss.png").exists()  # the other sweep's plot went
    assert (out / "plots" / "min_loss.png").is_file()
    assert_kept(out, mine)
    assert_kept(tmp_path, beside)
    # --fresh clears the cache's entries, not the user's file in it.
    run_sweep(tiny_sweep(tmp_path, "min_loss"), out, client=client, fresh=True)
    assert_kept(out, mine)


def test_a_foreign_file_in_the_way_stops_a_forced_sweep_before_any_change(client, tmp_path):
    out = tmp_path / "out"
    mine = plant(out, ["results.csv", "results.csv.part", "notes.txt"])
    before = listing(out)
    with pytest.raises(OutputError, match=r"results.csv is in the way of this sweep's"):
        run_sweep(tiny_sweep(tmp_path), out, client=client, force=True)
    assert listing(out) == before  # nothing written, nothing removed
    assert_kept(out, mine)


def test_a_foreign_plot_in_the_way_stops_the_commit_and_keeps_the_cache(client, tmp_path):
    out = tmp_path / "out"
    mine = plant(out, ["plots/final_loss.png", "results.parquet.part"])
    sweep = tiny_sweep(tmp_path)
    with pytest.raises(OutputError, match=r"final_loss.png is in the way"):
        run_sweep(sweep, out, client=client, force=True)
    assert_kept(out, mine)
    assert not (out / "summary.json").exists() and not (out / "results.csv").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".sweep-staging-")]
    assert len(list((out / "cache").glob("*.json"))) == len(sweep.tasks)  # the work is kept
    (out / "plots" / "final_loss.png").rename(tmp_path / "moved.png")
    again = run_sweep(sweep, out, client=client)
    assert again.summary["tasks"]["cached"] == len(sweep.tasks)
    assert_kept(out, {"results.parquet.part": mine["results.parquet.part"]})


def test_a_failed_or_interrupted_sweep_removes_nothing_of_the_users(client, tmp_path, monkeypatch):
    out = tmp_path / "out"
    sweep = tiny_sweep(tmp_path)
    run_sweep(sweep, out, client=client)
    # The user's files: beside, inside, inside our plots folder, and named like our temporaries.
    mine = plant(out, ["plots/mine.txt", "notes.txt", "results.csv.part", "summary.json.part"])
    beside = plant(tmp_path, ["beside.txt"])
    (out / "cache" / f"{sweep.tasks[0].key}.json").unlink()  # one task to run again

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(results, "to_csv", broken)  # fails while writing the outputs
    with pytest.raises(RuntimeError, match="disk full"):
        run_sweep(sweep, out, client=client)
    assert_kept(out, mine)
    assert (out / "results.parquet").is_file()  # the previous outputs are still there
    monkeypatch.undo()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_run_pending", interrupted)
    (out / "cache" / f"{sweep.tasks[0].key}.json").unlink()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, client=client)
    assert_kept(out, mine)
    assert_kept(tmp_path, beside)
    assert not [p for p in out.iterdir() if p.name.startswith(".sweep-staging-")]
    monkeypatch.undo()
    # The lock went with the interrupted sweep: the next run resumes and finishes.
    done = run_sweep(sweep, out, client=client)
    assert done.summary["tasks"]["ran"] == 1
    assert_kept(out, mine)


def test_a_folder_of_an_older_sweep_loses_only_the_files_that_sweep_wrote(tmp_path):
    import json

    out = tmp_path / "out"
    # Before manifests listed outputs: sweep.json named the sweep, summary.json its plots.
    plant(out, ["results.csv", "results.parquet", "plots/final_loss.png"])
    (out / "sweep.json").write_text(json.dumps({"sweep_id": "0123456789abcdef"}))
    (out / "summary.json").write_text(json.dumps({"plots": ["plots/final_loss.png"]}))
    mine = plant(out, ["plots/mine.png", "notes.txt", "cache/README"])
    prepare_sweep_dir(out, tiny_sweep(tmp_path), force=True)
    assert sorted(listing(out)) == ["cache/README", "notes.txt", "plots/mine.png", "sweep.json"]
    assert_kept(out, mine)
    assert json.loads((out / "sweep.json").read_text())["outputs"] == []


def test_a_linked_plots_folder_is_never_written_through(client, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    mine = plant(elsewhere, ["final_loss.png", "keep.txt"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "plots").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match="plots is in the way"):
        run_sweep(tiny_sweep(tmp_path), out, client=client, force=True)
    assert_kept(elsewhere, mine)
    assert listing(elsewhere).keys() == mine.keys()


@pytest.mark.skipif(os.name != "posix", reason="the lock needs fcntl (untested elsewhere)")
def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path, capsys):
    import fcntl

    sweep = tiny_sweep(tmp_path)
    out = tmp_path / "out"
    prepare_sweep_dir(out, sweep, force=False)
    fd = os.open(out, os.O_RDONLY)  # what a running sweep holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputError, match="another sweep is writing into --out"):
            prepare_sweep_dir(out, sweep, force=False)
        assert cli(sweep.source, "--out", str(out), "--quiet") == 1
        err = capsys.readouterr().err
        assert err == (
            f"error: another sweep is writing into --out {out}; wait for it to finish or "
            "choose another folder\n"
        )
    finally:
        os.close(fd)
    prepare_sweep_dir(out, sweep, force=False)  # free again
