"""Scenario checks for the cnn model kind and the digits (issue 20): bad combinations are
refused with file, line, key and reason; good ones load."""

from __future__ import annotations

import pytest
from builders import network_toml, run

from sandbox.scenario.load import ScenarioError, parse_scenario

DIGITS = {"name": "digits", "n": 64}
CNN = {"kind": "cnn", "channels": [4, 8], "pool": "max"}


def digits_cnn(**keys) -> str:
    """digits (n = 64) and a cnn, cross-entropy; `keys` replace the builder's arguments.

    Layout: line 1 title, 2 steps, 4 [landscape], 5 kind, 6 loss, 8 [landscape.data], 9 name,
    10 n, 12 [landscape.model], 13 kind, 14 channels, 15 pool, then [[runs]]."""
    args = {"loss": "cross_entropy", "data": DIGITS, "widths": None, "model": CNN} | keys
    return network_toml(**args)


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    return [str(p) for p in info.value.problems]


def test_a_cnn_on_digits_loads():
    scenario = parse_scenario(digits_cnn())
    model = scenario.landscape.model
    assert model.kind == "cnn" and model.channels == (4, 8) and model.widths is None


def test_an_mlp_on_digits_loads_with_64_inputs():
    text = network_toml(loss="cross_entropy", data=DIGITS, widths=[64, 16, 10])
    assert parse_scenario(text).landscape.data.name == "digits"
    found = problems(network_toml(loss="cross_entropy", data=DIGITS, widths=[2, 16, 10]))
    assert found == [
        "s.toml:13: landscape.model.widths: widths[0] must equal the data's input dimension 64 "
        "('digits'), got 2"
    ]


def test_mlp_keys_on_a_cnn_are_refused():
    found = problems(digits_cnn(model={**CNN, "skip": True, "dropout": 0.1}))
    assert found == [
        's.toml:16: landscape.model.skip: applies to kind = "mlp" only (this model is "cnn")',
        's.toml:17: landscape.model.dropout: applies to kind = "mlp" only (this model is "cnn")',
    ]
    found = problems(digits_cnn(widths=[64, 10]))
    assert found[0].startswith('s.toml:13: landscape.model.widths: applies to kind = "mlp"')


def test_cnn_keys_on_an_mlp_are_refused():
    found = problems(network_toml(model={"channels": [4], "pool": "max"}))
    assert found == [
        's.toml:14: landscape.model.channels: applies to kind = "cnn" only (this model is "mlp")',
        's.toml:15: landscape.model.pool: applies to kind = "cnn" only (this model is "mlp")',
    ]


def test_each_kind_needs_its_shape():
    assert problems(digits_cnn(model={"kind": "cnn"})) == [
        's.toml:12: landscape.model.channels: kind = "cnn" needs channels = [...]'
    ]
    assert problems(network_toml(widths=None, model={"activation": "relu"})) == [
        's.toml:12: landscape.model.widths: kind = "mlp" needs widths = [...]'
    ]


def test_a_cnn_needs_image_data():
    found = problems(digits_cnn(data={"name": "moons", "n": 64}, loss="bce"))
    assert found[0] == (
        "s.toml:13: landscape.model.kind: kind = \"cnn\" needs image data (dataset 'digits'), "
        "got 'moons'"
    )


def test_pooling_that_leaves_no_pixel_is_refused():
    found = problems(digits_cnn(model={**CNN, "channels": [4, 4, 4, 4]}))
    assert found == [
        "s.toml:14: landscape.model.channels: 4 layers each pooled 2×2 shrink the 8×8 images "
        "to nothing; at most 3 fit with pool = 'max'"
    ]
    assert parse_scenario(digits_cnn(model={**CNN, "channels": [4, 4, 4]}))


def test_digits_refuse_noise_and_more_images_than_there_are():
    found = problems(digits_cnn(data={"name": "digits", "n": 2000, "noise": 0.1}))
    assert found == [
        "s.toml:10: landscape.data.n: 'digits' has 1,797 images; n = 2,000 is more",
        "s.toml:11: landscape.data.noise: has no effect on 'digits': real images, to which no "
        "noise is added",
    ]
    found = problems(digits_cnn(data={**DIGITS, "classes": 3}))
    assert found[0].startswith("s.toml:11: landscape.data.classes: 'digits' has a fixed number")


def test_batch_larger_than_the_subset_is_refused():
    found = problems(digits_cnn(runs=[run(optimizer="sgd", batch_size=65)]))
    assert any("batch_size 65 is larger than the dataset (n = 64)" in p for p in found)


def test_the_cost_estimate_counts_convolutions_by_their_pixels():
    """A cnn reuses each filter at every pixel: a wide one on all digits for many steps costs
    far more than its parameter count says, and the budget names it."""
    # 304,010 parameters; multiply-adds a sample 9·(1·64 + 64·128 + 128·128)·64 + 8,192·10
    # = 14,274,560, 47× the parameter count
    wide = {"kind": "cnn", "channels": [64, 128, 128]}
    text = digits_cnn(model=wide, data={"name": "digits", "n": 1797}, steps=20_000)
    work = [p for p in problems(text) if "floating-point operations" in p]
    assert len(work) == 1 and work[0].startswith("s.toml:12: landscape.model"), work
    # A training step costs 6 flops per multiply-add and sample: 6 · 1797 · 14,274,560 · 20,000
    # = 3.1e15 for the training alone (2·P per sample would have said 6.6e13).
    assert "a step: 3.1e+15" in work[0], work
