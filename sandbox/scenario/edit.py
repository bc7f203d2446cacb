"""Edits of a validated scenario, made from the control panel, and writing scenarios as TOML.

Every edit goes back through the TOML text and `parse_scenario`, the same validation a file gets,
so the app never runs a scenario that `sandbox check` would reject, and what "Save as" writes is
exactly what ran. A live change (lr, noise, momentum, batch size) made while step k is shown
becomes a timeline event ``{at = k, set = {...}}``: replaying the saved file reproduces the
session's runs step for step. Structural changes (optimiser, preconditioner, network shape)
edit the run or model itself; the app restarts the runs for those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from sandbox.catalogue import optimizers, settings
from sandbox.scenario.lines import too_many_items
from sandbox.scenario.load import ScenarioError, parse_scenario, read_text
from sandbox.scenario.schema import Scenario
from sandbox.trace.io import write_text_atomic

# Run keys the control panel changes from a step on (the rest need a restart).
LIVE_KEYS = settings.PANEL_KEYS


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain TOML-ready data, defaults left out (a short, readable file)."""
    data = scenario.model_dump(mode="python", exclude_defaults=True, exclude_none=True)
    return _toml_ready(data)


def scenario_toml(scenario: Scenario, header: str = "") -> str:
    """The scenario as TOML text; `header` becomes leading comment lines."""
    return _comment(header) + tomli_w.dumps(scenario_data(scenario))


SAVED_BY = "Saved from the Loss Landscape Sandbox"  # how a saved file's first line begins


def _comment(header: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())


def _toml_ready(value: Any) -> Any:
    # Lists, not tuples: editable, and what tomli_w writes (the schema makes tuples on load).
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value]
    return value


def validated(data: dict[str, Any], source: str = "<edited scenario>") -> Scenario:
    """`data` through the file loader's validation (raises ScenarioError with every problem)."""
    return parse_scenario(tomli_w.dumps(_toml_ready(data)), source)


def live_change(scenario: Scenario, run: str, key: str, value: Any, at: int) -> Scenario:
    """`run`'s `key` set to `value` from step `at` on (at 0: the run's own value)."""
    if key not in LIVE_KEYS:
        raise ValueError(f"{key!r} cannot change while a run goes on (one of {LIVE_KEYS})")
    names = [r.name for r in scenario.runs]
    if run not in names:
        raise ValueError(f"no run named {run!r}")
    data = scenario_data(scenario)
    if at <= 0:
        data["runs"][names.index(run)][key] = value
        return validated(data)
    timeline = data.setdefault("timeline", [])
    for event in timeline:  # one change per run and step: merge into an existing one
        change = event.get("set")
        if event["at"] == at and change and change["run"] == run:
            change[key] = value
            break
    else:
        timeline.append({"at": at, "set": {"run": run, key: value}})
    timeline.sort(key=lambda event: event["at"])  # stable: captions keep their order
    return validated(data)


def restart_change(scenario: Scenario, path: tuple, value: Any) -> Scenario:
    """The value at `path` (e.g. ``("runs", 0, "optimizer")`` or ``("landscape", "model",
    "activation")``) replaced; `value` None removes the key (back to its default).

    A new optimiser drops the run's keys that mean nothing to it (adam has no momentum), as the
    file rules would otherwise refuse the edit; nesterov gets momentum 0.9 if it has none."""
    data = scenario_data(scenario)
    if len(path) == 3 and path[0] == "runs" and path[2] == "optimizer":
        _fit_run_to_optimizer(data, path[1], value)
    parent = data
    for part in path[:-1]:
        parent = parent.setdefault(part, {}) if isinstance(part, str) else parent[part]
    if value is None:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return validated(data)


