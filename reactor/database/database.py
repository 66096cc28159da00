"""The database: one deployment's documents, assembled from the package's parts.

State lives in memory and is rebuilt from persistence on open: the published state
(:class:`~reactor.database.layers.PublishedState`: the base documents with every index,
plus layers of recent batches while readers in worker threads hold older versions), the
table registry (:mod:`reactor.database.tables`), the search indexes
(:mod:`reactor.database.search`) and the subscription index. The commit pipeline (the
write log, the overlay of staged commits, the latest and published timestamps) is the
:class:`~reactor.database.committer.Committer`'s; this class exposes it read-only.
Every table has the implicit indexes ``by_id`` and ``by_creation_time``; user indexes
come from the schema.

Transactions are built here from the registry, a view, the limits, the creation clock
and the search indexes; they never hold the database. Conflicting system writes retry
through :func:`~reactor.database.retry.retry_conflicts`, the one retry rule.

Threads: everything runs on the event loop except functions that were moved to a worker
thread (:mod:`reactor.runtime.executor`). Those read a :class:`~reactor.database.layers.
ViewLease` of the published state and may also touch the few shared parts that guard
themselves with locks: new tables of a schemaless database (the registry), creation
times (the clock) and globals to persist (the committer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from reactor.database.clock import CreationClock
from reactor.database.cluster import Membership
from reactor.database.committer import Committer, PreparedCommit, PublishListener
from reactor.database.health import StorageMonitor, storage_problem
from reactor.database.indexes import KEY_MAX, KEY_MIN, index_keys
from reactor.database.layers import (
    KEYS,
    TABLE,
    VALUE,
    BaseState,
    BulkLoad,
    PublishedState,
    View,
    ViewLease,
)
from reactor.database.reads import ReadSet
from reactor.database.retry import retry_conflicts
from reactor.database.search import SearchIndexes
from reactor.database.subscriptions import SubscriptionIndex
from reactor.database.tables import SYSTEM_TABLES, TableInfo, TableRegistry
from reactor.database.transaction import Limits, Transaction
from reactor.database.write_log import WriteLog
from reactor.errors import ReactorError, ValidationError
from reactor.persistence import Persistence, commit_log
from reactor.persistence.errors import DatabaseInUse
from reactor.persistence.lease import (
    DEFAULT_STALE_AFTER,
    LeaseHolder,
    claim_lease,
    lease_timeout,
    release_lease,
)
from reactor.schema import Schema
from reactor.types import Clock
from reactor.values import loads

ProgressCallback = Callable[[str, int, int], None]
"""``progress(table, done, total)``: called while a schema change rebuilds a table."""

T = TypeVar("T")

__all__ = ["SYSTEM_TABLES", "Database", "TableInfo"]

logger = logging.getLogger("reactor.database")


class Database:
    """Documents, indexes, commits and subscriptions of one deployment."""

    def __init__(
        self, persistence: Persistence, schema: Schema | None, limits: Limits | None = None
    ) -> None:
        self.persistence = persistence
        self.limits = limits or Limits()
        self.base = BaseState()
        self.published = PublishedState(self.base)
        self.subscriptions = SubscriptionIndex()
        self.creation = CreationClock()
        self.registry = TableRegistry(self.base, schema, self._tables_numbered)
        self.committer = Committer(persistence, self.registry, self.published, self.subscriptions)
        self.search = SearchIndexes(self.registry, self.base)
        self.base.derived.append(self.search)
        self.committer.derived.append(self.search)
        self.monitor = StorageMonitor(persistence)
        self.lease: LeaseHolder | None = None
        # Cluster mode (join_cluster): wakes the committer when the commit log grows.
        self.node: str | None = None
        self.follow_poll = 1.0
        self._listener: Any = None
        self.membership: Membership | None = None

    def _tables_numbered(self, numbers: dict[str, int]) -> None:
        self.committer.set_global("tables", numbers)

    # -- the pipeline's state (owned by the committer) ------------------------------------

    @property
    def schema(self) -> Schema | None:
        return self.registry.schema

    @schema.setter
    def schema(self, schema: Schema | None) -> None:
        """Set before :meth:`load` (a schema change goes through :meth:`apply_schema`)."""
        self.registry.schema = schema

    @property
    def pending(self) -> View:
        """The published state plus every staged commit (what mutations read)."""
        return self.committer.staged_view

    @property
    def write_log(self) -> WriteLog:
        return self.committer.write_log

    @property
    def published_ts(self) -> int:
        return self.committer.published_ts

    @property
    def latest_ts(self) -> int:
        return self.committer.latest_ts

    @property
    def publish_listeners(self) -> list[PublishListener]:
        return self.committer.listeners

    @property
    def clock(self) -> Clock:
        """What ``_creation_time`` reads (the engine's clock, so tests can drive time)."""
        return self.creation.source

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.creation.source = clock

    @property
    def critical_section(self) -> Callable[[], AbstractContextManager[Any]]:
        """A section an asynchronous interrupt (a function's time limit) must not split."""
        return self.registry.critical_section

    @critical_section.setter
    def critical_section(self, section: Callable[[], AbstractContextManager[Any]]) -> None:
        self.registry.critical_section = section

    # -- opening -------------------------------------------------------------------------

    def load(self) -> None:
        """Build the in-memory state from persistence (synchronous, at startup)."""
        names = list(SYSTEM_TABLES)
        if self.schema is not None:
            names += list(self.schema.tables)
        registry: dict[str, int]
        if self.node is not None:
            registry = self.persistence.claim_tables(names)  # type: ignore[attr-defined]
        else:
            registry = dict(self.persistence.get_global("tables") or {})
            next_number = max(registry.values(), default=0) + 1
            for name in names:
                if name not in registry:
                    registry[name] = next_number
                    next_number += 1
            self.persistence.write([], {"tables": registry})
        for name, number in registry.items():
            self.registry.add(name, number)
        ts = int(self.persistence.get_global("ts") or 0)
        position = 0
        if self.node is not None:
            # The head first: the documents then hold at least every commit up to it
            # (the follower re-applies later ones, which changes nothing).
            position, head_ts = self.persistence.cluster(commit_log.head)  # type: ignore[attr-defined]
            ts = max(ts, head_ts)
        bulk = BulkLoad(self.base)
        latest_created = 0.0
        tables = self.registry.get
        for record in self.persistence.load_documents():
            info = tables(record.table)
            value = record.value
            if info is None or value is None:
                continue
            doc = loads(value)
            bulk.add(record.id, (info.name, value, index_keys(info.specs, doc)), info.specs)
            if record.ts > ts:
                ts = record.ts
            created = doc.get("_creation_time", 0.0)
            if isinstance(created, float) and created > latest_created:
                latest_created = created
        bulk.finish()
        self.creation.bump(latest_created)
        self.committer.loaded(ts, position)
        if self.membership is not None:
            self.membership.register()
            self._refuse_single_server()

    def _refuse_single_server(self) -> None:
        """A cluster node does not join a database a single server holds the lease of.

        Checked after registering: a single server claiming the lease meanwhile sees
        this node (:meth:`claim_lease`), so the two never both run.
        """
        current = self.persistence.lease_read()
        stale_after = lease_timeout()
        if current is None or current[1] >= stale_after:
            return
        holder = LeaseHolder.decode(current[0])
        assert self.membership is not None
        self.membership.leave()
        who = holder.describe() if holder is not None else "an unreadable holder"
        raise DatabaseInUse(
            f"the database is in use by a single reactor server ({who}; last heartbeat "
            f"{current[1]:.0f}s ago), which serves only its own commits: stop it before "
            "starting cluster nodes, or start it again as one (reactor serve on PostgreSQL "
            "is always a cluster node)."
        )

    def join_cluster(
        self,
        node: str,
        *,
        address: str = "",
        poll: float = 1.0,
        node_timeout: float = DEFAULT_STALE_AFTER,
    ) -> None:
        """Be node ``node`` of a cluster on this PostgreSQL database (before :meth:`load`).

        Commits are ordered and validated by the commit log
        (:mod:`reactor.persistence.commit_log`), and other nodes' commits are applied as
        they appear: a listener wakes the committer on each, and every ``poll`` seconds.
        Instead of the single server's lease, the node registers in the cluster's node
        registry (:mod:`reactor.database.cluster`) with ``address`` (how other machines
        reach it, for operators); ``node_timeout`` is how long a silent node stays in it.
        """
        if not hasattr(self.persistence, "write_logged"):
            raise ReactorError(
                "cluster mode needs a PostgreSQL database (postgresql://...); "
                f"{type(self.persistence).__name__} serves one server only"
            )
        self.node = node
        self.follow_poll = poll
        self.registry.claim = self.persistence.claim_tables  # type: ignore[attr-defined]
        self.committer.join_cluster(self.persistence, node)  # type: ignore[arg-type]
        self.committer.on_foreign_document = self._foreign_document
        committer = self.committer
        self.membership = Membership(
            self.persistence,
            node,
            lambda: committer.applied,
            address=address,
            interval=min(2.0, node_timeout / 4),
            node_timeout=node_timeout,
        )

    def _foreign_document(self, doc: dict[str, Any]) -> None:
        created = doc.get("_creation_time", 0.0)
        if isinstance(created, float):
            self.creation.bump(created)

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def fold_soon() -> None:
            loop.call_soon_threadsafe(self.fold_idle)

        self.published.on_idle = fold_soon
        self.committer.start()
        self.monitor.start()
        if self.node is not None:
            committer = self.committer

            def follow_soon() -> None:
                try:
                    loop.call_soon_threadsafe(committer.follow_soon)
                except RuntimeError:  # the loop is closed
                    pass

            self._listener = self.persistence.listener(follow_soon, poll=self.follow_poll)  # type: ignore[attr-defined]
            self._listener.start()
        if self.membership is not None:
            self.membership.start()

    async def close(self) -> None:
        await self.monitor.close()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
            self._listener = None
        await self.committer.close()
        if self.membership is not None:
            await self.membership.close()
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
        what = what or "the database"
        claim_lease(self.persistence, holder, stale_after=stale_after, what=what)
        self.lease = holder
        if hasattr(self.persistence, "cluster"):
            # Claimed first, checked second: a node joining meanwhile sees the lease.
            timeout = stale_after
            nodes = self.persistence.cluster(lambda cur: commit_log.live_nodes(cur, timeout))
            if nodes:
                release_lease(self.persistence, holder)
                self.lease = None
                names = ", ".join(f"{n} at {a}" if a else n for n, a in nodes)
                raise DatabaseInUse(
                    f"{what} is served by a cluster of reactor nodes ({names}). A single "
                    "server beside them would serve stale data: open it as a cluster node "
                    "(Engine.open(..., cluster=True); reactor serve on PostgreSQL always is)."
                )
        # Heartbeats well within the staleness limit, so a live server never looks gone.
        self.monitor.interval = min(self.monitor.interval, stale_after / 4)

    async def hold_lease(self, name: str, ttl: float) -> bool:
        """Take or renew the cluster lease ``name`` for ``ttl`` seconds; whether this node
        holds it. Always True outside cluster mode (the one server does all the work)."""
        membership = self.membership
        if membership is None:
            return True
        try:
            return await asyncio.to_thread(membership.lease, name, ttl)
        except Exception as exc:  # the database is down: assume another node has it
            logger.warning("could not renew the cluster lease %r: %s", name, exc)
            return False

    def storage_problem(self) -> str | None:
        """What is wrong with the database right now (None when healthy)."""
        return storage_problem(self.persistence)

    # -- tables (the registry's; kept here for the layers above) ------------------------

    def table_by_number(self, number: int) -> TableInfo | None:
        return self.registry.by_number(number)

    def tables(self) -> list[TableInfo]:
        return self.registry.all()

    def table(self, name: object) -> TableInfo:
        """A readable table; ValidationError naming the known tables otherwise."""
        return self.registry.table(name)

    def writable_table(self, name: object, *, system: bool = False) -> TableInfo:
        return self.registry.writable(name, system=system)

    def set_dirty_global(self, name: str, value: Any) -> None:
        """Persist global ``name`` with the next commit (any thread)."""
        self.committer.set_global(name, value)

    async def commit_globals(self, values: dict[str, Any]) -> None:
        """Persist ``values`` now (a quiescent database: nothing is staged).

        In cluster mode they go as a commit of their own, which the commit log names, so
        other nodes learn of the change in commit order (that commit advances the
        timestamp). A single server has nobody to tell: it writes them directly.
        """
        if self.node is None:
            await asyncio.to_thread(self.persistence.write, [], values)
            return
        for name, value in values.items():
            self.committer.set_global(name, value)
        await self.committer.stage_globals().future

    def register_tables(self, numbers: dict[str, int]) -> None:
        """Know the tables of ``numbers`` (the ``tables`` global another node wrote)."""
        self.committer.register_tables(numbers)

    def take_dirty_globals(self) -> dict[str, Any]:
        """The globals waiting for the next commit, for a caller that writes them itself."""
        return self.committer.take_globals()

    def id_table(self, doc_id: str) -> str | None:
        """The table name an id string encodes, or None (the validators' id resolver)."""
        return self.registry.id_table(doc_id)

    def validate_document(self, table: TableInfo, fields: dict[str, Any]) -> dict[str, Any]:
        return self.registry.validate_document(table, fields)

    def next_creation_time(self) -> float:
        """Milliseconds since the epoch, strictly increasing across the database."""
        return self.creation.next()

    # -- transactions --------------------------------------------------------------------

    @property
    def published_view(self) -> View:
        """The published state now (read it synchronously on the event loop)."""
        return self.published.top

    def _transaction(
        self, view: View, ts: int, *, writable: bool, journal: list[str | None] | None = None
    ) -> Transaction:
        return Transaction(
            self.registry,
            view,
            ts,
            writable=writable,
            limits=self.limits,
            clock=self.creation,
            search=self.search,
            published_size=self.table_size,
            journal=journal,
        )

    def begin_read(self, journal: list[str | None] | None = None) -> Transaction:
        """A read-only transaction at the published state (event loop)."""
        return self._transaction(
            self.published.top, self.published_ts, writable=False, journal=journal
        )

    def begin_write(self) -> Transaction:
        """A read-write transaction at the latest staged state (event loop)."""
        return self._transaction(self.committer.staged_view, self.latest_ts, writable=True)

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
        return self._transaction(lease.view, lease.ts, writable=writable, journal=journal)

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

    def fold_idle(self, *, complete: bool = False) -> None:
        """Fold published layers into the base if no reader holds them (event loop).

        One bounded step unless ``complete``; the published state asks for the next.
        """
        if self.published.layers and self.published.fold(complete=complete):
            # The same documents, now all in the base: the chain of staged commits
            # reads through to it directly.
            self.committer.rebase_pending(self.published.top)

    def prepare_commit(self, txn: Transaction) -> PreparedCommit | None:
        """Prepare a big transaction's commit in the thread that ran it
        (:meth:`Committer.prepare`); pass the result to :meth:`commit`."""
        return self.committer.prepare(txn)

    async def commit(self, txn: Transaction, prepared: PreparedCommit | None = None) -> int:
        return await self.committer.commit(txn, prepared)

    async def write(self, body: Callable[[Transaction], T], *, what: str = "write") -> T:
        """Run ``body`` in a fresh write transaction and commit it, retrying conflicts.

        For reactor's own small system writes (jobs, file metadata), outside any function.
        """

        async def attempt() -> T:
            txn = self.begin_write()
            result = body(txn)
            await self.commit(txn)
            return result

        return await retry_conflicts(attempt, self.committer, what=what)

    def add_publish_listener(self, listener: PublishListener) -> None:
        """Call ``listener(batch)`` with each :class:`~reactor.database.committer.
        PublishedBatch`, on the event loop, after it is published."""
        self.committer.listeners.append(listener)

    def remove_publish_listener(self, listener: PublishListener) -> None:
        if listener in self.committer.listeners:
            self.committer.listeners.remove(listener)

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
        if self.committer.idle():
            self.fold_idle(complete=True)  # schema changes and imports: rare, blocking
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
        return self.registry.next_number()

    def table_registry(self) -> dict[str, int]:
        """``{table name: number}`` of every table ever created (the ``tables`` global)."""
        return self.registry.numbers()

    def table_size(self, name: str) -> int:
        """Published documents in a table (0 for an unknown table)."""
        info = self.registry.get(name)
        if info is None:
            return 0
        return self.published.count(name, len(self.base.indexes[info.by_id.id]))

    def table_documents(self, name: str, view: View | None = None) -> Iterator[dict[str, Any]]:
        """The documents of a table in ``_creation_time`` order (admin use).

        From ``view``, by default the published state (then iterate it synchronously).
        """
        info = self.registry.get(name)
        if info is None:
            return
        view = self.published.top if view is None else view
        for _, doc_id in view.scan(info.by_creation_time.id, KEY_MIN, KEY_MAX, False):
            entry = view.get(doc_id)
            if entry is not None:
                yield loads(entry[VALUE])

    def apply_schema(self, schema: Schema | None, progress: ProgressCallback | None = None) -> None:
        """Switch to ``schema``: number new tables, build new indexes, drop removed ones.

        Existing documents are not validated here (``reactor.ops.schema_push`` does that first).
        Tables that left the schema keep their number and documents but lose their user
        indexes. Requires :meth:`quiescent`. New table numbers are persisted with the next
        commit (:meth:`set_dirty_global`) unless the caller writes ``table_registry()`` itself.
        """
        if not self.quiescent():
            raise ReactorError("cannot change the schema while commits are pending")
        # Index keys are rebuilt in the base in place: no reader may hold a version of
        # it. Readers are limited in run time, so this (rare, admin) wait is bounded.
        if not self.published.fold_waiting():  # pragma: no cover - no timeout given
            raise ReactorError("the published state is still being read")
        self._apply_schema(schema, progress)

    def _apply_schema(self, schema: Schema | None, progress: ProgressCallback | None) -> None:
        registry = self.registry
        registry.schema = schema
        for info in registry.all():
            if info.name.startswith("_"):
                continue
            definition = schema.tables.get(info.name) if schema is not None else None
            new = TableInfo(info.name, info.number, definition)
            if new.specs != info.specs:
                self._rebuild_indexes(info, new, progress)
            registry.put(new)
        if schema is not None and registry.number_new(list(schema.tables)):
            if registry.claim is None:
                self.set_dirty_global("tables", registry.numbers())
        self.committer.reset_pending()

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
        ids = list(base.indexes[new.by_id.id].doc_ids())
        total = len(ids)
        for done, doc_id in enumerate(ids, 1):
            entry = base.docs[doc_id]
            doc = loads(entry[VALUE]) if added else None
            keys: list[bytes] = []
            for spec in new.specs:
                i = kept.get(spec)
                if i is not None:
                    keys.append(entry[KEYS][i])
                else:
                    assert doc is not None
                    key = spec.key(doc)
                    base.indexes[spec.id].add(key)
                    keys.append(key)
            base.docs[doc_id] = (entry[TABLE], entry[VALUE], tuple(keys))
            if progress is not None and (done == total or done % 1000 == 0):
                progress(old.name, done, total)

    def claim_table_number(self, name: str, number: int) -> TableInfo:
        """Make table ``name`` have ``number`` (import with ids preserved).

        Allowed when the table already has that number, or is new or empty and the
        number is free; ``ValidationError`` otherwise. Requires :meth:`quiescent`.
        """
        registry = self.registry
        info = registry.get(name)
        if info is not None and info.number == number:
            return info
        holder = registry.by_number(number)
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
            registry.renumber(info, number)
        else:
            if self.schema is not None and name not in self.schema.tables:
                raise ValidationError(f"table {name!r} is not in the schema", "")
            info = registry.add(name, number)
        self.set_dirty_global("tables", registry.numbers())
        return info

    def bump_creation_time(self, created: float) -> None:
        """Keep later inserts' ``_creation_time`` above an imported document's."""
        self.creation.bump(created)

    def import_transaction(self, table: str, docs: Iterable[dict[str, Any]]) -> Transaction:
        """A write transaction storing ``docs`` with their own ``_id`` and ``_creation_time``.

        Every id must encode ``table``'s number; documents are validated against the
        schema like any write. Commit it with :meth:`commit`.
        """
        info = self.table(table)
        txn = self.begin_write()
        for doc in docs:
            txn.insert_exported(info, doc)
        return txn
