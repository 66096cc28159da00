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

Tests use an engine as an application does, through its public calls, too: only the
white-box tests of an internal module (:data:`WHITE_BOX`) reach into an engine's parts,
and elsewhere the few reach-ins left are listed with their reasons
(:data:`TEST_REACH_INS`).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import reactor

ROOT = Path(reactor.__file__).parent
TESTS = Path(__file__).parent
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


# Tests whose subject is an internal module (the database, the executor and live
# queries, the platform services, the operations on a Database, persistence): they may
# reach into an engine's parts.
WHITE_BOX = ("database", "runtime", "platform", "ops", "persistence")
# Every other reach-in of tests into an engine's parts: (file, part) -> (at most how
# many, why the engine's public calls do not do).
TEST_REACH_INS: dict[tuple[str, str], tuple[int, str]] = {
    ("cluster/helpers.py", "db"): (
        1,
        "stops a node from reading the commit log (as a stalled node would), which no "
        "public call does: the cluster tests observe what the node does when behind",
    ),
    ("reliability/test_offloop.py", "db"): (
        1,
        "observes the published state's layers: that a big batch is folded in steps, "
        "with other requests answered between them, is the fact under test",
    ),
    ("reliability/test_storage_faults.py", "db"): (
        2,
        "injects faults into the persistence's SQLite/PostgreSQL connection",
    ),
    ("server/test_dashboard.py", "db"): (
        1,
        "holds a schema push at its first step (patches Database.wait_quiescent)",
    ),
    ("server/test_dashboard_browser.py", "db"): (
        1,
        "holds a schema push at its first step (patches Database.wait_quiescent)",
    ),
}


def _names_of_engines(tree: ast.AST) -> set[str]:
    """Names a module gives engines: annotated ``Engine``, or bound to ``Engine.open...``."""

    def is_engine_type(annotation: ast.expr | None) -> bool:
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            return annotation.value == "Engine"
        return (isinstance(annotation, ast.Name) and annotation.id == "Engine") or (
            isinstance(annotation, ast.Attribute) and annotation.attr == "Engine"
        )

    def opens_engine(node: ast.expr) -> bool:
        if isinstance(node, ast.Await):
            node = node.value
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "Engine"
        )

    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.arg) and is_engine_type(node.annotation):
            found.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and is_engine_type(node.annotation):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and opens_engine(node.context_expr):
            targets = [node.optional_vars] if node.optional_vars is not None else []
        elif isinstance(node, ast.Assign) and opens_engine(node.value):
            targets = node.targets
        for target in targets:
            if isinstance(target, ast.Name):
                found.add(target.id)
            elif isinstance(target, ast.Attribute):
                found.add(target.attr)
    return found


def engine_reach_ins(source: str, filename: str = "<test>") -> Counter[str]:
    """How often ``source`` reaches into each part of an engine (``engine.db``: ``db``)."""
    tree = ast.parse(source, filename)
    engines = _names_of_engines(tree)

    def is_engine(node: ast.expr) -> bool:
        if _is_engine(node):
            return True
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        return name in engines

    return Counter(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_PARTS and is_engine(node.value)
    )


def test_reach_in_detection() -> None:
    source = """
async def test(cc: Engine, ctx: Any, served: Served) -> None:
    cc.db.table_size("t")
    ctx.db.insert("t", {})  # a function's ctx, not an engine
    served.engine.storage.serving_at("127.0.0.1", 1)
    async with Engine.open(ROOT) as e:
        e.scheduler.wake()
    other = await Engine.open_pushed(ROOT)
    assert other.executor.query_executions and other.table_size("t")
"""
    assert engine_reach_ins(source) == Counter(db=1, storage=1, scheduler=1, executor=1)


def test_tests_use_the_engine_through_its_public_calls() -> None:
    found: dict[tuple[str, str], int] = {}
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS)
        if relative.parts[0] in WHITE_BOX:
            continue
        for part, count in engine_reach_ins(path.read_text(), str(path)).items():
            found[(relative.as_posix(), part)] = count
    offenders = sorted(
        f"{file}: engine.{part} x{count}"
        for (file, part), count in found.items()
        if count > TEST_REACH_INS.get((file, part), (0, ""))[0]
    )
    assert offenders == [], "use (or add) a public Engine call, or list it in TEST_REACH_INS"
    stale = sorted(f"{file}: engine.{part}" for file, part in set(TEST_REACH_INS) - set(found))
    assert stale == [], "TEST_REACH_INS lists reach-ins that are gone"


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
