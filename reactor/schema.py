"""Schema definitions: tables, their document validators, indexes and search indexes.

A project's ``schema.py`` builds one :class:`Schema` with :func:`define_schema` and
:func:`define_table`.

Invariants:

* Table names match ``[A-Za-z][A-Za-z0-9_]*`` and are at most 64 characters (names
  starting with ``_`` are reserved for system tables).
* A table's document validator is an object validator, a union of object validators, or
  ``v.any()``; declared top-level fields never start with ``_`` (system fields ``_id`` and
  ``_creation_time`` are implicit).
* Index and search index names are unique per table, are identifiers not starting with
  ``_``, and are not ``by_id`` / ``by_creation_time`` (implicit on every table). An index
  lists 1..16 distinct user field paths whose top-level field is declared (when the
  document validator declares fields); the implicit ``_creation_time, _id`` suffix of
  every index is not stored in :class:`IndexDefinition`.
* ``to_json`` / ``from_json`` round-trip every definition; equality is structural.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from reactor.errors import SchemaError, ValidationError
from reactor.validators import (
    AnyValidator,
    IdResolver,
    ObjectValidator,
    OptionalValidator,
    UnionValidator,
    Validator,
    validator_from_json,
)
from reactor.values import check_value, field_path

__all__ = [
    "MAX_INDEX_FIELDS",
    "RESERVED_INDEX_NAMES",
    "SYSTEM_FIELDS",
    "IndexDefinition",
    "Schema",
    "SearchIndexDefinition",
    "TableDefinition",
    "define_schema",
    "define_table",
    "table_name_problem",
]

SYSTEM_FIELDS: Final = ("_id", "_creation_time")
RESERVED_INDEX_NAMES: Final = ("by_id", "by_creation_time")
MAX_INDEX_FIELDS: Final = 16
MAX_NAME_LEN: Final = 64
_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def table_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a user table, or None when it can.

    The one table-name rule (ASCII letters, digits and ``_``, starting with a letter, at
    most :data:`MAX_NAME_LEN` characters), shared by schemas, schemaless inserts and
    import (:mod:`reactor.database.tables`), so every table one path creates the others
    accept.
    """
    if isinstance(name, str) and _NAME_RE.fullmatch(name) and len(name) <= MAX_NAME_LEN:
        return None
    return (
        f"invalid table name {name!r}: use letters, digits and '_', starting with a "
        f"letter (at most {MAX_NAME_LEN} characters)"
    )


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """A user index: its name and the user field paths it orders by."""

    name: str
    fields: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form ``{"indexDescriptor": name, "fields": [...]}``."""
        return {"indexDescriptor": self.name, "fields": list(self.fields)}

    @staticmethod
    def from_json(d: Any) -> IndexDefinition:
        """Rebuild an index definition from :meth:`to_json` output."""
        if not isinstance(d, dict):
            raise SchemaError("invalid index JSON: expected an object")
        name, fields = d.get("indexDescriptor"), d.get("fields")
        if not isinstance(name, str) or not _is_str_list(fields):
            raise SchemaError("invalid index JSON: needs indexDescriptor and a list of fields")
        return IndexDefinition(name, tuple(fields))


@dataclass(frozen=True, slots=True)
class SearchIndexDefinition:
    """A full-text search index over one string field, with equality filter fields."""

    name: str
    search_field: str
    filter_fields: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form ``{"indexDescriptor", "searchField", "filterFields"}``."""
        return {
            "indexDescriptor": self.name,
            "searchField": self.search_field,
            "filterFields": list(self.filter_fields),
        }

    @staticmethod
    def from_json(d: Any) -> SearchIndexDefinition:
        """Rebuild a search index definition from :meth:`to_json` output."""
        if not isinstance(d, dict):
            raise SchemaError("invalid search index JSON: expected an object")
        name, field, filters = d.get("indexDescriptor"), d.get("searchField"), d.get("filterFields")
        if not isinstance(name, str) or not isinstance(field, str) or not _is_str_list(filters):
            raise SchemaError("invalid search index JSON")
        return SearchIndexDefinition(name, field, tuple(filters))


