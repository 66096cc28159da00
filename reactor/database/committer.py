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
from typing import TYPE_CHECKING, Any

from reactor.database.indexes import IndexSpec
from reactor.database.layers import DocEntry, Overlay
from reactor.database.write_log import LogEntry
from reactor.errors import ConflictError, ReactorError
from reactor.persistence import DocumentRecord
from reactor.persistence.errors import StorageUnavailable

if TYPE_CHECKING:
    from reactor.database.database import Database
    from reactor.database.transaction import Transaction

__all__ = ["Commit", "Committer", "WriteConflict"]

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
    globals_: dict[str, Any] = field(default_factory=dict)


PublishListener = Callable[[int, set[Any]], None]


class Committer:
    """Stages, persists and publishes commits for one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
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

    # -- staging ---------------------------------------------------------------------

    def _next_ts(self) -> int:
        db = self.db
        ts = max(db.latest_ts + 1, time.time_ns())
        db.latest_ts = ts
        return ts

    def stage(self, txn: Transaction) -> Commit | None:
        """Validate and order ``txn``; None if it wrote nothing."""
        db = self.db
        if self._closed:
            raise ReactorError("the database is closed")
        conflict: LogEntry | None = db.write_log.first_conflict(txn.reads, txn.snapshot_ts)
        if conflict is not None:
            raise WriteConflict(conflict.tables, conflict.ts)
        written = txn.written()
        if not written and not db.dirty_globals:
            return None
        # The latest staged version of each written document (the transaction may have
        # read an older snapshot; it read every document it changes, and validation just
        # showed that none of them changed since).
        before = db.pending
        ts = self._next_ts()
        keys: dict[str, list[bytes]] = {}
        writes: list[tuple[str, DocEntry | None, tuple[IndexSpec, ...]]] = []
        tables: set[str] = set()
        for doc_id, entry in written:
            old = before.get(doc_id)
            if old is None and entry is None:
                continue  # inserted and deleted by the same transaction
            table = entry.table if entry is not None else old.table  # type: ignore[union-attr]
            specs = db.table(table).specs
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
            db.search.write_keys(table, old, entry, keys)
        db.write_log.append(LogEntry(ts, keys, frozenset(tables)))
        pending = db.pending
        for doc_id, entry, specs in writes:
            pending.put(doc_id, entry, specs)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        commit = Commit(ts, writes, keys, future, db.take_dirty_globals())
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
                await self._writer.call(self.db.persistence.write, records, globals_)
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
        db = self.db
        db.published.publish(w for commit in batch for w in commit.writes)
        written: dict[str, list[bytes]] = {}
        for commit in batch:
            for index_id, keys in commit.keys.items():
                bucket = written.get(index_id)
                if bucket is None:
                    written[index_id] = list(keys)
                else:
                    bucket.extend(keys)
        ts = batch[-1].ts
        db.published_ts = ts
        # The pending overlay now only needs the commits staged after this batch.
        pending = Overlay(db.published.top)
        for commit in self._staged:
            for doc_id, entry, specs in commit.writes:
                pending.put(doc_id, entry, specs)
        db.pending = pending
        affected = db.subscriptions.affected(written)
        for listener in list(db.publish_listeners):
            try:
                listener(ts, affected)
            except Exception:  # a broken listener must not stop commits
                logger.exception("publish listener %r failed", listener)
        for commit in batch:
            if not commit.future.done():
                commit.future.set_result(commit.ts)
        self._wake_waiters(ts)

    def _fail(self, batch: list[Commit], exc: BaseException) -> None:
        db = self.db
        failed = batch + self._staged
        self._staged = []
        db.write_log.discard_after(db.published_ts)
        db.pending = Overlay(db.published.top)
        # Globals describe memory a failed commit does not roll back (a table it created
        # stays registered, a signing key stays in use), so the next commit stores them;
        # values set since then are newer and win.
        restored: dict[str, Any] = {}
        for commit in failed:
            restored.update(commit.globals_)
        with db.shared_lock:
            db.dirty_globals = {**restored, **db.dirty_globals}
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
        if self.db.published_ts >= ts:
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
