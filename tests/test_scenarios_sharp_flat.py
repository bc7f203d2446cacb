"""The bundled sharp_vs_flat scenario shows what its captions claim (docs/phenomena.md 7).

Every number asserted here was measured on the replay first and follows from the physics named
in the test's docstring; the measured values are quoted next to each bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from analytic_replays import critical, hessian_eigenvalues, minima, replay, surface_of
from captions import says

from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario

SHARP, FLAT = (-1.0, 0.0), (1.0, 0.0)


def basin_counts(result) -> dict[str, str]:
    """Per run: 'S' (within 1e-3 of the sharp minimum), 'F' (of the flat one) or '?'."""
    out = {}
    for name, a in result.runs.items():
        if math.hypot(a.x[-1] - SHARP[0], a.y[-1] - SHARP[1]) < 1e-3:
            out[name] = "S"
        elif math.hypot(a.x[-1] - FLAT[0], a.y[-1] - FLAT[1]) < 1e-3:
            out[name] = "F"
        else:
            out[name] = "?"
    return out


def rattle_peaks(loss: np.ndarray, window: int = 10) -> np.ndarray:
    """The highest loss in each run of `window` consecutive steps: a run that settles has these
    fall towards 0; one that rattles keeps climbing back."""
    return np.lib.stride_tricks.sliding_window_view(loss, window).max(axis=1)


def test_sharp_vs_flat_bundled_runs():
    """PHENOMENA 7, the bundled file: small-step GD ends where it starts; a step too large for
    the sharp minimum (η·λ_sharp > 2 > η·λ_flat) rattles in it without noise and, with noise,
    is shaken out and settles in the flat minimum."""
    result = replay("sharp_vs_flat")
    assert minima(result.scenario) == [SHARP, FLAT]
    # The first caption: "Two minima, both at loss 0".
    surface, params = surface_of(result.scenario)
    at_minima = surface.fn(torch.tensor([SHARP, FLAT], dtype=torch.float64), params)
    assert float(at_minima.abs().max()) < 1e-12
    lam_sharp = hessian_eigenvalues(result.scenario, SHARP).max()  # 38.43
    lam_flat = hessian_eigenvalues(result.scenario, FLAT).max()  # 1.0
    # The file's header quotes them: "curvature 38", "curvature 1".
    assert round(lam_sharp) == 38 and lam_flat == pytest.approx(1.0, abs=1e-6)
    lr = {run.name: run.lr for run in result.scenario.runs}
    assert lr["GD, start left"] * lam_sharp < 2
    assert lr["Large step, start left"] * lam_flat < 2 < lr["Large step, start left"] * lam_sharp
    where = basin_counts(result)
    assert where["GD, start left"] == "S" and where["GD, start right"] == "F"
    assert where["Large step + noise, start left"] == "F"
    # Each caption at its own step (read from the timeline).
    _, settled_left, rattles, shaken_out, settled_right, noise_off, end = (
        event.at for event in result.scenario.timeline
    )
    ((saddle_x, _),) = critical(result.scenario, "saddle")
    left, right = result.runs["GD, start left"], result.runs["GD, start right"]
    noisy = result.runs["Large step + noise, start left"]
    # "Small-step GD from the left has settled in the pit." (within 1e-3 from step 9 on)
    assert math.hypot(left.x[settled_left] - SHARP[0], left.y[settled_left]) < 1e-3
    # "Step 0.1 is too large for the pit: that run rattles in it but cannot get out": it never
    # crosses the saddle (x at most -0.87, saddle at -0.61), and from the caption on its loss
    # never settles. The orbit is chaotic (η·λ = 3.84: the minimum repels by a factor 2.84 per
    # step), so single-step losses part between machines; what holds is that every 10 steps the
    # loss climbs back above 0.3 (lowest 10-step peak 0.52 here; 0.44-0.53 with the start or η
    # moved by up to 2 %). Its plain minimum (0.024 here) dips to 0.009 under such nudges.
    rattler = result.runs["Large step, start left"]
    assert np.all(rattler.x < saddle_x)
    assert rattle_peaks(rattler.loss[rattles:]).min() > 0.3
    # "Gradient noise has shaken the noisy run out of the pit, into the wide bowl": on the flat
    # minimum's side of the saddle from the caption on (measured: for good from step 106).
    assert np.all(noisy.x[shaken_out:] > saddle_x)
    # "Small-step GD from the right has reached the bottom of the bowl" (within 1e-3 from 177).
    assert math.hypot(right.x[settled_right] - FLAT[0], right.y[settled_right]) < 1e-3
    # "Noise off: the noisy run, now in the wide bowl, can settle there. The large step still
    # rattles in the pit." (noise on until then: 0.68 from the bottom on the earlier machine,
    # 0.69 here; the rattler in the pit, its last 10 losses peaking above 0.3: "every run can
    # settle now" was false for it. Its loss at step 300 alone, 0.53 there and 0.51 here, is a
    # chaotic sample: 0.016 with η = 0.101.)
    assert noisy.x[noise_off] > saddle_x
    assert math.hypot(noisy.x[noise_off] - FLAT[0], noisy.y[noise_off]) > 1e-2
    assert rattler.x[noise_off] < saddle_x
    assert rattler.loss[noise_off - 9 : noise_off + 1].max() > 0.3
    # "The once-noisy run has settled at the bottom of the wide bowl (loss 2·10⁻¹⁰). The large
    # step never settles in the pit: over the last 100 steps its loss averages about 0.4."
    # The noisy run contracts in the flat bowl (factor 0.9 per step), so the machines agree: loss
    # 2e-10 on the earlier machine, 2.3e-10 here. The rattler's final loss is chaotic (0.19 on
    # the earlier machine, 0.55 here, 0.03-0.56 with the start nudged by 1e-4 to 3e-2), but its
    # mean over the orbit is not: 0.378 here, 0.372-0.383 with the start or η moved by up to
    # 2 %; "about 0.4" is the bound [0.35, 0.45).
    assert end == result.scenario.steps
    assert math.hypot(noisy.x[end] - FLAT[0], noisy.y[end] - FLAT[1]) < 1e-3
    assert f"{noisy.loss[end]:.0e}" == "2e-10"
    assert round(float(rattler.loss[noise_off:].mean()), 1) == 0.4
    assert rattle_peaks(rattler.loss[noise_off:]).min() > 0.3
    says(result.scenario, end, "2·10⁻¹⁰", "averages about 0.4")


def sharp_flat_sweep(lr: float, noise: float, starts, seeds) -> dict[int, str]:
    """Basin reached by noisy GD from each start, one character per seed (noise off at 300)."""
    scenario = load_scenario(find_scenario("sharp_vs_flat"))
    template = next(run for run in scenario.runs if run.noise)  # "Large step + noise, start left"
    noise_off = next(event for event in scenario.timeline if event.set is not None)
    runs = tuple(
        template.model_copy(update={"name": f"start {i}", "lr": lr, "noise": noise, "start": s})
        for i, s in enumerate(starts)
    )
    timeline = tuple(
        noise_off.model_copy(update={"set": noise_off.set.model_copy(update={"run": run.name})})
        for run in runs
    )
    out = {i: "" for i in range(len(starts))}
    for seed in seeds:
        variant = scenario.model_copy(update={"seed": seed, "runs": runs, "timeline": timeline})
        where = basin_counts(replay(variant))
        for i, run in enumerate(runs):
            out[i] += where[run.name]
    return out


@pytest.mark.slow
def test_sharp_vs_flat_noise_picks_the_flat_basin_over_seeds():
    """PHENOMENA 7 over 20 seeds: with gradient noise (σ = 1) and the large step, the flat basin
    wins 20/20 from the left start (where noiseless GD ends sharp) and 19/20 from the saddle
    (one run still on the plateau); the sharp basin never. Noiseless GD splits by start.

    The large step is essential: small-step GD (η = 0.04) with the same noise per step
    (ησ = 0.1) reached the flat minimum in 0 of 20 seeds (mostly thrown onto the plateau).
    """
    scenario = load_scenario(find_scenario("sharp_vs_flat"))
    (saddle,) = critical(scenario, "saddle")
    seeds = range(20)
    noisy = sharp_flat_sweep(0.1, 1.0, [(-1.2, 0.2), saddle], seeds)
    for outcome in noisy.values():
        assert outcome.count("F") >= 18 and outcome.count("S") == 0, noisy
    small = sharp_flat_sweep(0.04, 2.5, [(-1.2, 0.2)], seeds)
    # The file's header: "at η = 0.04 the same noise per step (ησ = 0.1) reaches the flat
    # minimum in none of 20 seeds".
    assert small[0].count("F") == 0, small

    # Noiseless GD at the small step: the start's side of the saddle decides.
    left = [(-1.2, 0.2), (-0.8, -0.2), (-1.0, 0.35), (-1.3, -0.1)]
    right = [(0.2, 0.6), (-0.4, 0.0), (1.5, -0.5), (0.8, 0.9)]
    gd = sharp_flat_sweep(0.04, 0.0, left + right, [0])
    assert [gd[i] for i in range(len(left))] == ["S"] * len(left)
    assert [gd[i] for i in range(len(left), len(left) + len(right))] == ["F"] * len(right)
