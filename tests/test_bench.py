"""`sandbox bench --quick`: the benchmark command as a smoke test (figures are not asserted)."""

from __future__ import annotations

import json
import math

import pytest

from sandbox.cli import main


@pytest.mark.slow
def test_bench_quick_writes_every_section(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    expected = {
        "grid": ["points_per_s", "naive_points_per_s", "peak_gflops", "achieved_gflops"],
        "first_surface": ["first_surface_s"],
        "sharpness": ["ms", "rel_err"],
        "spectrum": ["train_step_ms", "trace_ms", "density_ms", "trace_in_steps"],
        "frame": ["median_ms", "p95_ms", "p95_ms_training", "app_p95_ms_training"],
        "training": ["steps_per_s", "bare_steps_per_s"],
        "cnn": ["first_surface_s", "surface_33_s", "lambda_max_s", "steps_per_s"],
    }
    for section, keys in expected.items():
        for key in keys:
            value = results[section][key]
            assert math.isfinite(value) and value >= 0, (section, key, value)
    # Exactness is checked even at tiny sizes: the batched grid equals the per-point loop.
    assert results["grid"]["max_rel_err"] < 1e-5
    assert results["sharpness"]["rel_err"] < 1e-3
    captured = capsys.readouterr()
    assert "grid" in captured.out
    # stderr is captured here, not a terminal: a plain last line for logs (trace/progress)
    assert any(line.startswith("bench: 7 sections in ") for line in captured.err.splitlines())
