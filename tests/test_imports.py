"""The import graph of reactor/database/, read from the source (AST), type-only imports
included: the package is acyclic and imports nothing from the layers above it.

The rule that nothing outside reactor/engine.py reaches ``engine.executor`` /
``engine.db`` is not checked here yet: the routing through Engine methods is still being
done, and a check that is known to fail would prove nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import reactor

ROOT = Path(reactor.__file__).parent
PACKAGE = "reactor.database"
ABOVE = ("runtime", "platform", "engine", "sync", "server", "ops", "cli", "testing")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("reactor")}


def database_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (ROOT / "database").glob("*.py")}
    inner = set(modules) - {PACKAGE}
    return {name: imports_of(path) & inner for name, path in modules.items() if name in inner}


def test_database_package_has_no_import_cycle() -> None:
    graph = database_graph()
    assert "reactor.database.search" in graph  # search lives inside the package
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = stack[stack.index(name) :] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_database_package_imports_nothing_above_it() -> None:
    above = tuple(f"reactor.{layer}" for layer in ABOVE)
    offenders = {
        module_name(path): sorted(
            name for name in imports_of(path) if name == "reactor.search" or name.startswith(above)
        )
        for path in (ROOT / "database").glob("*.py")
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_no_module_outside_the_package_is_named_search() -> None:
    assert not (ROOT / "search.py").exists()
