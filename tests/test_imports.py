"""The import graph of reactor/, read from the source (AST), type-only imports included.

It states the module map of docs/architecture.md:

- every module imports only from its own layer or the layers below it (:data:`LAYERS`);
- reactor/database/ is acyclic;
- the transports (``reactor.sync``, ``reactor.server``, ``reactor.cli``,
  ``reactor.testing``) reach the core only through ``reactor.engine``: besides each
  other (downwards) they import the engine, ``reactor.ops`` (push plans, import/export
  formats, codegen) and the shared vocabulary (errors, types, values, validators, schema,
  auth, the ``reactor`` package's public names), never ``runtime``, ``database``,
  ``persistence`` or ``platform``; and they never reach through an engine to its parts
  (``engine.executor``, ``engine.db``, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import reactor

ROOT = Path(reactor.__file__).parent
PACKAGE = "reactor.database"

# Bottom to top: a module may import from its own layer and the ones below. The name is
# the first component under reactor/ (a package or a module).
LAYERS: list[tuple[str, ...]] = [
    ("values", "errors", "types", "validators", "schema", "owner_only"),
    ("persistence",),
    ("database",),
    ("runtime", "auth"),
    ("platform",),
    ("ops",),
    ("engine",),
    ("sync",),
    ("server",),
    ("cli", "testing"),
    ("__init__", "__main__"),  # the package's public names; python -m reactor
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}

TRANSPORTS = ("sync", "server", "cli", "testing")
# What a transport may import from below the transports.
TRANSPORT_MAY_IMPORT = frozenset(
    {"engine", "ops", "errors", "types", "values", "validators", "schema", "auth", "owner_only"}
    | {"__init__"}
)
# The one exception, with its reason: `reactor env` without a server works on the
# database alone (no project code is loaded, so there is no engine).
TRANSPORT_EXCEPTIONS = {("reactor.cli.env", "reactor.platform.env")}
# An engine's parts: reached only by reactor/engine.py itself.
ENGINE_PARTS = frozenset(
    {"executor", "db", "live", "scheduler", "storage", "sweeper", "env", "project"}
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every reactor module ``path`` imports, at run time or for type checking."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from reactor.database import search` imports a module too.
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            )
    return {name for name in found if name == "reactor" or name.startswith("reactor.")}


def layer_of(module: str) -> str:
    """``reactor.database.query`` → ``database``; ``reactor`` → ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer() -> None:
    assert {layer_of(name) for name in MODULES} - set(LAYER) == set()


def target_layer(module: str) -> int:
    """The layer of what importing ``module`` brings in.

    ``from reactor import X``: the package re-exports names of the engine and below (it
    runs no code of the layers above), so it counts as the engine's layer.
    """
    return LAYER["engine"] if module == "reactor" else LAYER[layer_of(module)]


def test_imports_point_down_only() -> None:
    offenders = sorted(
        f"{name} ({layer_of(name)}) -> {target} ({layer_of(target)})"
        for name, path in MODULES.items()
        for target in imports_of(path)
        if target_layer(target) > LAYER[layer_of(name)]
    )
    assert offenders == []


def test_transports_reach_the_core_only_through_the_engine() -> None:
    offenders = sorted(
        f"{name} -> {target}"
        for name, path in MODULES.items()
        if layer_of(name) in TRANSPORTS
        for target in imports_of(path)
        if layer_of(target) not in TRANSPORTS
        and layer_of(target) not in TRANSPORT_MAY_IMPORT
        and (name, target) not in TRANSPORT_EXCEPTIONS
    )
    assert offenders == []


def _is_engine(node: ast.expr) -> bool:
    """``engine``, ``self.engine``, ``self._engine``, ..."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_").endswith("engine")
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_").endswith("engine")
    return False


def test_transports_do_not_reach_through_the_engine() -> None:
    offenders = []
    for name, path in MODULES.items():
        if layer_of(name) not in TRANSPORTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ENGINE_PARTS
                and _is_engine(node.value)
            ):
                offenders.append(f"{name}:{node.lineno} .{node.attr}")
    assert offenders == []


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


def test_no_module_outside_the_package_is_named_search() -> None:
    assert not (ROOT / "search.py").exists()
