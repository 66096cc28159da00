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

Cluster mode (:meth:`Committer.join_cluster`, PostgreSQL only): the commit log of
:mod:`reactor.persistence.commit_log` orders the commits of every node. Persisting a batch
appends it there (``write_logged``); the log checks each commit's read set (kept on the
:class:`Commit` until then) against the written keys of other nodes' commits after the
log position the node had applied when it staged the commit, and refuses the first
conflicting commit and every later one of the batch. The refused commits and those staged
after them are then re-validated locally (:meth:`Committer._revalidate`): a commit fails
with the :class:`WriteConflict` the executor retries if it read a foreign commit it had
not applied (the same check) or a key written by a failed commit staged before it (it may
have read that commit's writes); the others stay staged, in order, with their write-log
entries and ``applied`` positions, and go in the next batch (where the log checks them
again). Only the failed commits' entries leave the write log, and the pending chain is
rebuilt without them. The log may give a commit a later ts than the one proposed
(``max(proposed, previous + 1)``): the accepted commits take the log's ts and staged ones
are re-stamped above it. Other nodes' commits are read by position (``follow``) in this
task, woken by a listener thread (NOTIFY, and a poll), and published as one step up to
the last row read: their keys go into the write log and the :class:`PublishedBatch`, so
subscriptions, search and every listener see them as a local batch. A batch that the log
placed after unapplied commits of other nodes is published together with them from the
log, so the published order is the log's order. Each logged commit names the globals it
set; once other nodes' commits are published, ``on_foreign_globals`` hears those names
(the engine applies a schema push on ``schema``). If the rows after ``applied`` were
trimmed, the follower loads every document from one snapshot at the log's head instead
and publishes the difference from its state as one step.

Invariants: commits are published in timestamp order; a commit is published only after
it is durable; if a batch fails to persist, it and every commit staged after it fail (they
may have read its writes), the pending overlay is rebuilt from the published state, and
their globals (the table registry, ...) are written by the next commit instead. A commit
refused by the commit log fails with every later commit that read its writes, and the
pending overlay is rebuilt from the published state plus the accepted and surviving
commits; the failed commits' globals are written by the next surviving commit after them
(or the next commit).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reactor.database.indexes import KEY_MAX, KEY_MIN, IndexSpec, index_keys
from reactor.database.layers import (
    KEYS,
    TABLE,
    VALUE,
    DerivedIndex,
    DocEntry,
    Layer,
    Overlay,
    PublishedState,
    View,
)
from reactor.database.reads import ReadSet
from reactor.database.subscriptions import SubscriptionIndex
from reactor.database.tables import TableRegistry
from reactor.database.transaction import Transaction
from reactor.database.write_log import LogEntry, WriteLog
from reactor.errors import ConflictError, ReactorError
from reactor.persistence import DocumentRecord, Persistence
from reactor.persistence.commit_log import Appended, Check, LoggedCommit, LogRow
from reactor.persistence.errors import StorageUnavailable
from reactor.values import loads

__all__ = [
    "LAYERED_WRITES",
    "ClusterPersistence",
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

T = TypeVar("T")

_LogRead = tuple[list[LogRow], dict[str, DocumentRecord | None], dict[str, int] | None]
"""Commit log rows, the documents they wrote as of the last, and the tables global."""
_Snapshot = tuple[int, int, list[DocumentRecord], dict[str, int]]
"""The log's head (position, ts), every document at it, and the tables global."""

FOLLOW_RETRY = 0.05
"""Seconds before reading the commit log again after a failed read (doubling, up to 2 s)."""


class ClusterPersistence(Protocol):
    """What cluster mode needs of the persistence (:class:`~reactor.persistence.postgres.
    PostgresPersistence`): the commit log (:mod:`reactor.persistence.commit_log`)."""

    def write_logged(
        self,
        node: str,
        batch: Sequence[tuple[LoggedCommit, Sequence[DocumentRecord]]],
        globals_: dict[str, Any] | None = None,
        *,
        applied: int,
        check: Check,
    ) -> Appended: ...

    def follow(self, position: int) -> tuple[list[LogRow], dict[str, DocumentRecord | None]]: ...

    def snapshot(self) -> tuple[int, int, list[DocumentRecord]]: ...

    def get_global(self, key: str) -> Any: ...


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
    # Its write-log entry (re-stamped when the commit log assigns a later ts).
    entry: LogEntry | None = None
    # Cluster mode: what the transaction read (validated against other nodes' commits
    # when the batch is appended to the log) and the log position applied when staged
    # (commits up to it were in the write log it was validated against).
    reads: ReadSet | None = None
    applied: int = 0


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
            table = entry[TABLE]
            counts[table] = counts.get(table, 0) + 1
        else:
            table = old[TABLE]
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
                bucket.append(old[KEYS][i])
            if entry is not None and (old is None or old[KEYS][i] != entry[KEYS][i]):
                bucket.append(entry[KEYS][i])
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
        # Cluster mode (join_cluster): this node's id, the persistence holding the commit
        # log, and the last log position the published state reflects.
        self.cluster: ClusterPersistence | None = None
        self.node = ""
        self.applied = 0
        self._follow_due = False
        self._follow_failing = False
        self.followed = 0  # foreign commits applied
        # Told of every document another node wrote (the creation clock follows them).
        self.on_foreign_document: Callable[[dict[str, Any]], None] | None = None
        # Told, after publishing, the names of the globals other nodes' commits set (a
        # schema push), and after a reload from a snapshot (any global may have changed).
        self.on_foreign_globals: Callable[[frozenset[str]], None] | None = None
        self.resyncs = 0  # reloads from a snapshot after the log was trimmed

    def join_cluster(self, cluster: ClusterPersistence, node: str) -> None:
        """Commit through the cluster commit log as ``node`` (before :meth:`start`)."""
        self.cluster = cluster
        self.node = node

    def follow_soon(self) -> None:
        """Read the commit log for other nodes' commits at the next chance (event loop)."""
        if self.cluster is not None and not self._closed:
            self._follow_due = True
            self._wake.set()

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

    def loaded(self, ts: int, position: int = 0) -> None:
        """The state loaded from persistence is at ``ts`` (before :meth:`start`).

        In cluster mode, ``position`` is the commit log's head read before the documents
        (the loaded documents hold at least every commit up to it).
        """
        self.published_ts = self.latest_ts = ts
        self.applied = position

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
        log_entry = LogEntry(ts, keys, tables)
        self.write_log.append(log_entry)
        if layer is not None:
            self._link(layer)
        else:
            pending = self.pending
            for doc_id, entry, specs in writes:
                pending.put(doc_id, entry, specs)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        globals_ = self.take_globals() if self._globals else {}  # no lock for none
        commit = Commit(ts, writes, keys, future, tables, globals_, layer, log_entry)
        if self.cluster is not None:
            commit.reads = txn.reads
            commit.applied = self.applied
        self._staged.append(commit)
        self._wake.set()
        return commit

    def stage_globals(self) -> Commit:
        """Stage a commit that writes no document, only the globals set so far.

        It goes through the same pipeline as any commit (in cluster mode: into the commit
        log, which names the globals, so other nodes learn of a schema push in order).
        It read nothing, so it never conflicts.
        """
        if self._closed:
            raise ReactorError("the database is closed")
        ts = self._next_ts()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        commit = Commit(ts, [], {}, future, frozenset(), self.take_globals())
        if self.cluster is not None:
            commit.reads = ReadSet()
            commit.applied = self.applied
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
            if self._follow_due:
                self._follow_due = False
                await self._catch_up([])
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
                if self.cluster is None:
                    await self._writer.call(self._persist, batch, globals_)
                else:
                    appended, conflicts = await self._writer.call(
                        self._persist_logged, self.cluster, batch, globals_
                    )
            except BaseException as exc:
                self._in_flight = []
                self._fail(batch, exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            self.batches += 1
            try:
                if self.cluster is None:
                    self._publish(batch)
                else:
                    await self._settle(batch, appended, conflicts)
            finally:
                self._in_flight = []

    def _persist(self, batch: list[Commit], globals_: dict[str, Any]) -> None:
        # In the writer thread: commits do not change once staged.
        self.persistence.write([r for commit in batch for r in _records(commit)], globals_)

    def _persist_logged(
        self, cluster: ClusterPersistence, batch: list[Commit], globals_: dict[str, Any]
    ) -> tuple[Appended, dict[int, LogRow]]:
        """Cluster mode, in the writer thread: validate against other nodes' commits and
        append to the commit log; returns the outcome and, by index in ``batch``, the
        first foreign commit each conflicting commit of the batch overlaps."""
        logged: list[tuple[LoggedCommit, list[DocumentRecord]]] = []
        for commit in batch:
            ids = tuple(doc_id for doc_id, _, _ in commit.writes)
            names = tuple(commit.globals_)
            logged.append(
                (LoggedCommit(commit.ts, commit.keys, commit.tables, ids, names), _records(commit))
            )
        conflicts: dict[int, LogRow] = {}

        def check(foreign: Sequence[LogRow]) -> int:
            # A foreign commit at or below the position a commit was staged at was in the
            # write log it was validated against; later ones it cannot have seen. Every
            # commit is checked (not only up to the first conflict): the later conflicting
            # ones fail now instead of being refused again in the next batch.
            conflicts.clear()  # the append may be attempted twice
            for i, commit in enumerate(batch):
                reads = commit.reads
                if reads is None:
                    continue
                for row in foreign:
                    if row.position > commit.applied and reads.overlaps(row.keys) is not None:
                        conflicts[i] = row
                        break
            return min(conflicts, default=len(batch))

        applied = min(commit.applied for commit in batch)
        appended = cluster.write_logged(self.node, logged, globals_, applied=applied, check=check)
        return appended, conflicts

    async def _settle(
        self, batch: list[Commit], appended: Appended, conflicts: dict[int, LogRow]
    ) -> None:
        """Cluster mode: publish a batch's accepted commits at the log's timestamps, in log
        order; fail the refused commits that conflict and keep the others staged (event
        loop)."""
        accepted, refused = batch[: appended.accepted], batch[appended.accepted :]
        failed: list[tuple[Commit, WriteConflict]] = []
        if refused:
            failed = self._revalidate(refused, appended.accepted, conflicts)
            # Mutations read the pending chain (also while the log is read below): it
            # holds the accepted commits and the survivors, no failed commit.
            self._rebuild_pending([*accepted, *self._staged])
        for commit, ts in zip(accepted, appended.ts, strict=True):
            commit.ts = ts
            commit.reads = None  # validated for good
            if commit.entry is not None:
                commit.entry.ts = ts
        if accepted:
            self._restamp_staged(accepted[-1].ts)
        behind = any(row.position > self.applied for row in appended.foreign)
        if accepted and not behind and appended.positions[0] == self.applied + 1:
            self.applied = appended.positions[-1]
            self._publish(accepted)
        elif accepted or behind:
            # Commits of other nodes come first in the log: publish up to ours from it.
            await self._catch_up(accepted)
        for commit, error in failed:
            if not commit.future.done():
                commit.future.set_exception(error)
                commit.future.exception()
        if self._staged:
            self._wake.set()  # the survivors go in the next batch

    def _revalidate(
        self, refused: list[Commit], offset: int, conflicts: dict[int, LogRow]
    ) -> list[tuple[Commit, WriteConflict]]:
        """Split the refused commits and those staged after them into the failed ones and
        the survivors, which stay staged in order (event loop, before publishing).

        A commit fails if it read a foreign commit it had not applied (``conflicts``, by
        index in the batch, found by the log's check), or a key written by a failed commit
        staged before it (it may have read that commit's writes). The others did not
        depend on any failed commit: they keep their timestamps (re-stamped later), their
        ``applied`` positions (the log checks them against the foreign commits after it
        again) and their write-log entries.
        """
        survivors: list[Commit] = []
        failed: list[tuple[Commit, WriteConflict]] = []
        gone: list[Commit] = []
        # Globals of failed commits ride on the next survivor (written in its place in the
        # order; a later survivor's newer value wins), or go back to the next commit.
        carried: dict[str, Any] = {}
        for i, commit in enumerate([*refused, *self._staged]):
            row = conflicts.get(offset + i) if i < len(refused) else None
            error: WriteConflict | None = None
            if row is not None:
                error = WriteConflict(row.tables, row.ts)
            elif gone:
                reads = commit.reads
                assert reads is not None  # cluster mode keeps it until accepted
                for other in gone:
                    if reads.overlaps(other.keys) is not None:
                        error = WriteConflict(other.tables, other.ts)
                        break
            if error is None:
                if carried:
                    commit.globals_ = {**carried, **commit.globals_}
                    carried = {}
                survivors.append(commit)
            else:
                carried.update(commit.globals_)
                gone.append(commit)
                failed.append((commit, error))
        self._staged = survivors
        self.write_log.discard([c.entry for c in gone if c.entry is not None])
        if carried:
            with self._globals_lock:
                self._globals = {**carried, **self._globals}
        return failed

    def _restamp_staged(self, floor: int) -> None:
        """Keep the staged commits' timestamps above ``floor`` (the log's latest)."""
        previous = floor
        for commit in self._staged:
            if commit.ts <= previous:
                commit.ts = previous + 1
                if commit.entry is not None:
                    commit.entry.ts = commit.ts
            previous = commit.ts
        self.latest_ts = max(self.latest_ts, previous)

    async def _catch_up(self, own: list[Commit]) -> None:
        """Apply the commit log after :attr:`applied`: other nodes' commits and ``own``
        (this node's commits already in the log, published with them).

        A failed read is left to the next wake-up (the listener polls), unless ``own``
        commits wait for it: they are durable, so the read is retried until it succeeds
        or the database closes (then they fail: their outcome is the log's).
        """
        cluster = self.cluster
        assert cluster is not None
        delay = FOLLOW_RETRY
        while True:
            try:
                read, snapshot = await self._writer.call(self._read_log, cluster, self.applied)
            except Exception as exc:
                if not self._follow_failing:
                    logger.warning("could not read the commit log: %s", exc)
                    self._follow_failing = True
                if not own:
                    return
                if self._closed:
                    error = StorageUnavailable(
                        "the commit is in the commit log but this node could not read it "
                        f"back before closing: {exc}"
                    )
                    for commit in own:
                        if not commit.future.done():
                            commit.future.set_exception(error)
                            commit.future.exception()
                    return
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
                continue
            break
        if self._follow_failing:
            logger.warning("reading the commit log again")
            self._follow_failing = False
        numbers: dict[str, int] | None
        if snapshot is not None:
            position, ts, records, numbers = snapshot
            self.register_tables(numbers)
            rows, docs = self._snapshot_step(position, ts, records)
            self.resyncs += 1
        else:
            assert read is not None
            rows, docs, numbers = read
        if rows:
            self._apply_log(rows, docs, numbers, own)

    def _read_log(
        self, cluster: ClusterPersistence, position: int
    ) -> tuple[_LogRead | None, _Snapshot | None]:
        """In the writer thread: the log after ``position`` and what it needs, or, if
        the rows this node still needs were trimmed (it was dropped from the node
        registry as stale), a snapshot of every document to reload instead."""
        try:
            rows, docs = cluster.follow(position)
        except LookupError as exc:
            logger.warning("%s; reloading every document", exc)
            return None, self._read_snapshot(cluster)
        numbers: dict[str, int] | None = None
        tables = self.tables
        if any(r is not None and r.table not in tables for r in docs.values()):
            numbers = dict(cluster.get_global("tables") or {})  # another node made a table
        return (rows, docs, numbers), None

    def _read_snapshot(self, cluster: ClusterPersistence) -> _Snapshot:
        """In the writer thread: the log's head and every document at it."""
        position, ts, records = cluster.snapshot()
        return position, ts, records, dict(cluster.get_global("tables") or {})

    def _snapshot_step(
        self, position: int, ts: int, records: list[DocumentRecord]
    ) -> tuple[list[LogRow], dict[str, DocumentRecord | None]]:
        """A snapshot as one log step over the published state (event loop).

        The step holds each document whose stored value differs from the published one
        (None: gone from the database) and names the globals, so listeners re-read them.
        """
        stored = {record.id: record for record in records}
        view = self.published.top
        docs: dict[str, DocumentRecord | None] = {}
        for info in self.tables.all():
            for _, doc_id in view.scan(info.by_id.id, KEY_MIN, KEY_MAX, False):
                if doc_id not in stored:
                    docs[doc_id] = None
        for doc_id, record in stored.items():
            current = view.get(doc_id)
            if current is None or current[VALUE] != record.value:
                docs[doc_id] = record
        step = LogRow(position, ts, "", {}, frozenset(), tuple(docs), ("schema", "tables"))
        return [step], docs

    def _apply_log(
        self,
        rows: list[LogRow],
        docs: dict[str, DocumentRecord | None],
        numbers: dict[str, int] | None,
        own: list[Commit],
    ) -> None:
        """Publish the state at the last of ``rows`` (the documents, as of it)."""
        registry = self.tables
        self.register_tables(numbers or {})
        written: list[tuple[str, DocEntry | None]] = []
        for doc_id, record in docs.items():
            if record is None or record.value is None:
                written.append((doc_id, None))
                continue
            info = registry.get(record.table)
            if info is None:
                logger.error("commit log: document %s of unknown table %r", doc_id, record.table)
                continue
            doc = loads(record.value)
            doc_keys = index_keys(info.specs, doc)
            written.append((doc_id, (info.name, record.value, doc_keys)))
            if self.on_foreign_document is not None:
                self.on_foreign_document(doc)
        writes, keys, tables, _ = commit_writes(written, self.published.top, registry, self.derived)
        last = rows[-1]
        foreign = sum(1 for row in rows if row.node != self.node)
        self.followed += foreign
        self.applied = last.position
        self._restamp_staged(last.ts)
        if keys or tables:
            self.write_log.insert(LogEntry(last.ts, keys, tables))
        if writes:
            self.published.publish(writes)
        self._announce(max(self.published_ts, last.ts), len(rows), set(tables), keys)
        for commit in own:
            if not commit.future.done():
                commit.future.set_result(commit.ts)
        names = frozenset(name for row in rows if row.node != self.node for name in row.globals)
        if names and self.on_foreign_globals is not None:
            try:
                self.on_foreign_globals(names)
            except Exception:  # a broken listener must not stop following
                logger.exception("foreign globals listener failed")

    def register_tables(self, numbers: dict[str, int]) -> None:
        """Know the tables other nodes created (``numbers``: the ``tables`` global)."""
        registry = self.tables
        for name, number in numbers.items():
            if name not in registry and registry.by_number(number) is None:
                registry.add(name, number)

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
        self._announce(batch[-1].ts, len(batch), tables, written)
        for commit in batch:
            if not commit.future.done():
                commit.future.set_result(commit.ts)

    def _announce(
        self, ts: int, commits: int, tables: set[str], written: dict[str, list[bytes]]
    ) -> None:
        """The published state is now at ``ts``: tell the listeners and the waiters."""
        self.published_ts = ts
        # The pending chain now only needs the commits staged after this batch.
        self._rebuild_pending(self._staged)
        affected = self.subscriptions.affected(written)
        event = PublishedBatch(ts, commits, frozenset(tables), written, affected)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop commits
                logger.exception("publish listener %r failed", listener)
        self._wake_waiters(ts)

    def _fail(self, batch: list[Commit], exc: BaseException) -> None:
        failed = batch + self._staged
        self._staged = []
        self.write_log.discard_after(self.published_ts)
        self._rebuild_pending([])
        self._restore_globals(failed)
        # Storage failures keep their kind (DiskFull, StorageUnavailable, LeaseLost) so
        # clients see a stable code naming the cause.
        kind = type(exc) if isinstance(exc, StorageUnavailable) else ReactorError
        error = kind(f"commit failed to persist: {exc}")
        for commit in failed:
            if not commit.future.done():
                commit.future.set_exception(error)
                # Mark retrieved so an abandoned future does not log "never retrieved".
                commit.future.exception()

    def _restore_globals(self, failed: list[Commit]) -> None:
        # Globals describe memory a failed commit does not roll back (a table it created
        # stays registered, a signing key stays in use), so the next commit stores them;
        # values set since then are newer and win.
        restored: dict[str, Any] = {}
        for commit in failed:
            restored.update(commit.globals_)
        with self._globals_lock:
            self._globals = {**restored, **self._globals}

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


def _records(commit: Commit) -> list[DocumentRecord]:
    """The rows a commit stores (a deleted document: no table, no value)."""
    ts = commit.ts
    return [
        DocumentRecord("", doc_id, ts, None)
        if entry is None
        else DocumentRecord(entry[TABLE], doc_id, ts, entry[VALUE])
        for doc_id, entry, _ in commit.writes
    ]


class _WriterThread:
    """One long-lived thread for persistence writes (cheaper than a pool hop per batch)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None]
        self._queue = queue.SimpleQueue()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._work, name="reactor-writer", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((functools.partial(fn, *args), future))
        return await future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future = item
            try:
                result = fn()
            except BaseException as exc:
                self._loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                self._loop.call_soon_threadsafe(_set_result, future, result)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
