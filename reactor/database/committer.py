"""The committer: validates transactions, orders them, and makes them durable in groups.

One committer per database. Committing a transaction happens in two steps:

1. **Stage** (synchronous, on the event loop): check the read set against every write-log
   entry after the transaction's snapshot (optimistic concurrency control); on success
   assign the next commit timestamp (strictly increasing nanoseconds), append the commit's
   index keys to the write log and apply its writes to the *pending* overlay, so the next
   mutation already reads them instead of conflicting with them.
2. **Persist and publish** (the batch task): take every staged commit, write them in one
   durable persistence transaction (group commit, in a worker thread), then make them the
   newest published state in timestamp order (:meth:`PublishedState.publish
   <reactor.database.layers.PublishedState.publish>`: in the base, or as a new layer
   while readers in worker threads hold older versions; never waiting for them), advance
   the published timestamp, and tell listeners which subscriptions the batch's keys
   invalidate.

A transaction read either the latest staged state (a mutation on the event loop) or a
leased published view (a mutation moved to a worker thread); either way its snapshot
timestamp covers what it read, and the write log holds every commit after it, staged or
published, so validation is the same.

A commit that wrote many documents (:data:`LAYERED_WRITES` or more, from a mutation run in
a worker thread) is prepared where it ran (:meth:`Committer.prepare`): its index keys are
computed and its transaction's overlay becomes a :class:`~reactor.database.layers.Layer`
there, against the snapshot it read. Validation then makes that exact: the transaction
read every document it changes, so none of them changed since its snapshot. Staging it
links the layer into the pending chain, publishing pushes the same layer into the
published state, and its records are built in the writer thread, so the event loop does
O(1) work per big commit instead of O(documents).

Invariants: commits are published in timestamp order; a commit is published only after
it is durable; if a batch fails to persist, it and every commit staged after it fail (they
may have read its writes), the pending overlay is rebuilt from the published state, and
their globals (the table registry, ...) are written by the next commit instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reactor.database.indexes import IndexSpec
from reactor.database.layers import DerivedIndex, DocEntry, Layer, Overlay, PublishedState, View
from reactor.database.subscriptions import SubscriptionIndex
from reactor.database.tables import TableRegistry
from reactor.database.transaction import Transaction
from reactor.database.write_log import LogEntry, WriteLog
from reactor.errors import ConflictError, ReactorError
from reactor.persistence import DocumentRecord, Persistence
from reactor.persistence.errors import StorageUnavailable

__all__ = [
    "LAYERED_WRITES",
    "Commit",
    "Committer",
    "PreparedCommit",
    "PublishListener",
    "PublishedBatch",
    "WriteConflict",
]

logger = logging.getLogger("reactor.committer")

LAYERED_WRITES = 500
"""Documents written from which a commit is prepared off the event loop as a layer."""

Write = tuple[str, DocEntry | None, tuple[IndexSpec, ...]]


class WriteConflict(ConflictError):
    """One optimistic-concurrency conflict (retried by the executor)."""

    def __init__(self, tables: frozenset[str], write_ts: int) -> None:
        names = ", ".join(sorted(tables)) or "?"
        super().__init__(
            f"documents read from table(s) {names} were changed by a concurrent commit "
            f"(ts {write_ts}) while this mutation ran"
        )
        self.tables = tables
        self.write_ts = write_ts


@dataclass(slots=True)
class Commit:
    """A validated, timestamped transaction awaiting durability."""

    ts: int
    writes: list[Write]
    keys: dict[str, list[bytes]]
    future: asyncio.Future[int]
    tables: frozenset[str] = frozenset()
    globals_: dict[str, Any] = field(default_factory=dict)
    # The commit's writes as one layer (a big commit, see PreparedCommit), or None.
    layer: Layer | None = None


@dataclass(frozen=True, slots=True)
class PreparedCommit:
    """A big transaction's writes, keys and layer, computed against its snapshot."""

    writes: list[Write]
    keys: dict[str, list[bytes]]
    tables: frozenset[str]
    layer: Layer


