"""Transactions: reads at a snapshot, buffered writes, and the read set they record.

A transaction reads through a :class:`~reactor.database.layers.View` that never changes
while the function runs (queries and mutations are plain synchronous code), records the
index-key intervals it consumes in a :class:`~reactor.database.reads.ReadSet`, and keeps
its writes in an :class:`~reactor.database.layers.Overlay` so it reads its own writes.
Nothing is visible to anyone else until the committer accepts it.

Limits are enforced as reads and writes happen, with errors that say which limit.

A transaction depends on the table registry, its view, its limits, the creation clock
and the search indexes, never on the database object: the committer is what turns it
into a commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reactor.database.clock import CreationClock
from reactor.database.indexes import IndexSpec, index_keys, point_interval
from reactor.database.layers import TABLE, VALUE, DocEntry, Overlay, View
from reactor.database.reads import ReadSet
from reactor.database.search import SearchIndexes
from reactor.database.tables import TableInfo, TableRegistry
from reactor.errors import LimitExceeded, NotFound, ValidationError
from reactor.values import MISSING, decode_id, dumps, encode_id, loads, new_internal_id, normalize

__all__ = ["UNSET", "Limits", "Transaction"]


class _Unset:
    """The value of a field that ``patch`` removes."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-function limits."""

    max_documents_read: int = 32_000
    max_read_intervals: int = 4_096
    max_documents_written: int = 16_000
    max_document_size: int = 1 << 20


