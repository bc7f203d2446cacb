"""What an install offers: the wheel built from this tree works on its own, from any folder, and
the base install (no `sweep` extra) runs everything but `sandbox sweep`, which says what to add.

The wheel test needs no network: the wheel is built with this environment's hatchling (the
`test` extra), and the fresh venv borrows this environment's installed dependencies through a
path entry behind its own site-packages, so only the package itself comes from the wheel.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from sweep_cli import cli
from sweep_files import SMALL

import sandbox
from sandbox.resources import KINDS
from sandbox.sweep.cli import SWEEP_EXTRA_MODULES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(sandbox.__file__).resolve().parent


# -- the sweep extra -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", SWEEP_EXTRA_MODULES)
def test_sweep_without_the_sweep_extra_says_what_to_install(tmp_path, capsys, monkeypatch, module):
    sweep = tmp_path / "small.toml"
    sweep.write_text(SMALL, encoding="utf-8")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` fails: as if not installed
    assert cli(str(sweep), "--check") == 0  # validating needs none of them
    assert cli(str(sweep), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert f"({module} not installed)" in err
    assert "pip install 'loss-landscape-sandbox[sweep]'" in err
    assert not (tmp_path / "out").exists()


def test_only_the_sweeps_import_the_sweep_extra_and_only_when_they_run():
    """The base install must import every other module: the sweep extra's packages are imported
    inside functions (run by `sandbox sweep`), never at a module's top level."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, in_function in _imports(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any((n or "").split(".")[0] in SWEEP_EXTRA_MODULES for n in names):
                found.append((path.relative_to(PACKAGE).as_posix(), node.lineno, in_function))
    assert found, "the sweeps import dask and pyarrow somewhere: this scan is finding nothing"
    assert [f for f in found if not f[2] or not f[0].startswith("sweep/")] == []


def _imports(tree: ast.AST, in_function: bool = False):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(node, inside)


# -- the wheel -------------------------------------------------------------------------------------


def _shipped_data() -> set[str]:
    """Every file of shaders/, scenarios/ and assets/ as the wheel must hold it."""
    return {
        f"sandbox/_data/{path.relative_to(ROOT).as_posix()}"
        for kind in KINDS
        for path in (ROOT / kind).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _run(argv: list, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_another_folder(tmp_path):
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, ROOT], ROOT)
    (wheel,) = dist.glob("loss_landscape_sandbox-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _shipped_data() - names == set()  # shaders, scenarios, assets all inside the package
    assert "sandbox/_data/scenarios/saddle.toml" in names and "sandbox/cli/__init__.py" in names

    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp_path)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(_run([python, "-c", purelib], tmp_path).strip())
    # This environment's packages, after the venv's own (plain entries: this environment's .pth
    # files, an editable install of this tree among them, are not read there).
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "borrowed.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # no PYTHONPATH

    where = _run([python, "-c", WHERE], elsewhere, env).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's, not this tree's
    sandbox_cmd = python.parent / ("sandbox.exe" if os.name == "nt" else "sandbox")
    assert "saddle" in _run([sandbox_cmd, "list"], elsewhere, env)
    replay = [sandbox_cmd, "replay", "saddle", "--out", "out", "--quiet", "--frames"]
    replay += ["--frame-count", "2", "--size", "96x64", "--video", "saddle.mp4"]
    _run(replay, elsewhere, env)
    out = elsewhere / "out"
    assert {p.name for p in (out / "runs").glob("*.csv")} == {
        "gd.csv",
        "gd___noise_0_05.csv",
        "gd___noise_0_3.csv",
    }
    assert (out / "summary.json").stat().st_size > 0
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == [
        "frame_00000.png",
        "frame_00001.png",
    ]
    assert (elsewhere / "saddle.mp4").stat().st_size > 0


# The package and each kind of shipped data, as the installed package finds them.
WHERE = """
import sandbox
from sandbox.resources import KINDS, data_dir
print(sandbox.__file__, *(data_dir(kind) for kind in KINDS))
"""
