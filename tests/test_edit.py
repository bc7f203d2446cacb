"""Scenario edits from the control panel, and writing scenarios back as TOML."""

from __future__ import annotations

import pytest

from sandbox.pipeline import prepare as pipeline
from sandbox.resources import bundled_scenarios, find_scenario
from sandbox.scenario.edit import live_change, restart_change, save_scenario, scenario_toml
from sandbox.scenario.load import ScenarioError, load_scenario, parse_scenario


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_bundled_scenario_survives_a_round_trip_through_toml(path):
    scenario = load_scenario(path)
    assert parse_scenario(scenario_toml(scenario)) == scenario


def test_a_live_change_is_a_timeline_change_the_optimiser_obeys():
    scenario = load_scenario(find_scenario("saddle"))
    edited = live_change(scenario, "GD", "lr", 0.2, 30)
    merged = live_change(edited, "GD", "noise", 0.1, 30)  # same run and step: one event
    changes = [e for e in merged.timeline if e.set is not None]
    assert len(changes) == 1 and (changes[0].at, changes[0].set.lr, changes[0].set.noise) == (
        30,
        0.2,
        0.1,
    )
    steps = list(pipeline.steps(pipeline.prepare(edited), edited.runs[0]))
    assert [s.lr for s in steps[:30]] == [0.05] * 30 and {s.lr for s in steps[30:]} == {0.2}
    at_start = live_change(scenario, "GD", "lr", 0.2, 0)
    assert at_start.runs[0].lr == 0.2 and at_start.timeline == scenario.timeline


def test_edits_go_through_the_file_rules():
    scenario = load_scenario(find_scenario("saddle"))
    with pytest.raises(ScenarioError, match="lr"):
        live_change(scenario, "GD", "lr", 0.0, 10)
    with pytest.raises(ScenarioError, match="batch_size"):  # analytic runs have no batches
        live_change(scenario, "GD", "batch_size", 8, 10)
    with pytest.raises(ValueError, match="no run named"):
        live_change(scenario, "nobody", "lr", 0.1, 10)


def test_a_new_optimiser_drops_the_keys_it_has_no_use_for():
    scenario = load_scenario(find_scenario("canyon_momentum"))
    index = next(i for i, r in enumerate(scenario.runs) if r.momentum)
    adam = restart_change(scenario, ("runs", index, "optimizer"), "adam")
    assert adam.runs[index].optimizer == "adam" and adam.runs[index].momentum is None
    nesterov = restart_change(adam, ("runs", index, "optimizer"), "nesterov")
    assert nesterov.runs[index].momentum == 0.9


def test_sam_and_lion_edits_keep_only_the_keys_they_read():
    scenario = load_scenario(find_scenario("sam_flat"))
    index = next(i for i, r in enumerate(scenario.runs) if r.optimizer == "sam")
    gd = restart_change(scenario, ("runs", index, "optimizer"), "gd")
    assert "rho" not in gd.runs[index].model_fields_set and gd.runs[index].momentum == 0.9
    lion = restart_change(scenario, ("runs", index, "optimizer"), "lion")
    assert lion.runs[index].momentum is None and "rho" not in lion.runs[index].model_fields_set
    # betas equal to adam's default stay written for lion, whose own default differs.
    adam = restart_change(lion, ("runs", index, "optimizer"), "adam")
    adam = restart_change(adam, ("runs", index, "betas"), [0.9, 0.999])
    assert restart_change(adam, ("runs", index, "optimizer"), "lion").runs[index].betas == (
        0.9,
        0.999,
    )


def test_network_shape_edits_and_save_as(tmp_path):
    scenario = load_scenario(find_scenario("edge_of_stability"))
    model = scenario.landscape.model
    wider = restart_change(scenario, ("landscape", "model", "widths"), [model.widths[0], 8, 1])
    assert wider.landscape.model.widths == (model.widths[0], 8, 1)
    path = save_scenario(wider, tmp_path / "sub" / "wider.toml", "Saved by a test")
    assert path.read_text().startswith("# Saved by a test\n")
    assert load_scenario(path) == wider
    assert not list(path.parent.glob("*.part"))
