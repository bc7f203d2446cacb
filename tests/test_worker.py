"""The background worker: same records as a replay, bounded queue, clean shutdown, crashes shown."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import struct
import time

import numpy as np
import pytest
from builders import analytic_scenario, network_scenario, run

import sandbox
from sandbox.app.worker import (
    DEATH_GRACE_SECONDS,
    WORKER_NICENESS,
    BackgroundWorker,
    Finished,
    Steps,
    Surface,
    scenario_stream,
)
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario


def network(center: str):
    """Moons, a 2-8-1 net and two runs (GD, Adam) for 120 steps, on a 21² slice of span 0.5."""
    runs = [run("gd", lr=0.5), run("adam", "adam", 0.05)]
    slice_ = {"center": center, "resolution": 21, "span": 0.5}
    return network_scenario(title="net", steps=120, slice=slice_, runs=runs)


def collect(messages) -> dict[int, list]:
    runs: dict[int, list] = {}
    for m in messages:
        if isinstance(m, Steps):
            runs.setdefault(m.run, []).extend(m.steps)
    return runs


def test_stream_equals_replay():
    scenario = load_scenario(find_scenario("saddle"))
    messages = list(scenario_stream(scenario))
    assert isinstance(messages[0], Surface) and isinstance(messages[-1], Finished)
    runs = collect(messages)
    result = sandbox.replay(scenario)
    for i, spec in enumerate(scenario.runs):
        np.testing.assert_array_equal([s.loss for s in runs[i]], result.runs[spec.name].loss)


def test_network_surfaces_coarse_then_refined_and_consistent_with_the_ball():
    scenario = network("init")
    messages = list(scenario_stream(scenario))
    surfaces = [m for m in messages if isinstance(m, Surface)]
    assert [s.refined for s in surfaces] == [False, True]
    fine = surfaces[1].sample
    assert fine.heights.shape == (21, 21) and fine.bounds == ((-0.5, 0.5), (-0.5, 0.5))
    # The centre cell is θ0 itself: the surface there is step 0's loss.
    first = collect(messages)[0][0]
    assert (first.x, first.y) == pytest.approx((0, 0), abs=1e-6)
    assert fine.heights[10, 10] == pytest.approx(first.loss, rel=1e-5)  # measured: 9e-8 apart


def test_moving_center_sends_recentred_surfaces():
    scenario = network("moving")
    messages = list(scenario_stream(scenario, moving_every=50))
    moving = [m.sample for m in messages if isinstance(m, Surface)][2:]
    assert [s.step for s in moving] == [50, 100]  # the latest θ wins within a batch of steps
    steps = collect(messages)[0]
    for sample in moving:
        (x0, x1), (y0, y1) = sample.bounds
        step = steps[sample.step]
        # Measured: at most 3e-17 apart (the bounds are centre ± span).
        assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((step.x, step.y), abs=1e-5)


def wait_for(worker: BackgroundWorker, timeout: float = 60.0) -> list:
    got, deadline = [], time.time() + timeout
    while not worker.finished and time.time() < deadline and worker.died() is None:
        got += worker.drain()
        time.sleep(0.01)
    return got + worker.drain()


def test_worker_process_streams_and_ends_cleanly():
    worker = BackgroundWorker(load_scenario(find_scenario("saddle")), maxsize=4).start()
    try:
        messages = wait_for(worker)
    finally:
        worker.close()
    assert isinstance(messages[-1], Finished)
    assert len(collect(messages)[0]) == 401
    assert not worker.process.is_alive()


def test_closing_mid_run_leaves_no_process():
    scenario = load_scenario(find_scenario("saddle"))
    worker = BackgroundWorker(scenario.model_copy(update={"steps": 10_000_000}), maxsize=2).start()
    while not worker.drain(1):  # started: it has set its priority
        time.sleep(0.05)
    if hasattr(os, "getpriority"):  # frames pre-empt training: the worker runs below the app
        niceness = os.getpriority(os.PRIO_PROCESS, worker.process.pid)
        assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS, 19)
    if hasattr(os, "SCHED_IDLE"):  # an ordinary scheduling class: a busy program cannot starve it
        assert os.sched_getscheduler(worker.process.pid) == os.SCHED_OTHER
    worker.close(timeout=5)
    assert not worker.process.is_alive()


def test_a_killed_worker_is_reported():
    scenario = load_scenario(find_scenario("saddle"))
    worker = BackgroundWorker(scenario.model_copy(update={"steps": 10_000_000}), maxsize=2).start()
    try:
        deadline = time.time() + 60
        while not worker.drain(1) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(10)
        deadline = time.time() + 10
        while worker.died() is None and time.time() < deadline:  # as the app polls
            worker.drain()
            time.sleep(0.01)
        assert "stopped unexpectedly (exit code -9)" in (worker.died() or "")
    finally:
        worker.close()


def _send_half_a_message(messages) -> None:
    """A worker killed while it sends a surface: a length prefix for 1 MB, 100 bytes of it."""
    os.write(messages._writer.fileno(), struct.pack("!i", 1_000_000) + b"x" * 100)
    os._exit(9)


def test_a_worker_killed_mid_message_never_blocks_the_window():
    """Issue 17: a worker killed in the middle of sending a surface left bytes that the app's
    read waited for forever (the window froze). drain() returns at once and died() says what
    happened within DEATH_GRACE_SECONDS; close() returns."""
    worker = BackgroundWorker(load_scenario(find_scenario("saddle")))
    context = mp.get_context("spawn")
    worker.process = context.Process(target=_send_half_a_message, args=(worker.messages,))
    worker.start()
    worker.process.join(30)
    try:
        started, deadline = time.monotonic(), time.monotonic() + 10
        while worker.died() is None and time.monotonic() < deadline:
            began = time.monotonic()
            assert worker.drain() == []
            assert time.monotonic() - began < 0.5  # a drain never waits
            time.sleep(0.02)
        assert "stopped unexpectedly (exit code 9)" in (worker.died() or "")
        assert time.monotonic() - started < DEATH_GRACE_SECONDS + 2
    finally:
        began = time.monotonic()
        worker.close()
        assert time.monotonic() - began < 5


def test_final_center_surface_is_around_the_first_runs_end():
    scenario = network("final")
    messages = list(scenario_stream(scenario))
    sample = [m.sample for m in messages if isinstance(m, Surface)][-1]
    (x0, x1), (y0, y1) = sample.bounds
    end = collect(messages)[0][-1]
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((end.x, end.y), abs=1e-5)
    # It did move away from θ0: measured end (-0.020, 0.093); the centre is 1e-17 from it.
    assert (end.x, end.y) != pytest.approx((0, 0), abs=1e-2)


def test_the_legend_gives_lambda_max_and_two_over_eta_at_the_shown_step():
    """The legend's λmax showed each run's latest estimate and the 2/η of its last step
    whatever step was shown: edge_of_stability scrubbed back to 0 said 'λmax 40.2'. It now
    gives the numbers in force at the shown step (a dash before the first estimate), on the
    run's own legend row."""
    from sandbox.app.model import ViewModel

    scenario = analytic_scenario(
        title="canyon",
        steps=40,
        params={"l1": 1.0, "l2": 10.0},
        runs=[run("GD", lr=0.05, start=[1.0, 1.0], sharpness_every=5)],
        timeline=[{"at": 20, "set": {"run": "GD", "lr": 0.1}}],
    )
    model = ViewModel(scenario)
    for message in scenario_stream(scenario):
        model.apply(message)
    label = lambda step: model.scene(step).trails[0].label  # noqa: E731
    assert label(10).endswith("lr 0.05  λmax 10 (2/η 40)"), label(10)
    assert label(30).endswith("lr 0.1  λmax 10 (2/η 20)"), label(30)


