"""Sweep safety (issue 15), the inputs: bounded connects, bounded inputs, a quick --check, and
no waiting on a FIFO.

Each test here failed before its fix (checked against the code before it). Output folders, where
nothing but a sweep's own files is ever removed or replaced: test_sweep_output_safety.py.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from sweep_cli import cli
from sweep_files import TINY

from sandbox.scenario.load import ScenarioError
from sandbox.scenario.schema import Scenario
from sandbox.sweep import engine
from sandbox.sweep.spec import load_sweep, parse_sweep


def _server(mode: str) -> str:
    """A local TCP server that is not Dask: it accepts and stays silent, or answers garbage."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # never closed by us: a silent peer
            if mode == "garbage":
                reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 20
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return f"tcp://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("mode", ["silent", "garbage"])
def test_a_scheduler_that_is_not_dask_fails_within_the_timeout(tmp_path, capsys, monkeypatch, mode):
    monkeypatch.setattr(engine, "SCHEDULER_TIMEOUT", 2.0, raising=False)
    address = _server(mode)
    sweep_file = tmp_path / "tiny.toml"
    sweep_file.write_text(TINY.format(metric="final_loss"))
    assert cli(str(sweep_file), "--check") == 0  # imports paid before the clock starts
    import distributed  # noqa: F401

    argv = (str(sweep_file), "--out", str(tmp_path / "out"), "--scheduler", address, "--quiet")
    done: list[int] = []
    # On a thread: before the fix the silent server held the sweep for minutes.
    thread = threading.Thread(target=lambda: done.append(cli(*argv)), daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(30)  # the 2 s time-out, with room for a busy machine
    elapsed = time.perf_counter() - start
    assert done == [1], f"still connecting after {elapsed:.0f} s"
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach a Dask scheduler at {address}: "), err
    assert err.count("\n") == 1 and "Traceback" not in err  # one line


@pytest.mark.parametrize("workers", ["1024", "0", "one more", "x"])
def test_workers_out_of_bounds_is_a_usage_error(capsys, workers):
    from sandbox.sweep.cli import max_workers

    limit = max_workers()  # 4 per core, at least 4
    if workers == "one more":
        workers = str(limit + 1)
    with pytest.raises(SystemExit) as info:
        cli("gd_stability", "--check", "--workers", workers)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --workers: must be a whole number from 1 to {limit} " in err


def test_workers_within_bounds_are_accepted():
    from sandbox.sweep.cli import max_workers

    assert 4 <= max_workers() <= 4 * (os.cpu_count() or 1) + 4
    assert cli("gd_stability", "--check", "--workers", str(max_workers())) == 0


HEAD = 'title = "t"\nscenario = "{base}"\n[sweep]\n{sweep}metrics = ["final_loss"]\n'


# (base scenario, sweep keys, the table with the bad value, the key reported, the reason)
OUT_OF_RANGE = [
    (
        "mode_connectivity",
        "samples = 2\n",
        '[sweep.params]\n"landscape.data.seed" = { randint = [0, 1180591620717411303424] }',
        'sweep.params."landscape.data.seed".randint',
        "randint's low and high must fit in 64 bits",
    ),
    (
        "mode_connectivity",
        "samples = 2\n",
        '[sweep.params]\n"landscape.data.seed" = { randint = [-9223372036854775809, 0] }',
        'sweep.params."landscape.data.seed".randint',
        "randint's low and high must fit in 64 bits",
    ),
    (
        "mode_connectivity",
        "",
        '[sweep.params]\n"landscape.data.seed" = [1, 1180591620717411303424]',
        'sweep.params."landscape.data.seed"',
        "the integer 1180591620717411303424 does not fit in 64 bits",
    ),
    (
        "mode_connectivity",
        "samples = 2\n",
        '[sweep.params]\n"landscape.data.seed" = { choice = [1, 18446744073709551616] }',
        'sweep.params."landscape.data.seed".choice',
        "does not fit in 64 bits",
    ),
    (
        "mode_connectivity",
        "",
        '[sweep.set]\n"landscape.data.seed" = 1180591620717411303424',
        'sweep.set."landscape.data.seed"',
        "does not fit in 64 bits",
    ),
    (
        "saddle",
        "",
        '[sweep.params]\n"runs.0.lr" = [0.1, nan]',
        'sweep.params."runs.0.lr"',
        "values must be finite numbers, got nan",
    ),
    (
        "saddle",
        "",
        '[sweep.params]\n"landscape.bounds" = [[[-1.0, 1.0], [-1.0, inf]]]',
        'sweep.params."landscape.bounds"',
        "values must be finite numbers, got inf",
    ),
    (
        "saddle",
        "samples = 2\n",
        '[sweep.params]\n"runs.0.lr" = { uniform = [-1.7e308, 1.7e308] }',
        'sweep.params."runs.0.lr".uniform',
        "high - low must be a finite number",
    ),
    (
        "saddle",
        "",
        '[sweep.params]\n"runs.0.momentum" = { linspace = [-1.7e308, 1.7e308], num = 3 }',
        'sweep.params."runs.0.momentum".linspace',
        "high - low must be a finite number",
    ),
    (
        "saddle",
        "",
        '[sweep.params]\n"runs.0.lr" = { logspace = [1e-300, 1e300], num = 3 }',
        'sweep.params."runs.0.lr".logspace',
        "high / low must be a finite number",
    ),
    (
        "saddle",
        "",
        '[sweep.params]\n"runs.0.lr" = { linspace = [0.1, 1180591620717411303424], num = 3 }',
        'sweep.params."runs.0.lr".linspace',
        "must be [low, high]: two finite numbers",
    ),
]


@pytest.mark.parametrize(("base", "sweep", "table", "key", "reason"), OUT_OF_RANGE)
def test_values_beyond_int64_or_not_finite_are_refused_at_their_line(
    tmp_path, capsys, base, sweep, table, key, reason
):
    path = tmp_path / "bad.toml"
    text = HEAD.format(base=base, sweep=sweep) + table + "\n"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(table.splitlines()[1]) + 1
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert str(info.value).startswith(f"{path}:{line}: {key}: "), str(info.value)
    assert reason in str(info.value)
    assert cli(str(path), "--check") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:{line}: {key}: ") and "Traceback" not in err


def test_seeds_and_draws_reach_but_never_pass_the_largest_int64(tmp_path):
    inline = (
        'title = "t"\n[scenario]\ntitle = "s"\nseed = 9223372036854775806\nsteps = 5\n'
        '[scenario.landscape]\nkind = "analytic"\nsurface = "saddle"\n'
        '[[scenario.runs]]\nname = "a"\noptimizer = "gd"\nlr = 0.1\n'
        '[sweep]\nseeds = {n}\nmetrics = ["final_loss"]\n'
    )
    assert parse_sweep(inline.format(n=2), "s.toml").seeds == (2**63 - 2, 2**63 - 1)
    with pytest.raises(ScenarioError) as info:
        parse_sweep(inline.format(n=3), "s.toml")
    assert str(info.value).startswith("s.toml:14: sweep.seeds: 3 seeds from the base's seed")
    # randint's high end may be the largest int64 itself (high + 1 would not fit).
    sweep = parse_sweep(
        HEAD.format(base="mode_connectivity", sweep="samples = 50\n")
        + '[sweep.params]\n"landscape.data.seed" = '
        "{ randint = [9223372036854775806, 9223372036854775807] }\n"
    )
    draws = {v.values["landscape.data.seed"] for v in sweep.variants}
    assert draws == {2**63 - 2, 2**63 - 1}


def heavy_sweep_text(variants: int) -> str:
    """A base with 16 runs and 1,000 timeline captions, `variants` learning rates."""
    runs = "".join(
        f'[[scenario.runs]]\nname = "r{i}"\noptimizer = "gd"\nlr = 0.01\n' for i in range(16)
    )
    timeline = "".join(
        f'[[scenario.timeline]]\nat = {i}\ncaption = "caption {i}"\n' for i in range(1000)
    )
    return (
        f'title = "heavy"\n[sweep]\nmetrics = ["final_loss"]\n[sweep.params]\n'
        f'"runs.*.lr" = {{ logspace = [0.001, 0.1], num = {variants} }}\n'
        f'[scenario]\ntitle = "h"\nsteps = 1000\n[scenario.landscape]\nkind = "analytic"\n'
        f'surface = "saddle"\n{runs}{timeline}'
    )


def test_check_of_a_heavy_base_does_not_revalidate_what_variants_share(monkeypatch):
    from sandbox.sweep import base

    handed: list[dict] = []  # what pydantic is asked to validate

    class Counting:
        model_fields = Scenario.model_fields

        @staticmethod
        def model_validate(data):
            handed.append(data)
            return Scenario.model_validate(data)

    monkeypatch.setattr(base, "Scenario", Counting)
    sweep = parse_sweep(heavy_sweep_text(200))
    assert len(sweep.tasks) == 200
    # The 1,000 timeline events are validated as tables for the inline base and once for all
    # variants; before, once per variant (200,000 of them). Measured for 1,000 variants of such
    # a base: 23 s of CPU before, 9 s after (the rest: the raw-data rules, run per variant).
    raw_events = sum(isinstance(e, dict) for data in handed for e in data.get("timeline", ()))
    assert raw_events <= 2 * 1000, raw_events
    first, last = sweep.tasks[0].scenario, sweep.tasks[-1].scenario
    assert first["timeline"] is last["timeline"]  # shared with the base, not copied
    assert first["runs"][0]["lr"] == 0.001 and last["runs"][15]["lr"] == 0.1


def test_shared_validation_finds_what_full_validation_finds():
    from sandbox.sweep.base import Prevalidated, check_scenario_data

    sweep = parse_sweep(heavy_sweep_text(3))
    start = sweep.tasks[0].scenario
    shared = Prevalidated(start)
    variant = {**start, "runs": [dict(r) for r in start["runs"]]}
    scenario, problems = check_scenario_data(variant, shared)
    assert problems == [] and scenario == Scenario.model_validate(variant)
    reused = zip(scenario.timeline, shared.models["timeline"], strict=True)
    assert all(a is b for a, b in reused)  # validated once, then taken as they are
    variant["runs"][3]["lr"] = -1.0  # a problem in what the variant changed is still found
    scenario, problems = check_scenario_data(variant, shared)
    assert scenario is None and problems == check_scenario_data(variant)[1]
    assert [path for path, _ in problems] == [("runs", 3, "lr")]
    variant["runs"][3]["lr"] = 0.1
    variant["steps"] = 500  # and one across fields, in the shared timeline
    _, problems = check_scenario_data(variant, shared)
    assert problems and problems == check_scenario_data(variant)[1]
    assert problems[0][0] == ("timeline", 501, "at")


@pytest.mark.parametrize("which", ["sweep", "base"])
def test_a_fifo_as_sweep_file_or_base_is_refused_without_waiting(tmp_path, which):
    """Issue 15: sweep files and their base scenarios are read like scenario files (a regular
    file within the size limit), so a FIFO cannot hang `sweep --check`."""
    import os
    import subprocess
    import sys

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    sweep = fifo
    if which == "base":
        sweep = tmp_path / "sweep.toml"
        sweep.write_text(
            'title = "t"\nscenario = "pipe.toml"\n\n[sweep]\nmetrics = ["final_loss"]\n\n'
            '[sweep.params]\n"runs.0.lr" = [0.1, 0.2]\n',
            encoding="utf-8",
        )
    p = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "sweep", str(sweep), "--check"],
        capture_output=True,
        text=True,
        timeout=60,  # an open() that blocks fails the test instead of hanging it
    )
    assert p.returncode == 2, p.stderr
    if which == "sweep":
        assert f"{fifo}: cannot read file: not a regular file (a FIFO)" in p.stderr
    else:
        assert "scenario: no scenario file 'pipe.toml' next to this sweep file" in p.stderr
