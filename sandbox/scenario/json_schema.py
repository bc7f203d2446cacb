"""A JSON Schema (draft 2020-12) of the scenario format, for editors that complete and check TOML
keys (Taplo, Even Better TOML): `sandbox schema`.

It is generated from the pydantic models that validate a file, so it cannot fall behind them, and
then told what the models accept through validators it cannot see: a schedule written as a bare
name, a preconditioner name or matrix. TOML has no null, so the models' "or None" (meaning "not
written") is dropped, as are the titles pydantic derives from each key ("Lr" for lr). The loader
remains the judge: cross-field rules (keys that only apply to some optimisers) are not in here.
"""

from __future__ import annotations

from typing import Any

from sandbox.catalogue import optimizers
from sandbox.scenario.schema import Scenario, Schedule

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# pydantic leaves a bound on a validated number (Finite) under its own name, which JSON Schema
# ignores: the bound is renamed to the keyword that checks it.
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as a JSON Schema document."""
    schema = _for_toml(Scenario.model_json_schema(mode="validation"))
    run = schema["$defs"]["Run"]["properties"]
    names = list(Schedule.model_fields["kind"].annotation.__args__)
    run["schedule"] = {
        "anyOf": [{"enum": names}, run["schedule"]],
        "description": f"a schedule's name ({', '.join(names)}) or a table with its kind",
    }
    matrix = {
        "type": "array",
        "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "minItems": 2,
        "maxItems": 2,
    }
    run["precondition"] = {
        "anyOf": [{"enum": list(optimizers.PRECONDITIONERS)}, matrix],
        "default": "none",
        "description": "a preconditioner's name or a 2x2 matrix [[a, b], [c, d]]",
    }
    return {
        "$schema": DRAFT,
        **schema,
        "title": "Loss Landscape Sandbox scenario",
    }


def _for_toml(node: Any, key: str = "") -> Any:
    """`node` without null alternatives, null defaults and the titles derived from key names, and
    with its bounds under JSON Schema's names."""
    if isinstance(node, list):
        return [_for_toml(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {}
    for name, value in node.items():
        if name == "title" and key == "property":
            continue
        if name == "default" and value is None:
            continue
        if name == "properties":
            value = {k: _for_toml(v, "property") for k, v in value.items()}
        else:
            value = _for_toml(value)
        cleaned[_BOUNDS.get(name, name) if "type" in node else name] = value
    choices = cleaned.get("anyOf")
    if choices is not None:
        kept = [choice for choice in choices if choice != {"type": "null"}]
        if len(kept) == 1:
            del cleaned["anyOf"]
            cleaned = {**kept[0], **cleaned}
        else:
            cleaned["anyOf"] = kept
    return cleaned
