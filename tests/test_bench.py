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
        "module": ["first_surface_s", "surface_33_naive_s", "surface_vs_cnn", "training_ratio"],
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
    assert any(line.startswith("bench: 8 sections in ") for line in captured.err.splitlines())


def test_the_module_sections_network_is_the_cnn_sections():
    """The module section compares a handed-over module with the project's cnn: the two must be
    one network (same θ layout, same outputs), or the ratio between them means nothing."""
    import torch
    from torch.nn.utils import parameters_to_vector, vector_to_parameters

    from sandbox.bench.convnet import CNN_QUICK, CnnSizes, cnn_scenario_text
    from sandbox.bench.modulenet import DigitsConvNet
    from sandbox.landscape.problem import make_model
    from sandbox.scenario.load import parse_scenario

    def cnn_of(sizes):
        return make_model(parse_scenario(cnn_scenario_text(sizes, steps=10)).landscape)

    full = CnnSizes()
    module = DigitsConvNet(full.channels)
    assert parameters_to_vector(module.parameters()).numel() == cnn_of(full).n_params == 105_066
    module, cnn = DigitsConvNet(CNN_QUICK.channels), cnn_of(CNN_QUICK)
    theta = cnn.init_params(seed=3)
    vector_to_parameters(theta, module.parameters())
    x = torch.rand(5, 64)
    with torch.no_grad():
        torch.testing.assert_close(module(x.view(-1, 1, 8, 8)), cnn.forward(theta, x))


@pytest.mark.slow
def test_bench_module_reports_each_figure_with_its_baselines(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "module", "--json", str(out)]) == 0
    module = json.loads(out.read_text())["module"]
    pairs = {
        "first_surface_s": "first_surface_naive_s",
        "surface_33_s": "surface_33_naive_s",
        "lambda_max_s": "gradient_s",
        "steps_per_s": "bare_steps_per_s",
    }
    for figure, baseline in pairs.items():
        for key in (figure, baseline):
            assert math.isfinite(module[key]) and module[key] > 0, (key, module[key])
    assert module["training_ratio"] == module["steps_per_s"] / module["bare_steps_per_s"]
    assert math.isfinite(module["surface_vs_cnn"]) and module["surface_vs_cnn"] > 0
    # loss-landscapes is optional: its baseline is there exactly when it is installed.
    assert ("surface_33_point_s" in module) == (module["loss_landscapes"] is not None)
