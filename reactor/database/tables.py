"""The table registry: which tables exist, their numbers, definitions and index specs.

Every database has the :data:`SYSTEM_TABLES` plus the tables of its schema; a schemaless
database also creates a table on its first write. Table numbers (encoded in document ids)
are assigned once, in order, and persisted in the ``tables`` global, so ids stay valid
across restarts and schema changes.

The name rule is :func:`~reactor.schema.table_name_problem` (schemas are declared below
this package and use it too): a schemaless insert, a schema and an import accept exactly
the same names, so a table one of them creates the others accept.

Invariants: a table's indexes are added to the base state before the table becomes
visible (a reader that finds the table finds its indexes); numbers are never reused;
registry changes (schemaless tables from worker threads) happen under ``lock``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from reactor.database.indexes import IndexSpec
from reactor.database.layers import BaseState
from reactor.errors import ReactorError, ValidationError
from reactor.schema import Schema, TableDefinition, table_name_problem
from reactor.values import INT64_MAX, INT64_MIN, Int64, decode_id, normalize

__all__ = ["SYSTEM_TABLES", "TableInfo", "TableRegistry", "table_name_problem"]

# System tables every database has. Functions may read them; only reactor writes them.
SYSTEM_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "_session_requests": {"by_session_request": ("session_id", "request_id")},
    "_scheduled_functions": {
        "by_state_and_time": ("state", "scheduled_time"),
        # Finished jobs in completion order (pending ones have no completed_time), for
        # removing them once their retention window has passed (reactor.platform.retention).
        "by_completed_time": ("completed_time",),
    },
    "_storage": {"by_sha256": ("sha256",)},
    "_env": {"by_name": ("name",)},
}


@dataclass(slots=True)
class TableInfo:
    """A table known to the database: its number, definition and index specs."""

    name: str
    number: int
    definition: TableDefinition | None
    specs: tuple[IndexSpec, ...] = ()
    by_name: dict[str, IndexSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        specs = [IndexSpec.by_id(self.name), IndexSpec.by_creation_time(self.name)]
        if self.definition is not None:
            for index in self.definition.indexes.values():
                specs.append(IndexSpec.user(self.name, index.name, index.fields))
        else:
            for name, fields in SYSTEM_TABLES.get(self.name, {}).items():
                specs.append(IndexSpec.user(self.name, name, fields))
        self.specs = tuple(specs)
        self.by_name = {spec.name: spec for spec in specs}

    @property
    def by_id(self) -> IndexSpec:
        return self.specs[0]

    @property
    def by_creation_time(self) -> IndexSpec:
        return self.specs[1]

    def index(self, name: str) -> IndexSpec:
        spec = self.by_name.get(name)
        if spec is None:
            known = ", ".join(self.by_name)
            raise ValidationError(f"table {self.name!r} has no index {name!r} (indexes: {known})")
        return spec

    def coerce_field(self, path: str, value: Any) -> Any:
        """Normalise a value compared against a field.

        A plain ``int`` is a number, except against a field the schema declares
        ``v.int64()``, where it stands for that int64 (as it would when written there).
        """
        if type(value) is int:
            if self.definition is not None and self.definition.field_type(path) == "int64":
                if INT64_MIN <= value <= INT64_MAX:
                    return Int64(value)
            return normalize(value)
        return value


class TableRegistry:
    """The tables of one database, by name and by number.

    ``on_new_tables(registry)`` is called (under ``lock``) whenever a table is numbered
    outside a schema change, with the whole ``{name: number}`` map to persist.
    """

    def __init__(
        self,
        base: BaseState,
        schema: Schema | None,
        on_new_tables: Callable[[dict[str, int]], None],
    ) -> None:
        self.base = base
        self.schema = schema
        self._on_new_tables = on_new_tables
        self._tables: dict[str, TableInfo] = {}
        self._numbers: dict[int, TableInfo] = {}
        # Functions in worker threads may create tables of a schemaless database.
        self.lock = threading.Lock()
        # A section an asynchronous interrupt (a function's time limit) must not split;
        # the runtime installs its shield (reactor.runtime.time_limits.shielded).
        self.critical_section: Callable[[], AbstractContextManager[Any]] = nullcontext
        # Cluster mode: numbers new tables in the shared database and returns every
        # table's number (several nodes may create tables at once); None: number locally.
        self.claim: Callable[[Sequence[str]], dict[str, int]] | None = None

    # -- lookups -------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def get(self, name: str) -> TableInfo | None:
        return self._tables.get(name)

    def by_number(self, number: int) -> TableInfo | None:
        return self._numbers.get(number)

    def all(self) -> list[TableInfo]:
        return list(self._tables.values())

    def numbers(self) -> dict[str, int]:
        """``{table name: number}`` of every table ever created (the ``tables`` global)."""
        return {name: info.number for name, info in self._tables.items()}

    def next_number(self) -> int:
        """The number the next new table gets."""
        return max(self._numbers, default=0) + 1

    def table(self, name: object) -> TableInfo:
        """A readable table; ValidationError naming the known tables otherwise.

        A schemaless database creates a table on first use when its name passes the
        table-name rule, and refuses the name with that rule's message when it does not.
        """
        if not isinstance(name, str):
            raise ValidationError(f"table name must be a string, got {type(name).__name__}")
        info = self._tables.get(name)
        if info is not None:
            return info
        if self.schema is None and not name.startswith("_"):
            problem = table_name_problem(name)
            if problem is not None:
                raise ValidationError(problem)
            return self._new_table(name)
        known = ", ".join(sorted(n for n in self._tables if not n.startswith("_")))
        raise ValidationError(f"unknown table {name!r} (tables: {known or 'none'})")

    def writable(self, name: object, *, system: bool = False) -> TableInfo:
        info = self.table(name)
        if info.name.startswith("_") and not system:
            raise ValidationError(f"system table {info.name!r} is read-only for functions")
        if (
            self.schema is not None
            and not info.name.startswith("_")
            and info.name not in self.schema.tables
        ):
            raise ValidationError(f"table {info.name!r} is not in the schema")
        return info

    def id_table(self, doc_id: str) -> str | None:
        """The table name an id string encodes, or None (the validators' id resolver)."""
        try:
            number, _ = decode_id(doc_id)
        except ValueError:
            return None
        info = self._numbers.get(number)
        return info.name if info is not None else None

    def validate_document(self, table: TableInfo, fields: dict[str, Any]) -> dict[str, Any]:
        schema = self.schema
        if table.definition is None or schema is None or not schema.schema_validation:
            return fields
        return table.definition.validate_document(fields, self.id_table)

    def is_append_only(self, table: TableInfo) -> bool:
        schema = self.schema
        definition = schema.tables.get(table.name) if schema is not None else None
        return definition is not None and definition.is_append_only

    # -- changes -------------------------------------------------------------------------

    def add(self, name: str, number: int) -> TableInfo:
        """Register ``name`` as table ``number`` with its indexes (no persistence)."""
        definition = None
        if self.schema is not None and name in self.schema.tables:
            definition = self.schema.tables[name]
        info = TableInfo(name, number, definition)
        for spec in info.specs:  # indexes first: a reader that finds the table finds them
            self.base.add_index(spec)
        self.put(info)
        return info

    def put(self, info: TableInfo) -> None:
        """Make ``info`` the table's entry (a schema change rebuilt its indexes)."""
        self._tables[info.name] = info
        self._numbers[info.number] = info

    def renumber(self, info: TableInfo, number: int) -> None:
        del self._numbers[info.number]
        info.number = number
        self._numbers[number] = info

    def _new_table(self, name: str) -> TableInfo:
        # A function may create a table from a worker thread; an interrupt (time limit)
        # must not land between the registry updates either.
        with self.lock, self.critical_section():
            info = self._tables.get(name)
            if info is not None:
                return info
            if self.claim is not None:
                self.number_new([name])
                return self._tables[name]
            info = self.add(name, self.next_number())
            self._on_new_tables(self.numbers())
            return info

    def number_new(self, names: Sequence[str]) -> bool:
        """Number the tables of ``names`` not known yet; whether there were any.

        In cluster mode the shared database numbers them (:attr:`claim`) and the tables
        other nodes created meanwhile are learned too; the numbers are stored already.
        Otherwise they get the next free numbers, to persist with the next commit.
        """
        missing = [name for name in names if name not in self._tables]
        if not missing:
            return False
        if self.claim is None:
            for name in missing:
                self.add(name, self.next_number())
            return True
        for name, number in self.claim(missing).items():
            known = self._tables.get(name)
            if known is not None:
                continue
            other = self._numbers.get(number)
            if other is not None:
                raise ReactorError(
                    f"table {name!r} has number {number} in the database, which this node "
                    f"gave to table {other.name!r}"
                )
            self.add(name, number)
        return True
