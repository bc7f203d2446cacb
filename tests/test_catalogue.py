"""Every list of surfaces, optimisers, live settings and keys agrees with its catalogue, and the
catalogues load without the numerics or the window (sandbox/catalogue/, sandbox/app/keys.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from sandbox.catalogue import networks, optimizers, settings, surfaces
from sandbox.scenario.schema import Change, Run

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS_DOC = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _loaded_after(code: str) -> list[str]:
    """The heavy or lower-layer modules a fresh interpreter has loaded after running `code`."""
    probe = (
        f"{code}\nimport sys\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'pygame', 'moderngl') or m.startswith('sandbox.landscape')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return result.stdout.split()


def test_the_catalogues_load_no_torch_pygame_or_moderngl():
    code = "; ".join(
        f"import sandbox.catalogue.{name}"
        for name in ("surfaces", "optimizers", "networks", "settings")
    )
    assert _loaded_after(code + "; import sandbox.app.keys") == []


def test_validating_a_scenario_loads_no_landscape_code():
    """The scenario checks read the catalogues (scenario/rules.py imported landscape/ through
    function-level imports that hid a package cycle)."""
    code = (
        "import glob\nfrom sandbox.scenario.load import load_scenario\n"
        "for path in sorted(glob.glob('scenarios/*.toml')): load_scenario(path)"
    )
    assert _loaded_after(code) == []


# --- surfaces ---------------------------------------------------------------------------------
def test_every_catalogue_surface_has_an_implementation_and_no_other():
    from sandbox.landscape import analytic
    from sandbox.scenario.schema import SURFACE_NAMES

    # "formula" is implemented by its landscape's formula (analytic.formula_surface)
    assert (*analytic._IMPLEMENTATIONS, "formula") == surfaces.NAMES == SURFACE_NAMES
    for name, surface in analytic.SURFACES.items():
        entry = surfaces.SURFACES[name]
        assert (surface.defaults, surface.bounds, surface.start) == (
            entry.defaults,
            entry.bounds,
            entry.start,
        )


@pytest.mark.parametrize("entry", surfaces.CATALOGUE, ids=lambda s: s.name)
def test_every_surface_default_and_bound_is_allowed(entry):
    """A default is inside its own range, and a value beyond a bound is refused in words."""
    assert surfaces.resolve_params(entry.name, {}) == entry.defaults
    for key, param in entry.params.items():
        assert param.allows(param.default)
        beyond = [v for v in (param.low, param.high) if v is not None]
        for value in (param.low - 1 if param.low is not None else None, *beyond):
            if value is None or param.allows(value):
                continue
            with pytest.raises(ValueError, match=f"'{key}' for surface '{entry.name}' must be"):
                surfaces.resolve_params(entry.name, {key: value})


def test_the_docs_table_of_surfaces_is_the_catalogue():
    assert surfaces.markdown_table() in SCENARIOS_DOC


# --- optimisers -------------------------------------------------------------------------------
def _run(optimizer: str, **keys) -> Run:
    return Run(name="r", optimizer=optimizer, lr=0.1, **keys)


# A value for each optional key that no optimiser takes by default.
DISTINCT = {
    "momentum": 0.37,
    "dampening": 0.25,
    "rho": 0.3,
    "alpha": 0.5,
    "betas": (0.7, 0.8),
    "eps": 0.01,
}


@pytest.mark.parametrize("entry", optimizers.CATALOGUE, ids=lambda o: o.name)
def test_every_catalogue_optimizer_builds_and_reads_its_keys(entry):
    """The registry builds every optimiser of the catalogue, each key the catalogue says it
    reads reaches torch.optim, and its defaults are the catalogue's."""
    import torch

    from sandbox.optim.registry import make_optimizer

    theta = [torch.zeros(2, requires_grad=True)]
    group = make_optimizer(_run(entry.name), theta).param_groups[0]
    for key, value in entry.defaults.items():
        assert group[key] == value
    for key in entry.keys:
        group = make_optimizer(_run(entry.name, **{key: DISTINCT[key]}), theta).param_groups[0]
        assert group[key] == DISTINCT[key]
    assert set(optimizers.OPTIONAL_KEYS) <= set(Run.model_fields)


