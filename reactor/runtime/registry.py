"""Function registration and project discovery.

Decorators (``@query``, ``@mutation``, ``@action`` and their ``internal_`` twins) turn a
handler into a :class:`RegisteredFunction`. :func:`load_project` imports a project folder
(``schema.py`` and every module under ``functions/``) under a private package name, so
several projects (or several versions of one, when reloading) can live in one process,
and gives each registered function its path ``module/path:name``.

Modules under ``functions/`` import each other relatively (``from . import util``);
``schema.py`` is importable from them as ``from ..schema import schema``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import itertools
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, overload

from reactor.errors import FunctionNotFound, SchemaError
from reactor.schema import Schema
from reactor.validators import Validator, args_validator

__all__ = [
    "FunctionKind",
    "Project",
    "RegisteredFunction",
    "action",
    "canonical_path",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "load_project",
    "mutation",
    "project_digest",
    "project_files",
    "query",
]


class FunctionKind(StrEnum):
    """What a registered function may do."""

    QUERY = "query"
    MUTATION = "mutation"
    ACTION = "action"


class RegisteredFunction:
    """A handler with its kind, visibility and validators."""

    def __init__(
        self,
        handler: Callable[..., Any],
        kind: FunctionKind,
        *,
        internal: bool,
        args: dict[str, Validator] | Validator | None,
        returns: Validator | None,
    ) -> None:
        is_async = inspect.iscoroutinefunction(handler)
        name = getattr(handler, "__qualname__", repr(handler))
        if kind is FunctionKind.ACTION and not is_async:
            raise SchemaError(f"action {name} must be defined with 'async def'")
        if kind is not FunctionKind.ACTION and is_async:
            raise SchemaError(
                f"{kind.value} {name} must be a plain 'def': queries and mutations are "
                "deterministic and do no I/O (use an action for that)"
            )
        if returns is not None and not isinstance(returns, Validator):
            raise SchemaError(f"returns= of {name} must be a validator (v.*)")
        self.handler = handler
        self.kind = kind
        self.internal = internal
        self.args = args_validator(args)
        self.returns = returns
        self.path: str | None = None
        self.__doc__ = handler.__doc__
        self.__name__ = getattr(handler, "__name__", "function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.__name__} is a registered {self.kind.value}; call it through ctx.run_"
            f"{self.kind.value}(...) or the Engine, not directly"
        )

    def __repr__(self) -> str:
        visibility = "internal " if self.internal else ""
        return f"<{visibility}{self.kind.value} {self.path or self.__name__}>"


Handler = Callable[..., Any]
Decorator = Callable[[Handler], RegisteredFunction]


class FunctionDecorator(Protocol):
    """``@query``, ``@mutation``, ...: bare, or called with ``args=`` / ``returns=``."""

    @overload
    def __call__(self, fn: Handler, /) -> RegisteredFunction: ...
    @overload
    def __call__(
        self,
        *,
        args: dict[str, Validator] | Validator | None = None,
        returns: Validator | None = None,
    ) -> Decorator: ...


def _decorator(kind: FunctionKind, internal: bool) -> FunctionDecorator:
    @overload
    def register(fn: Handler, /) -> RegisteredFunction: ...
    @overload
    def register(
        *,
        args: dict[str, Validator] | Validator | None = None,
        returns: Validator | None = None,
    ) -> Decorator: ...
    def register(
        fn: Handler | None = None,
        /,
        *,
        args: dict[str, Validator] | Validator | None = None,
        returns: Validator | None = None,
    ) -> RegisteredFunction | Decorator:
        if fn is not None:
            return RegisteredFunction(fn, kind, internal=internal, args=args, returns=returns)

        def wrap(handler: Handler) -> RegisteredFunction:
            return RegisteredFunction(handler, kind, internal=internal, args=args, returns=returns)

        return wrap

    register.__name__ = ("internal_" if internal else "") + kind.value
    register.__doc__ = (
        f"Register a{'n internal' if internal else ''} {kind.value}: "
        f"``@{register.__name__}(args={{...}}, returns=...)``."
    )
    return register


query = _decorator(FunctionKind.QUERY, False)
mutation = _decorator(FunctionKind.MUTATION, False)
action = _decorator(FunctionKind.ACTION, False)
internal_query = _decorator(FunctionKind.QUERY, True)
internal_mutation = _decorator(FunctionKind.MUTATION, True)
internal_action = _decorator(FunctionKind.ACTION, True)


def canonical_path(path: object) -> str:
    """Normalise a function path: ``messages:list``; ``messages`` means ``messages:default``."""
    if not isinstance(path, str) or not path or len(path) > 512:
        raise FunctionNotFound(f"invalid function path {path!r}")
    module, sep, name = path.partition(":")
    if not sep:
        name = "default"
    module = module.removesuffix(".py").removesuffix(".js").strip("/")
    return f"{module}:{name}"


@dataclass
class Project:
    """A loaded project folder."""

    root: Path
    schema: Schema | None
    functions: dict[str, RegisteredFunction] = field(default_factory=dict)
    modules: dict[str, types.ModuleType] = field(default_factory=dict)
    package: str = ""

    def module_attr(self, module: str, name: str) -> Any:
        mod = self.modules.get(module)
        return getattr(mod, name, None) if mod is not None else None


def project_files(root: Path) -> dict[str, tuple[int, int]]:
    """``{path: (mtime_ns, size)}`` of ``schema.py`` and every ``functions/**/*.py``."""
    found: dict[str, tuple[int, int]] = {}
    for path in _source_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        found[str(path)] = (st.st_mtime_ns, st.st_size)
    return found


def project_digest(root: Path) -> str:
    """A SHA-256 of the project's source: ``schema.py`` and ``functions/**/*.py``, each by
    its path in the folder (two folders with the same code have the same digest)."""
    digest = hashlib.sha256()
    for path in sorted(_source_files(root)):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        name = path.relative_to(root).as_posix().encode()
        digest.update(len(name).to_bytes(4, "big") + name)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def _source_files(root: Path) -> list[Path]:
    candidates = [root / "schema.py"]
    functions = root / "functions"
    if functions.is_dir():
        candidates += [p for p in functions.rglob("*.py") if "__pycache__" not in p.parts]
    return candidates


_counter = itertools.count(1)


def load_project(root: str | Path) -> Project:
    """Import ``schema.py`` and ``functions/`` of a project folder."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise SchemaError(f"project folder {str(root)!r} does not exist")
    package = f"_reactor_project_{next(_counter)}"
    pkg = types.ModuleType(package)
    pkg.__path__ = [str(root)]
    pkg.__package__ = package
    sys.modules[package] = pkg
    schema: Schema | None = None
    if (root / "schema.py").exists():
        mod = _import(f"{package}.schema", root / "schema.py")
        schema = getattr(mod, "schema", None)
        if not isinstance(schema, Schema):
            raise SchemaError(f"{root / 'schema.py'} must define `schema = define_schema({{...}})`")
    project = Project(root, schema, package=package)
    functions_dir = root / "functions"
    if functions_dir.is_dir():
        for file in sorted(functions_dir.rglob("*.py")):
            rel = file.relative_to(functions_dir).with_suffix("")
            if any(part.startswith((".", "__")) for part in rel.parts[:-1]):
                continue
            if rel.name == "__init__":
                continue
            module_path = "/".join(rel.parts)
            mod = _import(f"{package}.functions." + ".".join(rel.parts), file)
            project.modules[module_path] = mod
            for name, value in vars(mod).items():
                if isinstance(value, RegisteredFunction) and not name.startswith("_"):
                    path = f"{module_path}:{name}"
                    if value.path is None:
                        value.path = path
                    project.functions[path] = value
    return project


def _import(name: str, file: Path) -> types.ModuleType:
    # Parent packages first (plain folders become namespace packages).
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        parent_dir = file.parent
        init = parent_dir / "__init__.py"
        if init.exists():
            _import(parent, init)
        else:
            _import_namespace(parent, parent_dir)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name,
        file,
        submodule_search_locations=[str(file.parent)] if file.name == "__init__.py" else None,
    )
    if spec is None or spec.loader is None:  # pragma: no cover
        raise SchemaError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def _import_namespace(name: str, folder: Path) -> None:
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        _import_namespace(parent, folder.parent)
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    module.__package__ = name
    sys.modules[name] = module
