"""Where the shipped data lives: shaders/, scenarios/ and assets/.

In an installed wheel they sit inside the package as `sandbox/_data/<kind>` (hatch force-include);
in a source checkout they are top-level folders beside the package. Every lookup goes through here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

KINDS = ("shaders", "scenarios", "assets")


def data_dir(kind: str) -> Path:
    """The folder holding one kind of shipped data."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    installed = Path(str(resources.files("sandbox") / "_data" / kind))
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / kind


def bundled_scenarios() -> list[Path]:
    """Every bundled scenario file, sorted by name."""
    return sorted(data_dir("scenarios").glob("*.toml"))


def find_scenario(name_or_path: str) -> Path:
    """A path as given, or else the bundled scenario of that name (with or without .toml)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml" and "/" in name_or_path:
        return path
    bundled = data_dir("scenarios") / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    return bundled if bundled.exists() else path