@dataclass(frozen=True, slots=True)
class PublishedBatch:
    """What one published batch changed, told to every publish listener.

    ``ts`` is the new published timestamp (the batch's last commit), ``commits`` how many
    commits the batch held, ``tables`` the tables they wrote, ``written`` the index keys
    (old and new versions, search keys included) per index id, and ``affected`` the
    subscription owners those keys invalidate.
    """

    ts: int
    commits: int
    tables: frozenset[str]
    written: dict[str, list[bytes]]
    affected: set[Any]


PublishListener = Callable[[PublishedBatch], None]


def commit_writes(
    written: list[tuple[str, DocEntry | None]],
    before: View,
    tables: TableRegistry,
    derived: list[DerivedIndex],
) -> tuple[list[Write], dict[str, list[bytes]], frozenset[str], dict[str, int]]:
    """A transaction's writes as the committer stores them, against the versions ``before``.

    Returns the writes ``(id, entry, specs)`` (an insert deleted again by the same
    transaction is left out), the index keys they touch (old and new versions, derived
    indexes included) per index id, the tables written, and how many documents each
    table gains (negative for deletes).
    """
    keys: dict[str, list[bytes]] = {}
    writes: list[Write] = []
    names: set[str] = set()
    counts: dict[str, int] = {}
    for doc_id, entry in written:
        old = before.get(doc_id)
        if old is None:
            if entry is None:
                continue  # inserted and deleted by the same transaction
            table = entry.table
            counts[table] = counts.get(table, 0) + 1
        else:
            table = old.table
            if entry is None:
                counts[table] = counts.get(table, 0) - 1
        specs = tables.table(table).specs
        names.add(table)
        writes.append((doc_id, entry, specs))
        for i, spec in enumerate(specs):
            bucket = keys.get(spec.id)
            if bucket is None:
                bucket = keys[spec.id] = []
            if old is not None:
                bucket.append(old.keys[i])
            if entry is not None and (old is None or old.keys[i] != entry.keys[i]):
                bucket.append(entry.keys[i])
        for index in derived:
            index.write_keys(table, old, entry, keys)
    return writes, keys, frozenset(names), counts