def test_the_schema_takes_the_catalogue_optimizers():
    from sandbox.scenario.schema import OPTIMIZERS

    assert OPTIMIZERS == optimizers.NAMES


def test_the_docs_table_of_run_keys_names_the_catalogue_optimizers():
    rows = {line.split("|")[1].strip(): line for line in SCENARIOS_DOC.splitlines() if "|" in line}
    names = ", ".join(f"`{name}`" for name in optimizers.NAMES)
    assert rows["`optimizer`"].endswith(f"| {names} |")
    for key, readers in optimizers.KEYS_FOR_OPTIMIZER.items():
        last = rows[f"`{key}`"].split("|")[-2].strip()
        assert last == ", ".join(readers) or last.startswith(", ".join(readers) + ":"), key
    with_momentum = [o.name for o in optimizers.CATALOGUE if "momentum" in o.defaults]
    assert "/".join(f"`{name}`" for name in with_momentum) in rows["`momentum`"]


# --- networks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", networks.DATASETS)
def test_every_catalogue_dataset_is_generated_with_the_catalogue_shape(name):
    from sandbox.landscape.data import make_dataset
    from sandbox.scenario.schema import DataSpec

    spec = DataSpec(name=name, n=24, classes=3)
    data = make_dataset(spec, seed=0)
    assert data.n_classes == networks.n_classes_of(spec)
    assert data.x.shape == (24, networks.input_dim_of(spec))
    if data.task == "regression":
        assert data.y.shape == (24, networks.target_dim_of(spec))


def test_every_catalogue_loss_and_activation_is_implemented():
    from sandbox.landscape import mlp

    assert set(networks.LOSSES) == {"bce", "cross_entropy", *mlp._ELEMENTWISE}
    assert tuple(mlp._ACTIVATIONS) == networks.ACTIVATIONS


def test_the_docs_network_example_names_the_catalogue_choices():
    for names in (networks.LOSSES, networks.DATASETS, networks.ACTIVATIONS, networks.INITS):
        assert f"# {' | '.join(names)}\n" in SCENARIOS_DOC, names


# --- live settings ----------------------------------------------------------------------------
def test_a_timeline_change_sets_exactly_the_catalogue_settings():
    assert tuple(key for key in Change.model_fields if key != "run") == settings.KEYS
    assert settings.timeline_sentence() in SCENARIOS_DOC


def test_the_panel_changes_the_catalogue_panel_settings():
    from sandbox.app.panel import current_values
    from sandbox.scenario.edit import LIVE_KEYS
    from sandbox.scenario.load import load_scenario

    assert LIVE_KEYS == settings.PANEL_KEYS
    scenario = load_scenario(ROOT / "scenarios" / "saddle.toml")
    assert tuple(current_values(scenario, 0)[0]) == settings.PANEL_KEYS
    panel = README[README.index("**Control panel**") :].split("\n\n")[0]
    for key in settings.PANEL_KEYS:
        assert settings.LABELS[key] in panel, key


# --- keys -------------------------------------------------------------------------------------
def test_every_key_in_the_table_does_something_in_the_app():
    """Each key of the table (help overlay, README) reaches the window's App as its command,
    and every command that takes no value (the others come from the panels and the mouse: a
    step to show, a run to hide, a file, a point clicked on the surface) has a key."""
    from sandbox.app.commands import Command
    from sandbox.app.keys import KEYS, key_commands
    from sandbox.app.window import App

    codes = {f"K_{name}": i for i, name in enumerate(n for k in KEYS for n in k.names)}
    app = SimpleNamespace(_key_commands=key_commands(SimpleNamespace(**codes)), sent=[])
    app.command = lambda command, value=None: app.sent.append(command)
    for key in KEYS:
        App.key(app, codes[f"K_{key.names[0]}"])
    assert app.sent == [Command(key.command) for key in KEYS]
    with_values = {Command.SCRUB, Command.VISIBLE, Command.OPEN, Command.SAVE}
    with_values |= {Command.DROP_BALL, Command.MOVE_START}
    assert {Command(key.command) for key in KEYS} == set(Command) - with_values
