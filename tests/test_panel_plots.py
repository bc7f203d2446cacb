"""The panel's live plots: envelopes at the plot width, axes that show every value, round step
ticks, and axes fitted to the runs that have not diverged.
"""

from __future__ import annotations

import numpy as np

from sandbox.app.plots import envelope


def test_a_plotted_series_keeps_its_envelope_at_the_plot_width():
    """Oracle: every point of the series has a kept point at most one pixel column away that is
    at least as high, and one that is at least as low, so the drawn line reaches every value; a
    one-step spike (edge of stability) keeps its full height."""
    rng = np.random.default_rng(0)
    xs = np.arange(0, 30_000, 4, dtype=float)
    ys = np.exp(np.cumsum(rng.normal(0, 0.05, len(xs))))
    ys[4321] = 1e3
    columns = 130
    thin_x, thin_y = envelope(xs, ys, columns)
    assert len(thin_x) <= 2 * columns + len(xs) // columns + 2 and len(thin_x) < len(xs) / 10
    assert thin_x[0] == xs[0] and thin_x[-1] == xs[-1] and np.all(np.diff(thin_x) > 0)
    assert thin_y.max() == 1e3
    near = np.abs(xs[:, None] - thin_x[None, :]) <= (xs[-1] - xs[0]) / columns
    assert np.all((near & (thin_y[None, :] >= ys[:, None])).any(axis=1))
    assert np.all((near & (thin_y[None, :] <= ys[:, None])).any(axis=1))
    few = np.arange(300.0)
    assert envelope(few, few, columns)[0] is few  # 2 or fewer points per column: as it is


def test_plot_axes_show_every_value_and_never_blow_noise_up():
    """Issue 16: log axes had ticks at 1e-306 and 1e-153, a loss stuck at 0.6931 ± 1e-7 was
    auto-zoomed into a plunge, and curves ran along the top of the frame."""
    from sandbox.app.plots import LOG_DECADES, MAX_LOG_TICKS, axis_range

    assert axis_range([], log=True) is None and axis_range([np.array([np.nan])], False) is None
    falling = np.geomspace(1.0, 1e-46, 200)  # a loss that converges to float noise
    log = axis_range([falling, np.array([0.0, -1.0])], log=True)  # zeros cannot be on a log axis
    assert log.hi == 1.0 and log.lo == 10.0**-LOG_DECADES
    assert 2 <= len(log.ticks) <= MAX_LOG_TICKS
    assert all(log.lo <= v <= log.hi for v, _ in log.ticks) and log.ticks[-1] == (1.0, "1")
    stuck = 0.6931 + 1e-7 * np.sin(np.arange(500))
    flat = axis_range([stuck], log=True)  # at least one decade: two labelled ticks
    assert (flat.lo, flat.hi) == (0.1, 1.0) and [v for v, _ in flat.ticks] == [0.1, 1.0]
    linear = axis_range([stuck], log=False)
    assert (stuck.max() - stuck.min()) / (linear.hi - linear.lo) < 1e-5  # a flat line
    rising = np.array([0.0, 3.0, 7.5])
    padded = axis_range([rising, np.array([np.inf])], log=False)
    assert padded.lo < 0.0 and padded.hi > 7.5  # no curve along the frame
    lam = axis_range([np.array([3.0, 41.0]), np.array([40.0, 40.0])], log=True)
    assert (lam.lo, lam.hi) == (1.0, 100.0) and [t for _, t in lam.ticks] == ["1", "10", "100"]
    zero = axis_range([np.zeros(3)], log=False)  # the distance at step 0: ±4e-13 was drawn
    assert zero.lo < 0 < zero.hi and 1 <= zero.hi - zero.lo < 1.2


def test_step_ticks_are_round_and_leave_the_axis_end_free():
    """Side by side, "200" at the end of one plot and "0" at the start of the next read "2000"
    (and "1.02k" was cut at the window's edge): ticks are round steps from 0, none in the last
    15 % of the axis, and at least two."""
    from sandbox.app.plots import step_label, step_ticks

    assert [step_label(t) for t in step_ticks(200)] == ["0", "100"]
    assert [step_label(t) for t in step_ticks(1024)] == ["0", "500"]
    assert [step_label(t) for t in step_ticks(10_000)] == ["0", "5k"]
    assert [step_label(t) for t in step_ticks(600)] == ["0", "200", "400"]
    for last in (2, 7, 60, 150, 300, 1200, 3000, 123_456):
        ticks = step_ticks(last)
        assert ticks[0] == 0 and 2 <= len(ticks) <= 4 and ticks[-1] <= 0.85 * last


def test_plot_axes_fit_the_runs_that_have_not_diverged():
    """batchnorm_off: a run that blew up to 1e34 stretched the loss axis over 1e22 … 1e34 and
    the run that trains (0.34) was below it. The axes fit the runs alive at the shown step (a
    diverged run leaves the plot at its top); when every run has diverged, they fit all."""
    from sandbox.app.model import COLUMNS, RunHistory
    from sandbox.app.plots import TimelineView, _values, fitted_runs
    from sandbox.trace.records import Step

    def history(losses, diverges_at=None):
        h = RunHistory()
        for k, loss in enumerate(losses):
            h.add(Step(k, loss, 0.0, 0.0, 1.0, 0.1, diverged=k == diverges_at))
        return h

    trains = history([3.0, 1.0, 0.5, 0.34])
    blows_up = history([3.0, 1e6, 1e34], diverges_at=2)
    hidden = history([2.0, 1.0])

    def view(step, *histories, hidden=frozenset()):
        n = len(histories)
        return TimelineView(
            ["a", "b", "c"][:n],
            [(1, 0, 0)] * n,
            list(histories),
            hidden,
            step,
            3,
            3,
            True,
            1,
            False,
        )

    assert fitted_runs(view(3, trains, blows_up, hidden, hidden={2})) == [0]
    loss = COLUMNS.index("loss")
    assert max(v.max() for v in _values(view(3, trains, blows_up), [loss])) == 3.0
    assert fitted_runs(view(1, trains, blows_up)) == [0, 1]  # not diverged yet at step 1
    assert fitted_runs(view(3, blows_up)) == [0]  # every run diverged: fit them all