class Transaction:
    """One function execution's view of the database."""

    def __init__(
        self,
        tables: TableRegistry,
        view: View,
        snapshot_ts: int,
        *,
        writable: bool,
        limits: Limits,
        clock: CreationClock,
        search: SearchIndexes,
        published_size: Callable[[str], int] = lambda table: 0,
        journal: list[str | None] | None = None,
    ) -> None:
        self.tables = tables
        # Published documents in a table (O(1), for monitoring; not a recorded read).
        self.published_size = published_size
        self.clock = clock
        self.search = search
        self.snapshot_ts = snapshot_ts
        self.base_view = view
        self.overlay: Overlay | None = Overlay(view) if writable else None
        self.view: View = self.overlay if self.overlay is not None else view
        self.reads = ReadSet()
        self.limits = limits
        self.documents_read = 0
        self.journal = journal
        self._paginate_calls = 0

    # -- reads -------------------------------------------------------------------------

    def record_range(self, index_id: str, start: bytes, end: bytes) -> None:
        self.reads.add(index_id, start, end)
        if len(self.reads.indexes.get(index_id, ())) > self.limits.max_read_intervals or (
            self.reads.interval_count() > self.limits.max_read_intervals
        ):
            raise LimitExceeded(
                "too many index ranges read in one function "
                f"(limit {self.limits.max_read_intervals})"
            )

    def count_read(self) -> None:
        self.documents_read += 1
        if self.documents_read > self.limits.max_documents_read:
            raise LimitExceeded(
                f"too many documents read in one function (limit {self.limits.max_documents_read});"
                " use an index or paginate"
            )

    def table_of_id(self, doc_id: object) -> TableInfo | None:
        """The table an id belongs to; ValidationError if it is not an id at all."""
        if not isinstance(doc_id, str):
            raise ValidationError(f"expected a document id string, got {type(doc_id).__name__}")
        try:
            number, _ = decode_id(doc_id)
        except ValueError:
            raise ValidationError(f"invalid document id {doc_id!r}") from None
        return self.tables.by_number(number)

    def get(self, doc_id: object) -> dict[str, Any] | None:
        """The document with this id, or None."""
        table = self.table_of_id(doc_id)
        if table is None:
            return None
        assert isinstance(doc_id, str)
        key = table.by_id.key({"_id": doc_id})
        start, end = point_interval(key)
        self.record_range(table.by_id.id, start, end)
        entry = self.view.get(doc_id)
        if entry is None or entry[TABLE] != table.name:
            return None
        self.count_read()
        result: dict[str, Any] = loads(entry[VALUE])
        return result

    def scan(
        self, spec: IndexSpec, lo: bytes, hi: bytes, desc: bool
    ) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Documents in index order in ``[lo, hi)``; the caller records what it consumed."""
        view = self.view
        for key, doc_id in view.scan(spec.id, lo, hi, desc):
            entry = view.get(doc_id)
            if entry is None:  # pragma: no cover - index and documents always agree
                continue
            self.count_read()
            yield key, loads(entry[VALUE])

    # -- writes ------------------------------------------------------------------------

    def discard(self) -> None:
        """Drop the buffered writes of a transaction that will not commit.

        A function that raised leaves its frames, and this transaction with them, in a
        reference cycle through the exception's traceback until a full garbage collection;
        without its writes the transaction no longer holds their documents until then
        (a stopped mutation may have buffered thousands).
        """
        if self.overlay is not None:
            self.overlay.clear()

    def _writable(self) -> Overlay:
        if self.overlay is None:
            raise ValidationError("this function cannot write: queries are read-only")
        return self.overlay

    def _check_user_fields(self, doc: object, what: str) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise ValidationError(f"{what} must be an object, got {type(doc).__name__}")
        for name in doc:
            if not isinstance(name, str):
                raise ValidationError(f"field names must be strings, got {name!r}")
            if name.startswith("_"):
                raise ValidationError(
                    f"field {name!r} is reserved: fields starting with '_' are system fields",
                    f"$.{name}",
                )
        return doc

    def _store(self, table: TableInfo, doc_id: str, doc: dict[str, Any], system: bool) -> None:
        overlay = self._writable()
        if table.name.startswith("_") and not system:
            raise ValidationError(f"system table {table.name!r} is read-only for functions")
        fields = {k: v for k, v in doc.items() if k not in ("_id", "_creation_time")}
        # The schema first (a v.int64() field makes a plain int an Int64), then every
        # other plain int becomes a number.
        fields = self.tables.validate_document(table, fields)
        full = normalize({"_id": doc_id, "_creation_time": doc["_creation_time"], **fields})
        value = dumps(full)
        if len(value) > self.limits.max_document_size:
            raise LimitExceeded(
                f"document in table {table.name!r} is {len(value)} bytes; "
                f"the limit is {self.limits.max_document_size}"
            )
        keys = index_keys(table.specs, full)
        if doc_id not in overlay.docs and len(overlay.docs) >= self.limits.max_documents_written:
            raise LimitExceeded(
                "too many documents written in one mutation "
                f"(limit {self.limits.max_documents_written})"
            )
        overlay.put(doc_id, (table.name, value, keys), table.specs)

    def insert_exported(self, table: TableInfo, doc: dict[str, Any]) -> None:
        """Store ``doc`` with its own ``_id`` and ``_creation_time`` (import).

        The id must encode ``table``'s number; the document is validated like any write.
        """
        doc_id = doc.get("_id")
        created = doc.get("_creation_time")
        if not isinstance(doc_id, str) or self.tables.id_table(doc_id) != table.name:
            raise ValidationError(f"{doc_id!r} is not an id of table {table.name!r}", "$._id")
        if not isinstance(created, float):
            raise ValidationError("_creation_time must be a float", "$._creation_time")
        self._store(table, doc_id, doc, True)
        self.clock.bump(created)

    def insert(self, table_name: object, doc: object, *, system: bool = False) -> str:
        """Insert a new document; returns its id."""
        table = self.tables.writable(table_name, system=system)
        fields = self._check_user_fields(doc, "a document")
        doc_id = encode_id(table.number, new_internal_id())
        full = {**fields, "_creation_time": self.clock.next()}
        self._store(table, doc_id, full, system)
        return doc_id

    def _existing(self, doc_id: object, op: str) -> tuple[TableInfo, str, dict[str, Any]]:
        table = self.table_of_id(doc_id)
        current = self.get(doc_id) if table is not None else None
        if table is None or current is None:
            raise NotFound(f"cannot {op} document {doc_id!r}: it does not exist")
        assert isinstance(doc_id, str)
        return table, doc_id, current

    def _refuse_if_append_only(self, table: TableInfo, what: str) -> None:
        if self.tables.is_append_only(table):
            raise ValidationError(
                f"table {table.name!r} is append-only: its documents cannot be {what}"
            )

    def patch(self, doc_id: object, fields: object, *, system: bool = False) -> None:
        """Shallow-merge ``fields`` into a document; ``UNSET`` removes a field."""
        table, doc_id, current = self._existing(doc_id, "patch")
        self._refuse_if_append_only(table, "changed")
        if not isinstance(fields, dict):
            raise ValidationError(f"patch expects an object, got {type(fields).__name__}")
        for name, value in fields.items():
            if name in ("_id", "_creation_time"):
                if value is not UNSET and value == current[name]:
                    continue
                raise ValidationError(f"system field {name!r} cannot be changed", f"$.{name}")
            if isinstance(name, str) and name.startswith("_"):
                raise ValidationError(f"field {name!r} is reserved", f"$.{name}")
            if value is UNSET or value is MISSING:
                current.pop(name, None)
            else:
                current[name] = value
        self._store(table, doc_id, current, system)

    def replace(self, doc_id: object, doc: object, *, system: bool = False) -> None:
        """Replace a document's fields, keeping its system fields."""
        table, doc_id, current = self._existing(doc_id, "replace")
        self._refuse_if_append_only(table, "changed")
        if not isinstance(doc, dict):
            raise ValidationError(f"replace expects an object, got {type(doc).__name__}")
        fields = {k: v for k, v in doc.items() if k not in ("_id", "_creation_time")}
        for name in ("_id", "_creation_time"):
            if name in doc and doc[name] != current[name]:
                raise ValidationError(f"system field {name!r} cannot be changed", f"$.{name}")
        self._check_user_fields(fields, "a document")
        fields["_creation_time"] = current["_creation_time"]
        self._store(table, doc_id, fields, system)

    def delete(self, doc_id: object, *, system: bool = False) -> None:
        """Delete a document."""
        table, doc_id, _ = self._existing(doc_id, "delete")
        self._refuse_if_append_only(table, "deleted")
        overlay = self._writable()
        if table.name.startswith("_") and not system:
            raise ValidationError(f"system table {table.name!r} is read-only for functions")
        overlay.put(doc_id, None, table.specs)

    # -- commit support ----------------------------------------------------------------

    def written(self) -> list[tuple[str, DocEntry | None]]:
        """The final version of every document this transaction wrote."""
        if self.overlay is None:
            return []
        return list(self.overlay.docs.items())

    def next_paginate_slot(self) -> int:
        slot = self._paginate_calls
        self._paginate_calls += 1
        return slot