@pytest.mark.slow
def test_a_spare_worker_waits_ready_and_computes_what_it_is_given():
    """Spares keeps one process started (torch imported) for the next scenario: an edit starts
    computing at once. The one it hands over computes the scenario; a new spare waits."""
    from sandbox.app.worker import Spares

    spares = Spares()
    saddle = load_scenario(find_scenario("saddle"))
    try:
        first = spares(saddle)
        waiting = spares.spare
        assert waiting is not None and waiting is not first and waiting.scenario is None
        messages = _drain_until_finished(first)
        assert isinstance(messages[-1], Finished)
        second = spares(saddle.model_copy(update={"steps": 5}))
        assert second is waiting and second.scenario.steps == 5  # the spare was taken
        steps = [m for m in _drain_until_finished(second) if isinstance(m, Steps)]
        assert max(s.steps[-1].step for s in steps) == 5
        first.close()
        second.close()
    finally:
        spares.close()
    assert spares.spare is None


def _drain_until_finished(worker, limit: float = 120.0) -> list:
    import time

    deadline, messages = time.monotonic() + limit, []
    while time.monotonic() < deadline:
        messages += worker.drain()
        if messages and isinstance(messages[-1], Finished):
            return messages
        time.sleep(0.05)
    raise AssertionError(f"not finished: {messages[-3:]}")
