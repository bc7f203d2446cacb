"""Scenario files are data: nothing on their path evaluates, imports or unpickles anything."""

from __future__ import annotations

import re
from pathlib import Path

from builders import analytic_toml, run

import sandbox

# Modules a scenario or sweep file's contents flow through.
DATA_PATH = ["scenario", "landscape", "optim", "trace", "sweep", "replayer.py", "compare.py"]
FORBIDDEN = re.compile(
    r"(?<![.\w])(eval|exec|compile|__import__)\s*\(|import_module|\bpickle\b|torch\.load|marshal|"
    r"yaml\.load|shelve|subprocess|os\.system"
)


def test_no_code_execution_on_the_scenario_path():
    root = Path(sandbox.__file__).parent
    files = [
        f
        for part in DATA_PATH
        for f in ((root / part).rglob("*.py") if (root / part).is_dir() else [root / part])
    ]
    assert len(files) > 20
    offenders = [
        f"{f.relative_to(root)}:{n}: {line.strip()}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
        and not line.lstrip().startswith("#")
        and not _dumps_only(f.relative_to(root).as_posix(), line)
    ]
    assert not offenders, "\n".join(offenders)


# landscape/module.py takes a torch module the caller hands over from Python (sandbox.show),
# never one from a file (kind = "module" is refused in files), and only *dumps* it, to check it
# can travel to the worker: mentions of pickle there are allowed, any load is not.
HANDED_OVER = "landscape/module.py"


def _dumps_only(path: str, line: str) -> bool:
    if path != HANDED_OVER or re.search(r"\bloads?\b|torch\.load", line):
        return False
    return not re.search(r"(eval|exec|compile|__import__)\s*\(|import_module|marshal", line)


def test_a_scenario_cannot_smuggle_code(tmp_path):
    from sandbox.scenario.load import ScenarioError, parse_scenario

    marker = tmp_path / "pwned"
    text = analytic_toml(
        params={"l1": 1.0},
        runs=[run("eval('1+1')")],
        title=f"__import__('os').system('touch {marker}')",
        steps=1,
    )
    scenario = parse_scenario(text)
    sandbox.replay(scenario, tmp_path / "out")
    assert not marker.exists()
    try:
        parse_scenario(text.replace('surface = "quadratic"', 'surface = "os.system"'))
    except ScenarioError as exc:
        assert "landscape.surface" in str(exc)
    else:
        raise AssertionError("an unknown surface name must be rejected")
