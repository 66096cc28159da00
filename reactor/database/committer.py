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
from reactor.database.layers import DerivedIndex, DocEntry, Overlay, PublishedState
from reactor.database.subscriptions import SubscriptionIndex
from reactor.database.tables import TableRegistry
from reactor.database.transaction import Transaction
from reactor.database.write_log import LogEntry, WriteLog
from reactor.errors import ConflictError, ReactorError
from reactor.persistence import DocumentRecord, Persistence
from reactor.persistence.errors import StorageUnavailable

__all__ = ["Commit", "Committer", "PublishListener", "PublishedBatch", "WriteConflict"]

logger = logging.getLogger("reactor.committer")


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
    writes: list[tuple[str, DocEntry | None, tuple[IndexSpec, ...]]]
    keys: dict[str, list[bytes]]
    future: asyncio.Future[int]
    tables: frozenset[str] = frozenset()
    globals_: dict[str, Any] = field(default_factory=dict)


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
        self.pending = Overlay(published.top)
        self.latest_ts = 0
        self.published_ts = 0
        # Indexes derived from documents (search): each adds its keys to a commit's.
        self.derived: list[DerivedIndex] = []
        self.listeners: list[PublishListener] = []
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
        return not self.pending and not self._staged and not self._in_flight

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
        self.pending = Overlay(self.published.top)

    # -- staging ---------------------------------------------------------------------

    def _next_ts(self) -> int:
        ts = max(self.latest_ts + 1, time.time_ns())
        self.latest_ts = ts
        return ts

    def stage(self, txn: Transaction) -> Commit | None:
        """Validate and order ``txn``; None if it wrote nothing."""
        if self._closed:
            raise ReactorError("the database is closed")
        conflict: LogEntry | None = self.write_log.first_conflict(txn.reads, txn.snapshot_ts)
        if conflict is not None:
            raise WriteConflict(conflict.tables, conflict.ts)
        written = txn.written()
        if not written and not self._globals:
            return None
        # The latest staged version of each written document (the transaction may have
        # read an older snapshot; it read every document it changes, and validation just
        # showed that none of them changed since).
        before = self.pending
        ts = self._next_ts()
        keys: dict[str, list[bytes]] = {}
        writes: list[tuple[str, DocEntry | None, tuple[IndexSpec, ...]]] = []
        tables: set[str] = set()
        for doc_id, entry in written:
            old = before.get(doc_id)
            if old is None and entry is None:
                continue  # inserted and deleted by the same transaction
            table = entry.table if entry is not None else old.table  # type: ignore[union-attr]
            specs = self.tables.table(table).specs
            tables.add(table)
            writes.append((doc_id, entry, specs))
            for i, spec in enumerate(specs):
                bucket = keys.get(spec.id)
                if bucket is None:
                    bucket = keys[spec.id] = []
                if old is not None:
                    bucket.append(old.keys[i])
                if entry is not None and (old is None or old.keys[i] != entry.keys[i]):
                    bucket.append(entry.keys[i])
            for derived in self.derived:
                derived.write_keys(table, old, entry, keys)
        frozen = frozenset(tables)
        self.write_log.append(LogEntry(ts, keys, frozen))
        pending = self.pending
        for doc_id, entry, specs in writes:
            pending.put(doc_id, entry, specs)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        globals_ = self.take_globals() if self._globals else {}  # no lock for none
        commit = Commit(ts, writes, keys, future, frozen, globals_)
        self._staged.append(commit)
        self._wake.set()
        return commit

    async def commit(self, txn: Transaction) -> int:
        """Stage ``txn`` and wait until it is durable and published; returns its ts."""
        commit = self.stage(txn)
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
            records: list[DocumentRecord] = []
            globals_: dict[str, Any] = {}
            for commit in batch:
                for doc_id, entry, _ in commit.writes:
                    value = entry.value if entry is not None else None
                    table = entry.table if entry is not None else ""
                    records.append(DocumentRecord(table, doc_id, commit.ts, value))
                globals_.update(commit.globals_)
            if not any(entry is not None for _, entry, _ in batch[-1].writes):
                # Load recovers the latest timestamp from the documents' rows; only a
                # batch whose last commit stored no row needs to record it separately.
                globals_["ts"] = batch[-1].ts
            try:
                await self._writer.call(self.persistence.write, records, globals_)
            except BaseException as exc:
                self._fail(batch, exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            finally:
                self._in_flight = []
            self.batches += 1
            self._publish(batch)

    def _publish(self, batch: list[Commit]) -> None:
        self.published.publish(w for commit in batch for w in commit.writes)
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
        # The pending overlay now only needs the commits staged after this batch.
        pending = Overlay(self.published.top)
        for commit in self._staged:
            for doc_id, entry, specs in commit.writes:
                pending.put(doc_id, entry, specs)
        self.pending = pending
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
        self.pending = Overlay(self.published.top)
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
