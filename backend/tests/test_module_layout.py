"""The package's import graph: lib/ modules are leaves of the app, and no import circle exists."""

from __future__ import annotations

import ast
from pathlib import Path

import backend

PACKAGE = Path(backend.__file__).parent
# What a lib/ module may import of the package: other lib/ modules, the settings, the version.
LIB_MAY_IMPORT = {"backend", "backend.lib", "backend.settings"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every backend module the file imports, at the top, inside functions or for typing."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from backend.lib import metrics` imports the module backend.lib.metrics.
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            )
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def test_the_graph_is_read_from_the_sources() -> None:
    assert "backend.lib.db" in GRAPH["backend.services.users"]
    # ops does `from backend.lib import metrics`.
    assert "backend.lib.metrics" in GRAPH["backend.blueprints.ops"]


def test_lib_modules_import_nothing_of_the_app() -> None:
    for name, imported in GRAPH.items():
        if name.startswith("backend.lib."):
            outside = {
                other
                for other in imported
                if other not in LIB_MAY_IMPORT and not other.startswith("backend.lib.")
            }
            assert not outside, f"{name} imports {sorted(outside)}"


def test_no_import_circle() -> None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for other in sorted(GRAPH[name]):
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)