def add_run(
    scenario: Scenario, like: int, start: tuple[float, float], name: str, color: str | None = None
) -> Scenario:
    """A new run `name` with run `like`'s own settings (not its timeline changes) starting at
    `start`: the ball a click drops. `color` ("#rrggbb") or the palette's next."""
    data = scenario_data(scenario)
    run = dict(data["runs"][like])
    run["name"] = name
    run["start"] = [float(start[0]), float(start[1])]
    run.pop("color", None)
    if color is not None:
        run["color"] = color
    run.pop("init_seed", None)  # a start on the plane says where the run begins
    data["runs"].append(run)
    return validated(data)


def move_start(scenario: Scenario, index: int, start: tuple[float, float]) -> Scenario:
    """Run `index` starting at `start` instead (a dragged start point)."""
    data = scenario_data(scenario)
    data["runs"][index]["start"] = [float(start[0]), float(start[1])]
    data["runs"][index].pop("init_seed", None)
    return validated(data)


def remove_run(scenario: Scenario, index: int) -> Scenario:
    """The scenario without run `index` and its timeline changes (captions stay)."""
    data = scenario_data(scenario)
    if len(data["runs"]) < 2:
        raise ValueError("a scenario needs at least one run")
    name = data["runs"].pop(index)["name"]
    timeline = []
    for event in data.get("timeline", []):
        change = event.get("set")
        if change and change["run"] == name:
            event = {k: v for k, v in event.items() if k != "set"}
            if "caption" not in event:
                continue
        timeline.append(event)
    if "timeline" in data:
        data["timeline"] = timeline
    # a connect slice that names the run is refused here, with the file's own message
    return validated(data)


def save_scenario(
    scenario: Scenario, path: Path, header: str = "", source: Path | None = None
) -> Path:
    """Write `scenario` to `path` as TOML atomically (a temporary file renamed into place).
    Given the `source` file it was loaded from, that file's text is edited in place, keeping the
    user's comments and key order; `header` becomes leading comment lines either way."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = _kept_layout(scenario, Path(source), path) if source is not None else None
    if kept is not None and kept.startswith(f"# {SAVED_BY}"):  # saved here before: our line
        kept = kept.partition("\n")[2]  # is replaced by the new one, not stacked above it
    text = _comment(header) + kept if kept is not None else scenario_toml(scenario, header)
    write_text_atomic(path, text)
    return path


def _kept_layout(scenario: Scenario, source: Path, target: Path) -> str | None:
    """The text of `source` with the edits that made `scenario` applied, to be written to
    `target`, or None where that does not load to exactly `scenario` (the file changed or became
    invalid; a relative data file path means another file from `target`'s folder)."""
    from sandbox.scenario.layout import edited_text  # tomlkit: ~25 ms to import, when saving

    try:
        text = read_text(source)
        if too_many_items(text):
            return None  # tomlkit's document assembly is quadratic at worst
        before = scenario_data(parse_scenario(text, str(source), source.parent))
        text = edited_text(text, before, scenario_data(scenario))
        same = parse_scenario(text, str(target), target.parent) == scenario
    except (ScenarioError, LookupError, TypeError, ValueError):
        return None  # a layout tomlkit cannot edit this way: a fresh file is still right
    return text if same else None


def _fit_run_to_optimizer(data: dict[str, Any], index: int, optimizer: str) -> None:
    run = data["runs"][index]
    for key, readers in optimizers.KEYS_FOR_OPTIMIZER.items():
        if optimizer not in readers:
            run.pop(key, None)
            for event in data.get("timeline", []):
                change = event.get("set")
                if change and change["run"] == run["name"]:
                    change.pop(key, None)
    entry = optimizers.OPTIMIZERS[optimizer]
    for key in entry.positive:  # nesterov gets momentum 0.9 if it has none
        if not run.get(key):
            run[key] = entry.defaults[key]
    for event in data.get("timeline", []):  # a change left with nothing to change goes
        if event.get("set") is not None and set(event["set"]) == {"run"}:
            del event["set"]
    data["timeline"] = [e for e in data.get("timeline", []) if e.get("caption") or e.get("set")]
    if not data["timeline"]:
        del data["timeline"]