def _is_str_list(x: object) -> TypeGuard[list[str]]:
    return isinstance(x, list) and all(isinstance(i, str) for i in x)


def _object_members(document: Validator) -> list[ObjectValidator] | None:
    """The object validators a document may match, or ``None`` for ``v.any()``."""
    if isinstance(document, ObjectValidator):
        return [document]
    if isinstance(document, UnionValidator) and all(
        isinstance(m, ObjectValidator) for m in document.members
    ):
        return [m for m in document.members if isinstance(m, ObjectValidator)]
    if isinstance(document, AnyValidator):
        return None
    raise SchemaError(
        "a table's document validator must be v.object({...}), a union of objects or "
        f"v.any(), got {document.describe()}"
    )


class TableDefinition:
    """One table of a schema: document validator, indexes and search indexes."""

    __slots__ = ("document", "indexes", "search_indexes", "_objects", "is_append_only")

    document: Validator
    indexes: dict[str, IndexDefinition]
    search_indexes: dict[str, SearchIndexDefinition]

    def __init__(self, document: Mapping[str, Validator] | Validator) -> None:
        if isinstance(document, Mapping):
            document = ObjectValidator(document)
        if not isinstance(document, Validator):
            raise SchemaError(
                f"define_table() expects a dict of validators or a validator, got {document!r}"
            )
        objects = _object_members(document)
        for obj in objects or ():
            for name in obj.fields:
                if name.startswith("_"):
                    raise SchemaError(
                        f"field {name!r}: top-level fields starting with '_' are reserved "
                        "for system fields"
                    )
        self.document = document
        self._objects = objects
        self.indexes = {}
        self.search_indexes = {}
        self.is_append_only = False

    # -- building ---------------------------------------------------------------------

    def _check_index_name(self, name: object) -> str:
        if not isinstance(name, str) or not name:
            raise SchemaError("index names must be non-empty strings")
        if name.startswith("_"):
            raise SchemaError(f"index name {name!r}: names starting with '_' are reserved")
        if name in RESERVED_INDEX_NAMES:
            raise SchemaError(f"index name {name!r} is reserved (implicit on every table)")
        if not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LEN:
            raise SchemaError(
                f"index name {name!r} must be an identifier of letters, digits and '_' "
                f"(at most {MAX_NAME_LEN} characters)"
            )
        if name in self.indexes or name in self.search_indexes:
            raise SchemaError(f"duplicate index name {name!r}")
        return name

    def _check_field(self, index: str, path: object) -> str:
        if not isinstance(path, str) or not path:
            raise SchemaError(f"index {index!r}: field paths must be non-empty strings")
        if path in SYSTEM_FIELDS:
            raise SchemaError(
                f"index {index!r}: system field {path!r} cannot be listed "
                "(every index implicitly ends with _creation_time, _id)"
            )
        parts = path.split(".")
        if any(not p or p.startswith("$") for p in parts):
            raise SchemaError(f"index {index!r}: invalid field path {path!r}")
        if self._objects is not None and not any(parts[0] in o.fields for o in self._objects):
            raise SchemaError(
                f"index {index!r}: field {parts[0]!r} is not declared in the table's document"
            )
        return path

    def _check_fields(
        self, index: str, fields: Iterable[str], *, allow_empty: bool
    ) -> tuple[str, ...]:
        if isinstance(fields, str):
            raise SchemaError(f"index {index!r}: fields must be a list of strings, not a string")
        checked = tuple(self._check_field(index, f) for f in fields)
        if not checked and not allow_empty:
            raise SchemaError(f"index {index!r} must list at least one field")
        if len(checked) > MAX_INDEX_FIELDS:
            raise SchemaError(f"index {index!r} lists more than {MAX_INDEX_FIELDS} fields")
        if len(set(checked)) != len(checked):
            raise SchemaError(f"index {index!r} lists a field more than once")
        return checked

    def append_only(self) -> TableDefinition:
        """Documents of this table can be inserted but never patched, replaced or deleted
        (by any function, or by an import with ``--replace``): an audit trail."""
        self.is_append_only = True
        return self

    def index(self, name: str, fields: Iterable[str]) -> TableDefinition:
        """Add an index ordering documents by ``fields`` (then ``_creation_time``, ``_id``)."""
        name = self._check_index_name(name)
        self.indexes[name] = IndexDefinition(
            name, self._check_fields(name, fields, allow_empty=False)
        )
        return self

    def search_index(
        self, name: str, search_field: str, filter_fields: Iterable[str] = ()
    ) -> TableDefinition:
        """Add a full-text search index on ``search_field`` with equality ``filter_fields``."""
        name = self._check_index_name(name)
        search_field = self._check_field(name, search_field)
        filters = self._check_fields(name, filter_fields, allow_empty=True)
        if search_field in filters:
            raise SchemaError(f"search index {name!r}: the search field cannot be a filter field")
        self.search_indexes[name] = SearchIndexDefinition(name, search_field, filters)
        return self

    # -- using --------------------------------------------------------------------------

    def validate_document(
        self, doc: Mapping[str, Any], ids: IdResolver | None = None
    ) -> dict[str, Any]:
        """Validate a document's user fields and return it normalised.

        System fields (``_id``, ``_creation_time``) are not validated and are kept as given;
        any other field starting with ``_`` is rejected. Errors name paths like ``$.field``.
        """
        if not isinstance(doc, Mapping):
            raise ValidationError(
                f"expected a document object, got {type(doc).__name__}", "$", "object"
            )
        system: dict[str, Any] | None = None
        user: dict[str, Any] = {}
        for name, value in doc.items():
            if isinstance(name, str) and name.startswith("_"):
                if name in SYSTEM_FIELDS:
                    if system is None:
                        system = {}
                    system[name] = value
                    continue
                raise ValidationError(
                    f"field {name!r} is reserved: fields starting with '_' are system fields",
                    field_path("$", name),
                    "user field",
                )
            user[name] = value
        if isinstance(self.document, AnyValidator):
            check_value(user)
            validated: dict[str, Any] = user
        else:
            validated = self.document.validate(user, "$", ids)
        if system is None:
            return validated
        return {**system, **validated}

    def field_type(self, path: str) -> str | None:
        """The validator kind of a (dotted) field path, e.g. ``"number"``, or ``None``.

        ``None`` when the path is not declared or its kind is ambiguous (``v.any()``, or a
        union of different kinds). ``v.optional(x)`` and ``v.nullable(x)`` report ``x``'s kind;
        ``_creation_time`` is ``"number"`` and ``_id`` is ``"id"``.
        """
        if path == "_creation_time":
            return "number"
        if path == "_id":
            return "id"
        candidates: list[Validator] = [self.document]
        for part in path.split("."):
            following: list[Validator] = []
            for c in candidates:
                for obj in _flatten(c):
                    if isinstance(obj, ObjectValidator) and part in obj.fields:
                        following.append(obj.fields[part])
            if not following:
                return None
            candidates = following
        kinds = {x.kind for c in candidates for x in _flatten(c) if x.kind != "null"}
        return kinds.pop() if len(kinds) == 1 else None

    # -- serialisation --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Return ``{"documentType", "indexes", "searchIndexes"}`` (JSON-serialisable)."""
        out: dict[str, Any] = {
            "documentType": self.document.to_json(),
            "indexes": [i.to_json() for i in self.indexes.values()],
            "searchIndexes": [s.to_json() for s in self.search_indexes.values()],
        }
        if self.is_append_only:
            out["appendOnly"] = True
        return out

    @staticmethod
    def from_json(d: Any) -> TableDefinition:
        """Rebuild a table definition from :meth:`to_json` output (re-checking it)."""
        if not isinstance(d, dict) or "documentType" not in d:
            raise SchemaError("invalid table JSON: expected an object with documentType")
        table = TableDefinition(validator_from_json(d["documentType"]))
        indexes, searches = d.get("indexes", []), d.get("searchIndexes", [])
        if not isinstance(indexes, list) or not isinstance(searches, list):
            raise SchemaError("invalid table JSON: indexes and searchIndexes must be lists")
        for raw in indexes:
            index = IndexDefinition.from_json(raw)
            table.index(index.name, list(index.fields))
        for raw in searches:
            search = SearchIndexDefinition.from_json(raw)
            table.search_index(search.name, search.search_field, list(search.filter_fields))
        if d.get("appendOnly") is True:
            table.append_only()
        return table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableDefinition):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"TableDefinition({self.document.describe()}, indexes={list(self.indexes)}, "
            f"search_indexes={list(self.search_indexes)})"
        )


