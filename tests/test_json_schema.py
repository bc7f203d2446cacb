"""`sandbox schema`: a JSON Schema of scenario files that every bundled scenario satisfies."""

from __future__ import annotations

import json
import tomllib

import pytest

from sandbox.cli import main
from sandbox.resources import bundled_scenarios
from sandbox.scenario.json_schema import DRAFT, scenario_json_schema
from sandbox.scenario.schema import Scenario

SCHEMA = scenario_json_schema()


def unknown_keys(data, node, path=()) -> list[tuple]:
    """Paths of the keys in `data` that the schema `node` has no property for (a small walker:
    $ref, a discriminated oneOf on `kind`, anyOf, arrays' items and prefixItems)."""
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in node and isinstance(data, dict):
        mapping = node["discriminator"]["mapping"]
        return unknown_keys(data, {"$ref": mapping[data["kind"]]}, path)
    if "anyOf" in node:
        found = [unknown_keys(data, choice, path) for choice in node["anyOf"]]
        return min(found, key=len)  # the choice that fits best
    if isinstance(data, dict) and "properties" in node:
        missing = [(*path, key) for key in data if key not in node["properties"]]
        for key, value in data.items():
            if key in node["properties"]:
                missing += unknown_keys(value, node["properties"][key], (*path, key))
        return missing
    if isinstance(data, list):
        rows = node.get("prefixItems") or [node.get("items", {})] * len(data)
        return [m for i, item in enumerate(data) for m in unknown_keys(item, rows[i], (*path, i))]
    return []


def test_the_schema_names_the_scenario_keys_users_write():
    assert SCHEMA["$schema"] == DRAFT and SCHEMA["additionalProperties"] is False
    assert list(SCHEMA["properties"]) == list(Scenario.model_fields)
    assert set(SCHEMA["required"]) == {"title", "steps", "landscape", "runs"}
    run = SCHEMA["$defs"]["Run"]["properties"]
    assert run["lr"] == {"exclusiveMinimum": 0, "maximum": 1e12, "type": "number"}  # not "gt"
    assert "null" not in json.dumps(SCHEMA)  # TOML has no null: an unwritten key is absent


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_key_of_a_bundled_scenario_is_in_the_schema(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert unknown_keys(data, SCHEMA) == []
    data["runs"][0]["lrate"] = 0.1  # the walker finds a key the schema lacks
    assert unknown_keys(data, SCHEMA) == [("runs", 0, "lrate")]


def test_every_bundled_scenario_validates_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")  # not a dependency: checked where installed
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for path in bundled_scenarios():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert list(validator.iter_errors(data)) == [], path
    data["runs"][0]["lr"] = -1.0
    assert not validator.is_valid(data)


def test_sandbox_schema_prints_it_and_writes_it_atomically(tmp_path, capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == SCHEMA
    out = tmp_path / "scenario.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == printed
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    assert main(["schema", "--out", str(tmp_path / "no" / "such.json")]) == 1
    assert "cannot write --out" in capsys.readouterr().err