class Committer:
    """Stages, persists and publishes commits: owns the pipeline of one database.

    It holds the write log, the pending overlay, the latest staged and the published
    timestamps, and the globals to persist with the next commit; the database reads
    them through it.
    """

    def __init__(
        self,
        persistence: Persistence,
        tables: TableRegistry,
        published: PublishedState,
        subscriptions: SubscriptionIndex,
    ) -> None:
        self.persistence = persistence
        self.tables = tables
        self.published = published
        self.subscriptions = subscriptions
        self.write_log = WriteLog()
        # The pending chain: overlays (small commits' writes) and big commits' layers,
        # bottom one over the published top; new small commits go into the top overlay.
        self.pending = Overlay(published.top)
        self._pending_bottom: Overlay = self.pending
        self._chained = False  # a layer is linked in below the top overlay
        self.latest_ts = 0
        self.published_ts = 0
        # Indexes derived from documents (search): each adds its keys to a commit's.
        self.derived: list[DerivedIndex] = []
        self.listeners: list[PublishListener] = []
        self.layered_writes = LAYERED_WRITES
        self._globals: dict[str, Any] = {}
        self._globals_lock = threading.Lock()  # functions in worker threads set globals
        self._staged: list[Commit] = []
        self._in_flight: list[Commit] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._closed = False
        self.batches = 0

    def start(self) -> None:
        self._writer = _WriterThread()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reactor-committer")

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._writer.stop()

    # -- state -----------------------------------------------------------------------

    def idle(self) -> bool:
        """Whether no commit is staged, persisting or awaiting publication."""
        return not self._staged and not self._in_flight and not self.pending and not self._chained

    def set_global(self, name: str, value: Any) -> None:
        """Persist global ``name`` with the next commit (any thread)."""
        with self._globals_lock:
            self._globals[name] = value

    def has_globals(self) -> bool:
        return bool(self._globals)

    def take_globals(self) -> dict[str, Any]:
        with self._globals_lock:
            taken, self._globals = self._globals, {}
        return taken

    def loaded(self, ts: int) -> None:
        """The state loaded from persistence is at ``ts`` (before :meth:`start`)."""
        self.published_ts = self.latest_ts = ts

    def reset_pending(self) -> None:
        """Rebuild the pending overlay over the published top (nothing staged)."""
        self._rebuild_pending([])

    def _rebuild_pending(self, staged: list[Commit]) -> None:
        self.pending = self._pending_bottom = Overlay(self.published.top)
        self._chained = False
        for commit in staged:
            if commit.layer is not None:
                self._link(commit.layer)
            else:
                pending = self.pending
                for doc_id, entry, specs in commit.writes:
                    pending.put(doc_id, entry, specs)

    # -- staging ---------------------------------------------------------------------

    def _next_ts(self) -> int:
        ts = max(self.latest_ts + 1, time.time_ns())
        self.latest_ts = ts
        return ts

    def prepare(self, txn: Transaction) -> PreparedCommit | None:
        """Prepare a finished transaction's commit where it ran (any thread).

        For a transaction that wrote :attr:`layered_writes` documents or more (default
        :data:`LAYERED_WRITES`), from a leased view; None for smaller ones (staging them
        on the event loop is cheap).
        The transaction's overlay becomes the commit's layer: use the transaction no more.
        """
        overlay = txn.overlay
        if overlay is None or len(overlay.docs) < self.layered_writes:
            return None
        writes, keys, tables, counts = commit_writes(
            txn.written(), txn.base_view, self.tables, self.derived
        )
        return PreparedCommit(writes, keys, tables, Layer.from_overlay(overlay, writes, counts))

    def stage(self, txn: Transaction, prepared: PreparedCommit | None = None) -> Commit | None:
        """Validate and order ``txn``; None if it wrote nothing.

        ``prepared`` is :meth:`prepare`'s result for ``txn``, if it gave one.
        """
        if self._closed:
            raise ReactorError("the database is closed")
        conflict: LogEntry | None = self.write_log.first_conflict(txn.reads, txn.snapshot_ts)
        if conflict is not None:
            raise WriteConflict(conflict.tables, conflict.ts)
        layer: Layer | None = None
        if prepared is not None:
            # Computed against the transaction's snapshot, which validation just showed
            # to hold the latest staged version of every document it changes (it read
            # each one; an insert's id is new).
            writes, keys, tables = prepared.writes, prepared.keys, prepared.tables
            layer = prepared.layer
        else:
            written = txn.written()
            if not written and not self._globals:
                return None
            # Against the latest staged versions (the transaction may have read an older
            # snapshot; it read every document it changes, and validation just showed
            # that none of them changed since).
            writes, keys, tables, _ = commit_writes(
                written, self.pending, self.tables, self.derived
            )
        ts = self._next_ts()
        self.write_log.append(LogEntry(ts, keys, tables))
        if layer is not None:
            self._link(layer)
        else:
            pending = self.pending
            for doc_id, entry, specs in writes:
                pending.put(doc_id, entry, specs)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        globals_ = self.take_globals() if self._globals else {}  # no lock for none
        commit = Commit(ts, writes, keys, future, tables, globals_, layer)
        self._staged.append(commit)
        self._wake.set()
        return commit

    def _link(self, layer: Layer) -> None:
        """Put a big commit's layer on top of the pending chain (event loop)."""
        top = self.pending
        if top:
            layer.parent = top
        else:  # an empty overlay adds nothing to read through
            layer.parent = top.parent
            if self._pending_bottom is top:
                self._pending_bottom = layer
        self.pending = Overlay(layer)
        self._chained = True

    @property
    def staged_view(self) -> View:
        """The published state plus every staged commit (what mutations on the loop read)."""
        return self.pending if self.pending or self._chained else self.published.top

    def rebase_pending(self, view: View) -> None:
        """Read the pending chain over ``view``, which shows the same documents as the
        published top it reads now (after a fold)."""
        self._pending_bottom.parent = view

    async def commit(self, txn: Transaction, prepared: PreparedCommit | None = None) -> int:
        """Stage ``txn`` and wait until it is durable and published; returns its ts."""
        commit = self.stage(txn, prepared)
        if commit is None:
            return txn.snapshot_ts
        return await commit.future

    # -- persisting and publishing ---------------------------------------------------------

    async def _run(self) -> None:
        while True:
            # Check before waiting: close() may have set the wake flag while this task
            # was already woken for a staged batch, and that wake-up absorbed it.
            if self._closed and not self._staged:
                return
            await self._wake.wait()
            self._wake.clear()
            if not self._staged:
                continue
            batch, self._staged = self._staged, []
            self._in_flight = batch
            globals_: dict[str, Any] = {}
            for commit in batch:
                globals_.update(commit.globals_)
            if not any(entry is not None for _, entry, _ in batch[-1].writes):
                # Load recovers the latest timestamp from the documents' rows; only a
                # batch whose last commit stored no row needs to record it separately.
                globals_["ts"] = batch[-1].ts
            try:
                await self._writer.call(self._persist, batch, globals_)
            except BaseException as exc:
                self._fail(batch, exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            finally:
                self._in_flight = []
            self.batches += 1
            self._publish(batch)

    def _persist(self, batch: list[Commit], globals_: dict[str, Any]) -> None:
        # In the writer thread: commits do not change once staged.
        records: list[DocumentRecord] = []
        for commit in batch:
            ts = commit.ts
            for doc_id, entry, _ in commit.writes:
                if entry is None:
                    records.append(DocumentRecord("", doc_id, ts, None))
                else:
                    records.append(DocumentRecord(entry.table, doc_id, ts, entry.value))
        self.persistence.write(records, globals_)

    def _publish(self, batch: list[Commit]) -> None:
        published = self.published
        small: list[Write] = []
        for commit in batch:  # in timestamp order; big commits bring their own layer
            if commit.layer is None:
                small.extend(commit.writes)
                continue
            if small:
                published.publish(small)
                small = []
            published.push(commit.layer)
        if small:
            published.publish(small)
        written: dict[str, list[bytes]] = {}
        tables: set[str] = set()
        for commit in batch:
            tables |= commit.tables
            for index_id, keys in commit.keys.items():
                bucket = written.get(index_id)
                if bucket is None:
                    written[index_id] = list(keys)
                else:
                    bucket.extend(keys)
        ts = batch[-1].ts
        self.published_ts = ts
        # The pending chain now only needs the commits staged after this batch.
        self._rebuild_pending(self._staged)
        affected = self.subscriptions.affected(written)
        event = PublishedBatch(ts, len(batch), frozenset(tables), written, affected)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop commits
                logger.exception("publish listener %r failed", listener)
        for commit in batch:
            if not commit.future.done():
                commit.future.set_result(commit.ts)
        self._wake_waiters(ts)

    def _fail(self, batch: list[Commit], exc: BaseException) -> None:
        failed = batch + self._staged
        self._staged = []
        self.write_log.discard_after(self.published_ts)
        self._rebuild_pending([])
        # Globals describe memory a failed commit does not roll back (a table it created
        # stays registered, a signing key stays in use), so the next commit stores them;
        # values set since then are newer and win.
        restored: dict[str, Any] = {}
        for commit in failed:
            restored.update(commit.globals_)
        with self._globals_lock:
            self._globals = {**restored, **self._globals}
        # Storage failures keep their kind (DiskFull, StorageUnavailable, LeaseLost) so
        # clients see a stable code naming the cause.
        kind = type(exc) if isinstance(exc, StorageUnavailable) else ReactorError
        error = kind(f"commit failed to persist: {exc}")
        for commit in failed:
            if not commit.future.done():
                commit.future.set_exception(error)
                # Mark retrieved so an abandoned future does not log "never retrieved".
                commit.future.exception()

    # -- waiting -------------------------------------------------------------------------

    async def wait_published(self, ts: int) -> None:
        """Return once the published timestamp is at least ``ts``."""
        if self.published_ts >= ts:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((ts, future))
        await future

    def _wake_waiters(self, ts: int) -> None:
        if not self._waiters:
            return
        keep = []
        for wanted, future in self._waiters:
            if wanted <= ts:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((wanted, future))
        self._waiters = keep


class _WriterThread:
    """One long-lived thread for persistence writes (cheaper than a pool hop per batch)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], None], asyncio.Future[None]] | None]
        self._queue = queue.SimpleQueue()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._work, name="reactor-writer", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., None], *args: Any) -> None:
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((functools.partial(fn, *args), future))
        await future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future = item
            try:
                fn()
            except BaseException as exc:
                self._loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                self._loop.call_soon_threadsafe(_set_result, future)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _set_result(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _set_exception(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