def _flatten(val: Validator) -> list[Validator]:
    """The non-union, non-optional validators ``val`` may stand for."""
    if isinstance(val, OptionalValidator):
        return _flatten(val.inner)
    if isinstance(val, UnionValidator):
        return [x for m in val.members for x in _flatten(m)]
    return [val]


def define_table(document: Mapping[str, Validator] | Validator) -> TableDefinition:
    """Define a table whose documents match ``document`` (a dict of fields or a validator)."""
    return TableDefinition(document)


class Schema:
    """A deployment's tables; ``schema_validation`` says whether writes are validated."""

    __slots__ = ("tables", "schema_validation")

    tables: dict[str, TableDefinition]
    schema_validation: bool

    def __init__(
        self, tables: Mapping[str, TableDefinition], *, schema_validation: bool = True
    ) -> None:
        if not isinstance(tables, Mapping):
            raise SchemaError("define_schema() expects a dict of table name -> define_table(...)")
        checked: dict[str, TableDefinition] = {}
        for name, table in tables.items():
            problem = table_name_problem(name)
            if problem is not None:
                raise SchemaError(problem)
            if not isinstance(table, TableDefinition):
                raise SchemaError(f"table {name!r} must be defined with define_table(...)")
            checked[name] = table
        self.tables = checked
        self.schema_validation = bool(schema_validation)

    def table(self, name: str) -> TableDefinition:
        """Return the definition of table ``name``; ``SchemaError`` if it is not declared."""
        table = self.tables.get(name)
        if table is None:
            raise SchemaError(f"unknown table {name!r}")
        return table

    def to_json(self) -> dict[str, Any]:
        """Return ``{"tables": [{"tableName", ...}], "schemaValidation": bool}``."""
        return {
            "tables": [{"tableName": name, **t.to_json()} for name, t in self.tables.items()],
            "schemaValidation": self.schema_validation,
        }

    @staticmethod
    def from_json(d: Any) -> Schema:
        """Rebuild a schema from :meth:`to_json` output (re-checking it)."""
        if not isinstance(d, dict) or not isinstance(d.get("tables"), list):
            raise SchemaError("invalid schema JSON: expected an object with a list of tables")
        tables: dict[str, TableDefinition] = {}
        for raw in d["tables"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("tableName"), str):
                raise SchemaError("invalid schema JSON: every table needs a tableName")
            if raw["tableName"] in tables:
                raise SchemaError(f"invalid schema JSON: duplicate table {raw['tableName']!r}")
            tables[raw["tableName"]] = TableDefinition.from_json(raw)
        validation = d.get("schemaValidation", True)
        if not isinstance(validation, bool):
            raise SchemaError("invalid schema JSON: schemaValidation must be a boolean")
        return Schema(tables, schema_validation=validation)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Schema(tables={list(self.tables)}, schema_validation={self.schema_validation})"


def define_schema(
    tables: Mapping[str, TableDefinition], *, schema_validation: bool = True
) -> Schema:
    """Define a schema from ``{table_name: define_table(...)}``."""
    return Schema(tables, schema_validation=schema_validation)
