"""The database: tables, the published state, pending commits and subscriptions.

State lives in memory and is rebuilt from persistence on open: the published state
(:class:`~reactor.database.layers.PublishedState`: the base documents with every index,
plus layers of recent batches while readers in worker threads hold older versions), an
overlay of commits that are staged but not yet durable, the write log, and the
subscription index.
Every table has the implicit indexes ``by_id`` and ``by_creation_time``; user indexes
come from the schema.

Table numbers (encoded in document ids) are assigned once and persisted in the
``tables`` global, so ids stay valid across restarts and schema changes.

Threads: everything runs on the event loop except functions that were moved to a worker
thread (:mod:`reactor.runtime.executor`). Those read a :class:`~reactor.database.layers.
ViewLease` of the published state and may also touch the few shared counters below
(new tables of a schemaless database, creation times, dirty globals), which a lock
guards.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reactor.database.committer import Committer, PublishListener, WriteConflict
from reactor.database.health import StorageMonitor, storage_problem
from reactor.database.indexes import KEY_MAX, KEY_MIN, IndexSpec
from reactor.database.layers import BaseState, DocEntry, Overlay, PublishedState, View, ViewLease
from reactor.database.reads import ReadSet
from reactor.database.subscriptions import SubscriptionIndex
from reactor.database.transaction import Limits, Transaction
from reactor.database.write_log import WriteLog
from reactor.errors import ConflictError, ReactorError, ValidationError
from reactor.persistence import Persistence
from reactor.persistence.lease import DEFAULT_STALE_AFTER, LeaseHolder, claim_lease, release_lease
from reactor.schema import Schema, TableDefinition
from reactor.types import Clock, system_clock
from reactor.values import INT64_MAX, INT64_MIN, Int64, decode_id, loads, normalize

ProgressCallback = Callable[[str, int, int], None]
"""``progress(table, done, total)``: called while a schema change rebuilds a table."""

T = TypeVar("T")

__all__ = ["SYSTEM_TABLES", "Database", "TableInfo"]

logger = logging.getLogger("reactor.database")

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


class Database:
    """Documents, indexes, commits and subscriptions of one deployment."""

    def __init__(
        self, persistence: Persistence, schema: Schema | None, limits: Limits | None = None
    ) -> None:
        self.persistence = persistence
        self.schema = schema
        self.limits = limits or Limits()
        # What _creation_time reads (the engine's clock, so tests can drive time).
        self.clock: Clock = system_clock
        self.base = BaseState()
        self.published = PublishedState(self.base)
        self.pending = Overlay(self.base)
        self.write_log = WriteLog()
        self.subscriptions = SubscriptionIndex()
        self.publish_listeners: list[PublishListener] = []
        self.published_ts = 0
        self.latest_ts = 0
        self.dirty_globals: dict[str, Any] = {}
        self._tables: dict[str, TableInfo] = {}
        self._numbers: dict[int, TableInfo] = {}
        self._last_creation_time = 0.0
        # Guards what functions in worker threads may change: tables, creation times,
        # dirty globals.
        self.shared_lock = threading.Lock()
        # A section an asynchronous interrupt (a function's time limit) must not split;
        # the runtime installs its shield (reactor.runtime.time_limits.shielded).
        self.critical_section: Callable[[], AbstractContextManager[Any]] = nullcontext
        self.committer = Committer(self)
        self.monitor = StorageMonitor(persistence)
        self.lease: LeaseHolder | None = None
        from reactor.search import SearchIndexes  # here: reactor.search imports this package

        self.search = SearchIndexes(self)

    # -- opening -------------------------------------------------------------------------

    def load(self) -> None:
        """Build the in-memory state from persistence (synchronous, at startup)."""
        registry: dict[str, int] = dict(self.persistence.get_global("tables") or {})
        names = list(SYSTEM_TABLES)
        if self.schema is not None:
            names += list(self.schema.tables)
        next_number = max(registry.values(), default=0) + 1
        for name in names:
            if name not in registry:
                registry[name] = next_number
                next_number += 1
        for name, number in registry.items():
            self._add_table(name, number)
        self.persistence.write([], {"tables": registry})
        ts = int(self.persistence.get_global("ts") or 0)
        base = self.base
        for record in self.persistence.load_documents():
            info = self._tables.get(record.table)
            if info is None or record.value is None:
                continue
            doc = loads(record.value)
            keys = tuple(spec.key(doc) for spec in info.specs)
            base.apply(record.id, DocEntry(info.name, record.value, keys), info.specs)
            ts = max(ts, record.ts)
            created = doc.get("_creation_time", 0.0)
            if isinstance(created, float) and created > self._last_creation_time:
                self._last_creation_time = created
        self.published_ts = self.latest_ts = ts

    def _add_table(self, name: str, number: int) -> TableInfo:
        definition = None
        if self.schema is not None and name in self.schema.tables:
            definition = self.schema.tables[name]
        info = TableInfo(name, number, definition)
        for spec in info.specs:  # indexes first: a reader that finds the table finds them
            self.base.add_index(spec)
        self._tables[name] = info
        self._numbers[number] = info
        return info

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def fold_soon() -> None:
            loop.call_soon_threadsafe(self.fold_idle)

        self.published.on_idle = fold_soon
        self.committer.start()
        self.monitor.start()

    async def close(self) -> None:
        await self.monitor.close()
        await self.committer.close()
        if self.lease is not None:
            try:
                await asyncio.to_thread(release_lease, self.persistence, self.lease)
            except ReactorError as exc:  # the database is down: the lease goes stale instead
                logger.warning("could not release the database lease: %s", exc)
            self.lease = None
        self.persistence.close()

    def claim_lease(
        self, holder: LeaseHolder, *, stale_after: float = DEFAULT_STALE_AFTER, what: str = ""
    ) -> None:
        """Become the database's only server (before :meth:`load`; synchronous).

        Raises :class:`~reactor.persistence.errors.DatabaseInUse` naming the holder when
        another live server has it (:mod:`reactor.persistence.lease`).
        """
        claim_lease(self.persistence, holder, stale_after=stale_after, what=what or "the database")
        self.lease = holder
        # Heartbeats well within the staleness limit, so a live server never looks gone.
        self.monitor.interval = min(self.monitor.interval, stale_after / 4)

    def storage_problem(self) -> str | None:
        """What is wrong with the database right now (None when healthy)."""
        return storage_problem(self.persistence)

    # -- tables --------------------------------------------------------------------------

    def table_by_number(self, number: int) -> TableInfo | None:
        return self._numbers.get(number)

    def tables(self) -> list[TableInfo]:
        return list(self._tables.values())

    def table(self, name: object) -> TableInfo:
        """A readable table; ValidationError naming the known tables otherwise."""
        if not isinstance(name, str):
            raise ValidationError(f"table name must be a string, got {type(name).__name__}")
        info = self._tables.get(name)
        if info is None:
            if self.schema is None and _valid_table_name(name):
                return self._new_table(name)
            known = ", ".join(sorted(n for n in self._tables if not n.startswith("_")))
            raise ValidationError(f"unknown table {name!r} (tables: {known or 'none'})")
        return info

    def writable_table(self, name: object, *, system: bool = False) -> TableInfo:
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

    def _new_table(self, name: str) -> TableInfo:
        # A function may create a table from a worker thread; an interrupt (time limit)
        # must not land between the registry updates either.
        with self.shared_lock, self.critical_section():
            info = self._tables.get(name)
            if info is not None:
                return info
            number = max(self._numbers, default=0) + 1
            info = self._add_table(name, number)
            registry = {n: t.number for n, t in self._tables.items()}
            self.dirty_globals["tables"] = registry
            return info

    def set_dirty_global(self, name: str, value: Any) -> None:
        """Persist global ``name`` with the next commit (any thread)."""
        with self.shared_lock:
            self.dirty_globals[name] = value

    def take_dirty_globals(self) -> dict[str, Any]:
        with self.shared_lock:
            dirty, self.dirty_globals = self.dirty_globals, {}
        return dirty

    def id_table(self, doc_id: str) -> str | None:
        """The table name an id string encodes, or None (the validators' id resolver)."""
        try:
            number, _ = decode_id(doc_id)
        except ValueError:
            return None
        info = self._numbers.get(number)
        return info.name if info is not None else None

    def validate_document(self, table: TableInfo, fields: dict[str, Any]) -> dict[str, Any]:
        if table.definition is None or self.schema is None or not self.schema.schema_validation:
            return fields
        return table.definition.validate_document(fields, self.id_table)

    def next_creation_time(self) -> float:
        """Milliseconds since the epoch, strictly increasing across the database."""
        with self.shared_lock:
            now = self.clock() * 1000.0
            last = self._last_creation_time
            if now <= last:
                now = last + 0.001
                if now <= last:  # pragma: no cover - float spacing at extreme values
                    raise ReactorError("creation time overflow")
            self._last_creation_time = now
            return now

    # -- transactions --------------------------------------------------------------------

    @property
    def published_view(self) -> View:
        """The published state now (read it synchronously on the event loop)."""
        return self.published.top

    def begin_read(self, journal: list[str | None] | None = None) -> Transaction:
        """A read-only transaction at the published state (event loop)."""
        return Transaction(
            self, self.published.top, self.published_ts, writable=False, journal=journal
        )

    def begin_write(self) -> Transaction:
        """A read-write transaction at the latest staged state (event loop)."""
        view = self.pending if self.pending else self.published.top
        return Transaction(self, view, self.latest_ts, writable=True)

    def lease_view(self) -> ViewLease:
        """Hold the published view for a reader in a worker thread (event loop).

        Publishing goes on meanwhile; release the lease when the reader is done.
        """
        return self.published.lease(self.published_ts)

    def begin_leased(
        self,
        lease: ViewLease,
        *,
        writable: bool,
        journal: list[str | None] | None = None,
    ) -> Transaction:
        """A transaction reading a leased published view (any thread).

        A writable one is a mutation run in a worker thread: its snapshot is the lease's
        timestamp, so the commit is validated against every commit after it (staged
        ones included), exactly as for a mutation that read the latest staged state.
        """
        return Transaction(self, lease.view, lease.ts, writable=writable, journal=journal)

    def changed_since(self, reads: ReadSet, ts: int) -> bool:
        """Whether a published commit after ``ts`` wrote something in ``reads``.

        True as well when ``ts`` is older than the write log remembers. A result read at
        ``ts`` with these reads is valid at :attr:`published_ts` exactly when this is
        False (event loop).
        """
        log = self.write_log
        if ts < log.purged_ts:
            return True
        published = self.published_ts
        for entry in log.after(ts):
            if entry.ts > published:
                break
            if reads.overlaps(entry.keys) is not None:
                return True
        return False

    def fold_idle(self) -> None:
        """Fold published layers into the base if no reader holds them (event loop)."""
        if self.published.layers and self.published.fold():
            # The same documents, now all in the base: the overlay of staged commits
            # reads through to it directly.
            self.pending.parent = self.published.top

    async def commit(self, txn: Transaction) -> int:
        return await self.committer.commit(txn)

    async def write(self, body: Callable[[Transaction], T], *, what: str = "write") -> T:
        """Run ``body`` in a fresh write transaction and commit it, retrying conflicts.

        For reactor's own small system writes (jobs, file metadata), outside any function.
        """
        for _ in range(20):
            txn = self.begin_write()
            result = body(txn)
            try:
                await self.commit(txn)
            except WriteConflict as conflict:
                await self.committer.wait_published(conflict.write_ts)
                continue
            return result
        raise ConflictError(f"{what}: gave up after repeated conflicts")

    def add_publish_listener(self, listener: Callable[[int, set[Any]], None]) -> None:
        self.publish_listeners.append(listener)

    # -- schema changes and bulk loads (schema push, import) ------------------------------
    #
    # Index keys live only in memory, so changing a table's indexes rebuilds that table's
    # entries in the published state. This is done in one synchronous step while no commit
    # is staged or persisting (``quiescent``): transactions never span an ``await``, so no
    # transaction can observe a half-changed table, and no staged commit carries index keys
    # computed for the old index set.

    def quiescent(self) -> bool:
        """Whether no commit is staged, persisting or awaiting publication, and the
        published state is all in the base."""
        committer = self.committer
        if not self.pending and not committer._staged and not committer._in_flight:
            self.fold_idle()
            return not self.published.layers
        return False

    async def wait_quiescent(self, timeout: float = 30.0) -> None:
        """Return once :meth:`quiescent` (polls; commits settle in milliseconds).

        Under writes that never pause, gives up after ``timeout`` seconds with a
        ``ReactorError`` rather than waiting forever.
        """
        deadline = time.monotonic() + timeout
        while not self.quiescent():
            if time.monotonic() > deadline:
                raise ReactorError(
                    f"the database did not become idle within {timeout:g}s (writes never "
                    "paused); try again"
                )
            await asyncio.sleep(0.001)

    def next_table_number(self) -> int:
        """The number the next new table gets."""
        return max(self._numbers, default=0) + 1

    def table_registry(self) -> dict[str, int]:
        """``{table name: number}`` of every table ever created (the ``tables`` global)."""
        return {name: info.number for name, info in self._tables.items()}

    def table_size(self, name: str) -> int:
        """Published documents in a table (0 for an unknown table)."""
        info = self._tables.get(name)
        if info is None:
            return 0
        return self.published.count(name, len(self.base.indexes[info.by_id.id].ids))

    def table_documents(self, name: str, view: View | None = None) -> Iterator[dict[str, Any]]:
        """The documents of a table in ``_creation_time`` order (admin use).

        From ``view``, by default the published state (then iterate it synchronously).
        """
        info = self._tables.get(name)
        if info is None:
            return
        view = self.published.top if view is None else view
        for _, doc_id in view.scan(info.by_creation_time.id, KEY_MIN, KEY_MAX, False):
            entry = view.get(doc_id)
            if entry is not None:
                yield loads(entry.value)

    def apply_schema(self, schema: Schema | None, progress: ProgressCallback | None = None) -> None:
        """Switch to ``schema``: number new tables, build new indexes, drop removed ones.

        Existing documents are not validated here (``reactor.ops.schema_push`` does that first).
        Tables that left the schema keep their number and documents but lose their user
        indexes. Requires :meth:`quiescent`. New table numbers are persisted with the next
        commit (``dirty_globals``) unless the caller writes ``table_registry()`` itself.
        """
        if not self.quiescent():
            raise ReactorError("cannot change the schema while commits are pending")
        # Index keys are rebuilt in the base in place: no reader may hold a version of
        # it. Readers are limited in run time, so this (rare, admin) wait is bounded.
        if not self.published.fold_waiting():  # pragma: no cover - no timeout given
            raise ReactorError("the published state is still being read")
        self._apply_schema(schema, progress)

    def _apply_schema(self, schema: Schema | None, progress: ProgressCallback | None) -> None:
        self.schema = schema
        for info in list(self._tables.values()):
            if info.name.startswith("_"):
                continue
            definition = schema.tables.get(info.name) if schema is not None else None
            new = TableInfo(info.name, info.number, definition)
            if new.specs != info.specs:
                self._rebuild_indexes(info, new, progress)
            self._tables[info.name] = new
            self._numbers[info.number] = new
        if schema is not None:
            added = False
            for name in schema.tables:
                if name not in self._tables:
                    self._add_table(name, self.next_table_number())
                    added = True
            if added:
                self.dirty_globals["tables"] = self.table_registry()
        self.pending = Overlay(self.base)

    def _rebuild_indexes(
        self, old: TableInfo, new: TableInfo, progress: ProgressCallback | None
    ) -> None:
        base = self.base
        kept = {spec: i for i, spec in enumerate(old.specs)}
        for spec in old.specs:
            if spec not in new.specs:
                base.indexes.pop(spec.id, None)
        added = [spec for spec in new.specs if spec not in kept]
        for spec in added:
            base.add_index(spec)
        ids = list(base.indexes[new.by_id.id].ids.values())
        total = len(ids)
        for done, doc_id in enumerate(ids, 1):
            entry = base.docs[doc_id]
            doc = loads(entry.value) if added else None
            keys: list[bytes] = []
            for spec in new.specs:
                i = kept.get(spec)
                if i is not None:
                    keys.append(entry.keys[i])
                else:
                    assert doc is not None
                    key = spec.key(doc)
                    base.indexes[spec.id].add(key, doc_id)
                    keys.append(key)
            base.docs[doc_id] = DocEntry(entry.table, entry.value, tuple(keys))
            if progress is not None and (done == total or done % 1000 == 0):
                progress(old.name, done, total)

    def claim_table_number(self, name: str, number: int) -> TableInfo:
        """Make table ``name`` have ``number`` (import with ids preserved).

        Allowed when the table already has that number, or is new or empty and the
        number is free; ``ValidationError`` otherwise. Requires :meth:`quiescent`.
        """
        info = self._tables.get(name)
        if info is not None and info.number == number:
            return info
        holder = self._numbers.get(number)
        if holder is not None:
            raise ValidationError(
                f"cannot import table {name!r} with its ids: table number {number} belongs to "
                f"table {holder.name!r} in this database",
                "",
            )
        if info is not None:
            if self.table_size(name):
                raise ValidationError(
                    f"cannot import table {name!r} with its ids: it already holds documents "
                    f"under table number {info.number} (the export used {number})",
                    "",
                )
            if not self.quiescent():
                raise ReactorError("cannot renumber a table while commits are pending")
            del self._numbers[info.number]
            info.number = number
            self._numbers[number] = info
        else:
            if self.schema is not None and name not in self.schema.tables:
                raise ValidationError(f"table {name!r} is not in the schema", "")
            info = self._add_table(name, number)
        self.dirty_globals["tables"] = self.table_registry()
        return info

    def bump_creation_time(self, created: float) -> None:
        """Keep later inserts' ``_creation_time`` above an imported document's."""
        if created > self._last_creation_time:
            self._last_creation_time = created

    def import_transaction(self, table: str, docs: Iterable[dict[str, Any]]) -> Transaction:
        """A write transaction storing ``docs`` with their own ``_id`` and ``_creation_time``.

        Every id must encode ``table``'s number; documents are validated against the
        schema like any write. Commit it with :meth:`commit`.
        """
        info = self.table(table)
        txn = self.begin_write()
        for doc in docs:
            doc_id = doc.get("_id")
            created = doc.get("_creation_time")
            if not isinstance(doc_id, str) or self.id_table(doc_id) != info.name:
                raise ValidationError(f"{doc_id!r} is not an id of table {info.name!r}", "$._id")
            if not isinstance(created, float):
                raise ValidationError("_creation_time must be a float", "$._creation_time")
            txn._store(info, doc_id, doc, True)
            self.bump_creation_time(created)
        return txn


def _valid_table_name(name: str) -> bool:
    return bool(name) and name[0].isalpha() and name.replace("_", "a").isalnum() and len(name) <= 64
