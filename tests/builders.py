"""Scenario builders for tests: TOML text (or a parsed Scenario) for the common shapes.

One canonical layout, so that tests which assert file line numbers can count on it: the top-level
keys (title, then seed when given, then steps), a blank line before each table, one key a line,
in the order given, and a final newline. `analytic_toml()` and `network_toml()` take keyword
arguments for what tests vary; `run()` makes one `[[runs]]` entry.
"""

from __future__ import annotations

import json
import re

from sandbox.scenario.load import parse_scenario
from sandbox.scenario.schema import Scenario

MOONS = {"name": "moons", "n": 64}


def value(v: object) -> str:
    """A Python value as TOML: 1 stays `1`, 1.0 stays `1.0`, dicts become inline tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    return "[" + ", ".join(value(x) for x in v) + "]"


def table(header: str, keys: dict) -> str:
    """`[header]` (or `[[header]]` when written so) and its keys, after a blank line."""
    lines = "".join(f"{k} = {value(v)}\n" for k, v in keys.items() if v is not None)
    return f"\n{header}\n{lines}"


def run(name: str = "a", optimizer: str = "gd", lr: float = 0.1, **keys: object) -> dict:
    """One run's keys in file order: name, optimizer, lr, then `keys` as given."""
    return {"name": name, "optimizer": optimizer, "lr": lr, **keys}


def scenario_toml(
    landscape: str,
    runs,
    *,
    title: str = "t",
    seed: int | None = None,
    steps: int = 10,
    timeline=(),
    challenge: dict | None = None,
) -> str:
    """A whole file around `landscape` (its tables, already written); `challenge` writes a
    `[challenge]` table after the runs."""
    head = "".join(
        f"{k} = {value(v)}\n" for k, v in (("title", title), ("seed", seed)) if v is not None
    )
    text = head + f"steps = {steps}\n" + landscape
    text += "".join(table("[[runs]]", r) for r in runs)
    text += table("[challenge]", challenge) if challenge is not None else ""
    return text + "".join(table("[[timeline]]", event) for event in timeline)


def analytic_toml(
    surface: str = "quadratic",
    *,
    formula: str | None = None,
    params: dict | None = None,
    bounds=None,
    runs=None,
    **top,
) -> str:
    """An analytic scenario: `runs` defaults to one GD run `a` (lr 0.1) from (1, 0.5).
    `formula` (surface = "formula") is written on the line after `surface`."""
    keys = {"kind": "analytic", "surface": surface, "formula": formula}
    keys |= {"bounds": bounds, "params": params}
    runs = [run(start=[1, 0.5])] if runs is None else runs
    return scenario_toml(table("[landscape]", keys), runs, **top)


def network_toml(
    *,
    loss: str = "bce",
    data: dict = MOONS,
    widths=(2, 8, 1),
    model: dict | None = None,
    slice: dict | None = None,
    runs=None,
    **top,
) -> str:
    """A small network scenario: moons (n = 64), a 2-8-1 net, BCE, one SGD run `a` (lr 0.1).

    `model` adds keys after `widths`; `slice` writes a `[landscape.slice]` table."""
    text = table("[landscape]", {"kind": "network", "loss": loss})
    text += table("[landscape.data]", data)
    text += table("[landscape.model]", {"widths": widths, **(model or {})})
    text += table("[landscape.slice]", slice) if slice else ""
    runs = [run(optimizer="sgd")] if runs is None else runs
    return scenario_toml(text, runs, **top)


def with_plots(text: str, plots: list[str]) -> str:
    """A scenario's text with its [view] table (if any) replaced by `plots = plots`."""
    text = re.sub(r"\n\[view\][^\n]*\nplots = [^\n]*\n", "\n", text)
    return text + "\n[view]\nplots = " + json.dumps(plots, ensure_ascii=False) + "\n"


def analytic_scenario(surface: str = "quadratic", **keys) -> Scenario:
    return parse_scenario(analytic_toml(surface, **keys))


def network_scenario(**keys) -> Scenario:
    return parse_scenario(network_toml(**keys))
