"""The import graph of `sandbox/` between its packages follows the layers, and has no cycles.

Every `import` and `from ... import` of every module counts, function-level ones included (they
hide a dependency from a reader, not from the graph); only imports under `if TYPE_CHECKING:`
are left out, as they never run. A unit is a package (`sandbox/landscape/`, ...) or a top-level
module (`sandbox/replayer.py`, ...). From the bottom up: the catalogues and the records (trace);
scenario files; the landscapes and the optimisers, which know nothing of each other; the
pipeline that joins them; then the replayer, the window (app) and the sweeps; the CLI on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

ROOT = Path(sandbox.__file__).parent

BASE = {"errors", "resources", "catalogue", "trace"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "resources": {"errors"},
    "catalogue": set(),
    "trace": {"errors"},
    "instruments": {"catalogue"},
    "scenario": BASE | {"instruments"},
    "landscape": BASE | {"instruments", "scenario"},
    "optim": BASE | {"scenario"},
    "pipeline": BASE | {"instruments", "scenario", "landscape", "optim"},
    # replayer -> notebook: ReplayResult.plot() and .video() call up to the drawing, lazily
    "replayer": BASE | {"scenario", "landscape", "pipeline", "notebook"},
    "notebook": BASE | {"scenario", "plots", "render", "app"},
    "compare": BASE,
    # assertions for users' tests: two replays (results or folders) compared
    "testing": BASE | {"replayer", "compare"},
    "plots": BASE,
    "render": BASE,
    "app": BASE | {"instruments", "scenario", "pipeline", "render"},
    "gallery": BASE | {"scenario", "render", "app"},
    # bench -> own_model: its module section hands a module over as sandbox.show does
    "bench": BASE | {"scenario", "landscape", "optim", "pipeline", "render", "app", "own_model"},
    "sweep": BASE | {"scenario", "landscape", "pipeline", "replayer"},
    "cli": BASE
    | {"scenario", "render", "app", "replayer", "compare", "plots", "gallery", "bench", "sweep"},
    # own_model: a user's module wrapped as a scenario, then replayed or shown like any other
    "own_model": BASE | {"scenario", "landscape", "replayer", "app"},
    "__init__": {"scenario", "replayer", "own_model"},
    "__main__": {"cli"},
}
# Arrows that exist and are on their way out, each with the change that removes it (none now:
# the catalogue work removed scenario -> landscape and instruments -> landscape).
KNOWN: dict[tuple[str, str], str] = {}


def unit_of(module: str) -> str:
    """`sandbox.landscape.problem` -> "landscape"; `sandbox.replayer` -> "replayer"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(path: Path, module: str) -> set[str]:
    """The `sandbox.*` modules that `path` imports at run time (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for node in _type_checking_imports(tree)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if base == "sandbox")
    return {name for name in found if name.startswith("sandbox.")}


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join(package + ([node.module] if node.module else []))


def _type_checking_imports(tree: ast.AST) -> list[ast.AST]:
    return [
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]


def modules() -> dict[str, Path]:
    """Every module of `sandbox/` by its dotted name (a package by its own name)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def arrows() -> dict[tuple[str, str], list[str]]:
    """(unit, imported unit) -> the `module -> module` imports that make that arrow."""
    graph: dict[tuple[str, str], list[str]] = {}
    for module, path in modules().items():
        source = unit_of(module)
        for name in imported_modules(path, module):
            target = unit_of(name)
            if target != source:
                graph.setdefault((source, target), []).append(f"{module} -> {name}")
    return graph


def test_every_unit_has_its_layer():
    units = {p.stem for p in ROOT.glob("*.py")} | {
        p.parent.name for p in ROOT.glob("*/__init__.py")
    }
    assert units <= set(ALLOWED), f"new, give each a layer: {sorted(units - set(ALLOWED))}"


def test_imports_follow_the_layers():
    wrong = [
        line
        for (source, target), lines in sorted(arrows().items())
        if target not in ALLOWED[source] and (source, target) not in KNOWN
        for line in lines
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_landscapes_and_optimisers_do_not_know_each_other():
    """Slices that need trained runs are chosen in the pipeline, not in landscape/."""
    graph = arrows()
    assert ("landscape", "optim") not in graph and ("optim", "landscape") not in graph


def test_no_cycles_between_units():
    graph: dict[str, set[str]] = {}
    for source, target in arrows():
        if (source, target) not in KNOWN:
            graph.setdefault(source, set()).add(target)
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or ())


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of `graph` as a list of units (first = last), or None (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(unit: str, path: list[str]) -> list[str] | None:
        state[unit] = "open"
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == "open":  # on the current path: back to it is a cycle
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target, path + [target])):
                return found
        state[unit] = "done"
        return None

    for unit in sorted(graph):
        if unit not in state and (found := visit(unit, [unit])):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None


# Packages whose modules import each other one way only (sweep's engine and results did not).
ACYCLIC_INSIDE = ("trace", "landscape", "optim", "pipeline", "sweep")


def test_no_cycles_between_the_modules_of_a_package():
    names = modules()
    for unit in ACYCLIC_INSIDE:
        graph = {
            module: {
                name
                for name in imported_modules(path, module)
                if name in names and name != module and unit_of(name) == unit
            }
            for module, path in names.items()
            if unit_of(module) == unit and path.name != "__init__.py"
        }
        cycle = _find_cycle(graph)
        assert cycle is None, " -> ".join(cycle or ())


def test_no_private_names_from_other_modules():
    """A name with a leading underscore is its module's own (`_schema_problem` was not)."""
    borrowed = [
        f"{module} imports {node.module}.{alias.name}"
        for module, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sandbox")
        for alias in node.names
        if alias.name.startswith("_") and node.module != module
    ]
    assert not borrowed, "\n".join(borrowed)
