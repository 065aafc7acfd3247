"""Imports follow the layers: network -> hardware -> mapping -> run -> cost -> report -> flow -> cli.

Every module of ``chipemu``, ``mapper`` and ``programs`` is parsed (nothing is imported);
each ``import``/``from ... import`` anywhere in it -- module level, inside functions,
under ``TYPE_CHECKING`` -- is resolved to a module of the project and checked against
:data:`LAYERS`: a module may import from its own layer and the layers before it, never
from a later one.  Run-time imports (all but ``TYPE_CHECKING`` ones) must also form no
cycle between modules.

A new module inherits the layer of the longest dotted prefix in the table; a module no
prefix covers fails the test until it is given a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chipemu", "mapper", "programs")

#: the layers, in the order data flows; a module may import from its layer and earlier ones
ORDER = ["base", "network", "hardware", "mapping", "run", "cost", "report", "flow", "cli", "programs"]

#: dotted module prefix -> layer (the longest matching prefix wins)
LAYERS = {
    # base: no domain knowledge (errors, typed records, file helpers)
    "chipemu.errors": "base",
    "chipemu.records": "base",
    "chipemu.files": "base",
    "chipemu.schema": "base",
    "chipemu.bounded": "base",                 # bounded reads, budgets, range checks (errors only)
    "chipemu.interrupt": "base",               # SIGINT/SIGTERM handling (standard library only)
    "chipemu.arrays": "base",                  # array helpers (numpy only)
    "chipemu.allocator": "base",               # the command line's C allocator tuning (standard library only)
    "chipemu.cpus": "base",                    # CPUs this process may use (standard library only)
    # network: the network description, its arithmetic and its files
    "chipemu": "network",                      # the package itself (re-exports the network API)
    "chipemu.neuron": "network",
    "chipemu.connectors": "network",
    "chipemu.inputs": "network",
    "chipemu.network": "network",
    "chipemu.network_parts": "network",        # Population, InputGroup, Projection records and their checks
    "chipemu.learning": "network",
    "chipemu.flatfile": "network",
    "chipemu.flatkeys": "network",             # the flat file's key names and validated key/section reads
    "chipemu.spikes": "network",
    "chipemu.importers": "network",
    "chipemu.loading": "network",
    # hardware: chips and hosts as described (no behaviour)
    "chipemu.chips": "hardware",
    "chipemu.hosts": "hardware",
    "chipemu.hardware": "hardware",          # geometry: numbering, routes, links of chips and systems
    # mapping: network -> cores of a chip
    "mapper": "mapping",
    # run: the runners (host reference, emulated chip and its NoC) and what they return
    "chipemu.reference": "run",
    "chipemu.results": "run",
    "chipemu.core": "run",
    "chipemu.noc": "run",
    "chipemu.chip": "run",
    # cost: energy and time of a run, on the chip and on a von Neumann host
    "chipemu.energy": "cost",
    "chipemu.baseline": "cost",
    # report: report.json, HTML, figures
    "chipemu.report": "report",
    "chipemu.report.drawing": "report",        # shared figure helpers (style, placement, PNG, stamped text)
    "chipemu.report.run_figures": "report",    # raster, latency, energy figures
    "chipemu.report.mesh_figures": "report",   # core-utilisation, link and chip traffic figures
    # flow: the library's whole runs (map + run + cost + report; sweeps; run directories)
    "chipemu.pipeline": "flow",
    "chipemu.rundir": "flow",
    "chipemu.sidecar": "flow",                 # chipemu run's helper process (reference run, figures)
    "chipemu.explore": "flow",
    # cli: argument parsing and printing
    "chipemu.cli": "cli",
    "chipemu.cli_help": "cli",                 # the parser class, lazily filled --mapper help and default
    "chipemu.__main__": "cli",
    # programs: user code built on the library
    "programs": "programs",
}


def module_files() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


MODULES = module_files()


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:i]))
        if layer is not None:
            return layer
    return None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def imports_of(module: str) -> list[tuple[str, int, bool]]:
    """``(imported project module, line, type_checking_only)`` for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = _type_checking_nodes(tree)
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from pkg import submodule" depends on the submodule; any other name on pkg itself
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            targets = subs + ([target] if len(subs) < len(node.names) else [])
        for t in targets:
            if t.split(".")[0] in PACKAGES:
                while t not in MODULES and "." in t:  # an attribute path: the module that defines it
                    t = t.rsplit(".", 1)[0]
                if t in MODULES and t != module:
                    out.append((t, node.lineno, id(node) in typing_only))
    return out


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if layer_of(m) is None]
    assert not missing, f"modules without a layer (add them to LAYERS in {Path(__file__).name}): {missing}"
    assert set(LAYERS.values()) <= set(ORDER)


def test_imports_follow_the_layers():
    rank = {name: i for i, name in enumerate(ORDER)}
    bad = []
    for module in MODULES:
        mine = layer_of(module)
        for target, line, _ in imports_of(module):
            theirs = layer_of(target)
            if mine and theirs and rank[theirs] > rank[mine]:
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} ({mine}) imports "
                           f"{target} ({theirs})")
    assert not bad, "imports against the layer order " + " -> ".join(ORDER) + ":\n" + "\n".join(bad)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (a list of modules, first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def run_time_graph() -> dict[str, set[str]]:
    """Module -> project modules it imports at run time.

    A module that imports ``pkg.sub`` also runs ``pkg/__init__``; but a package's own
    ``__init__`` re-exporting its submodules is not a dependency of those submodules.
    """
    graph = {}
    for module in MODULES:
        deps = set()
        for t, _, typing_only in imports_of(module):
            if typing_only:
                continue
            deps.add(t)
        graph[module] = deps
    return graph


def test_no_import_cycles():
    cycle = _cycle(run_time_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("source, expected", [
    ("from chipemu.cli import main", {"chipemu.cli"}),
    ("from chipemu import report", {"chipemu.report"}),
    ("from chipemu.report.summary import build_report", {"chipemu.report.summary"}),
])
def test_imports_resolve_to_project_modules(tmp_path, source, expected, monkeypatch):
    """The checker sees absolute, relative and function-local imports."""
    fake = ROOT / "chipemu" / "_layers_probe.py"
    monkeypatch.setitem(MODULES, "chipemu._layers_probe", fake)
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: f"def f():\n    {source}\n")
    assert {t for t, _, _ in imports_of("chipemu._layers_probe")} == expected


def test_a_backward_import_is_caught(monkeypatch):
    """A mapper module importing the chip runner is reported (the check can fail)."""
    real = imports_of

    def planted(module):
        out = real(module)
        return out + [("chipemu.chip", 1, False)] if module == "mapper.graph" else out
    monkeypatch.setattr(__import__(__name__), "imports_of", planted)
    with pytest.raises(AssertionError, match=r"mapper.graph \(mapping\) imports chipemu.chip \(run\)"):
        test_imports_follow_the_layers()
