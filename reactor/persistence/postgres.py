"""PostgreSQL persistence, for deployments that outgrow one machine's SQLite file.

Same shape as the SQLite backend: latest document versions plus globals, one database
transaction per batch; a batch is durable when :meth:`PostgresPersistence.write` returns
(``synchronous_commit`` as configured on the server, ``on`` by default). Requires the
``psycopg`` package (``pip install 'reactor[postgres]'``).

The connection heals: when it is lost (a PostgreSQL restart or failover, a dropped TCP
connection, an administrator terminating the backend), the next operation reconnects.
Reconnect attempts are spaced by a jittered exponential backoff (:class:`Backoff`);
while the server is unreachable operations fail at once with
:class:`~reactor.persistence.errors.StorageUnavailable` instead of piling up, and
:attr:`PostgresPersistence.problem` says what is wrong (the health endpoint reports it).

A write whose connection broke *before* COMMIT was sent is retried once on a new
connection: nothing of it was stored. If the connection broke *during* COMMIT the outcome
is unknown; every batch stores a marker (the ``last_batch`` global) in its own
transaction, so after reconnecting the write looks the marker up and reports success
only if the batch really committed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from reactor.persistence import DocumentRecord, commit_log, describe_url
from reactor.persistence.errors import DiskFull, LeaseLost, StorageUnavailable

__all__ = ["Backoff", "CommitListener", "PostgresPersistence"]

logger = logging.getLogger("reactor.postgres")

T = TypeVar("T")

LEASE_NAME = "server"
CONNECT_TIMEOUT = 5
_DISK_FULL = "53100"
_BATCH_MARKER = "last_batch"


class Backoff:
    """When the next reconnect attempt may be made: jittered, doubling, bounded.

    The first attempt after a healthy period is immediate (a single dropped connection
    heals without delay); after each failed attempt the wait doubles from ``first`` up to
    ``cap`` seconds, each wait drawn uniformly from 50-100 % of its nominal value so
    that many servers do not reconnect in lockstep.
    """

    def __init__(self, first: float = 0.05, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0
        self._next = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self._next

    def wait(self) -> float:
        """Seconds until the next attempt is allowed (0 when it is now)."""
        return max(0.0, self._next - time.monotonic())

    def failed(self) -> None:
        nominal = min(self.cap, self.first * 2**self.failures)
        self.failures += 1
        self._next = time.monotonic() + random.uniform(nominal / 2, nominal)

    def succeeded(self) -> None:
        self.failures = 0
        self._next = 0.0


class PostgresPersistence:
    """Documents and globals in a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "PostgreSQL support needs psycopg: pip install 'reactor[postgres]'"
            ) from exc
        self._psycopg = psycopg
        self.url = url
        self.problem: str | None = None
        self.lease_holder: str | None = None
        self.backoff = Backoff()
        self.reconnects = 0
        self._lock = threading.Lock()
        self._conn: Any = None
        self._commit_log_ready = False
        try:
            conn = self._connection()
        except StorageUnavailable as exc:
            # At start there is nothing to heal yet: say why the first connection failed.
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise StorageUnavailable(
                f"cannot connect to {describe_url(url)}: {_first_line(cause)}"
            ) from exc
        with conn.transaction():
            for statement in _SCHEMA:
                conn.execute(statement)

    # -- the connection ------------------------------------------------------------------

    def _connection(self) -> Any:
        """The open connection, reconnecting if it was lost (caller holds the lock)."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if not self.backoff.ready():
            raise StorageUnavailable(
                f"the PostgreSQL database is unavailable ({self.problem}); reconnecting, next "
                f"attempt in {self.backoff.wait():.1f}s"
            )
        try:
            conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except self._psycopg.OperationalError as exc:
            self._lost(exc)
            raise StorageUnavailable(
                f"the PostgreSQL database is unavailable ({self.problem}); reconnecting"
            ) from exc
        if self._conn is not None:
            self.reconnects += 1
            logger.warning("reconnected to PostgreSQL")
        self._conn = conn
        self.backoff.succeeded()
        self.problem = None
        return conn

    def _lost(self, exc: BaseException) -> None:
        if self.problem is None and self._conn is not None:  # once per outage
            logger.error("PostgreSQL connection lost: %s", _first_line(exc))
        # Coarse on purpose: the health endpoint shows it; the driver's text is logged.
        self.problem = "database connection lost"
        self._commit_log_ready = False  # its CREATE may have been rolled back
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        self.backoff.failed()

    def _is_connection_error(self, conn: Any, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.OperationalError) and (
            conn.closed or conn.broken or isinstance(exc, self._psycopg.errors.AdminShutdown)
        )

    def _fail(self, exc: BaseException) -> NoReturn:
        if getattr(exc, "sqlstate", None) == _DISK_FULL:
            self.problem = "disk full"
            raise DiskFull(
                "disk full: the PostgreSQL server could not store this write (no space left "
                "on its disk); nothing of it was stored. Free space, then retry."
            ) from exc
        raise exc

    def _run(self, op: Callable[[Any], T]) -> T:
        """Run a read-only or idempotent ``op(conn)``, reconnecting once if needed."""
        with self._lock:
            for attempt in range(2):
                conn = self._connection()
                try:
                    return op(conn)
                except self._psycopg.Error as exc:
                    if not self._is_connection_error(conn, exc):
                        self._fail(exc)
                    self._lost(exc)
                    self.backoff.succeeded()  # the first reconnect is immediate
                    if attempt == 1:
                        raise StorageUnavailable(
                            f"the PostgreSQL database is unavailable ({self.problem})"
                        ) from exc
            raise AssertionError("unreachable")

    # -- the Persistence interface -------------------------------------------------------

    def load_documents(self) -> Iterator[DocumentRecord]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT table_name, id, ts, value FROM reactor_documents"
            ).fetchall()
        )
        for table, id_, ts, value in rows:
            yield DocumentRecord(table, id_, ts, bytes(value))

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        upserts = [(r.table, r.id, r.ts, r.value) for r in records if r.value is not None]
        deletes = [(r.id,) for r in records if r.value is None]
        marker = max((r.ts for r in records), default=0)
        all_globals = dict(globals_ or {})
        marker = max(marker, int(all_globals.get("ts") or 0))
        all_globals[_BATCH_MARKER] = marker
        with self._lock:
            for attempt in range(2):
                conn = self._connection()
                committing = False
                try:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            if self.lease_holder is not None:
                                self._check_lease(cur, self.lease_holder)
                            if upserts:
                                cur.executemany(_UPSERT, upserts)
                            if deletes:
                                cur.executemany(
                                    "DELETE FROM reactor_documents WHERE id = %s", deletes
                                )
                            for key, value in all_globals.items():
                                cur.execute(_SET_GLOBAL, (key, json.dumps(value)))
                        committing = True
                    self.problem = None  # e.g. a full disk has room again
                    return
                except self._psycopg.Error as exc:
                    if not self._is_connection_error(conn, exc):
                        self._fail(exc)
                    self._lost(exc)
                    self.backoff.succeeded()  # the first reconnect is immediate
                    if committing:
                        if self._batch_landed(marker):
                            self.problem = None
                            return
                        raise StorageUnavailable(
                            "the connection to PostgreSQL was lost while committing and the "
                            f"outcome could not be checked ({self.problem}); the write is "
                            "reported as failed"
                        ) from exc
                    if attempt == 1:
                        raise StorageUnavailable(
                            f"the PostgreSQL database is unavailable ({self.problem}); "
                            "nothing of this write was stored"
                        ) from exc

    def write_logged(
        self,
        node: str,
        batch: Sequence[tuple[commit_log.LoggedCommit, Sequence[DocumentRecord]]],
        globals_: dict[str, Any] | None = None,
        *,
        applied: int,
        check: commit_log.Check,
    ) -> commit_log.Appended:
        """Cluster mode: validate and append ``batch`` to the commit log, write its documents.

        One PostgreSQL transaction (:mod:`.commit_log`): the accepted leading commits'
        documents are stored with their final timestamps, the rest is not stored at all.
        Globals are written only if at least one commit was accepted.
        """
        with self._lock:
            for attempt in range(2):
                conn = self._connection()
                committing = False
                try:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            self._ensure_commit_log(cur)
                            appended = commit_log.append(
                                cur, node, [c for c, _ in batch], applied=applied, check=check
                            )
                            upserts: list[tuple[str, str, int, bytes]] = []
                            deletes: list[tuple[str]] = []
                            for (_, records), ts in zip(batch, appended.ts, strict=False):
                                for r in records:
                                    if r.value is None:
                                        deletes.append((r.id,))
                                    else:
                                        upserts.append((r.table, r.id, ts, r.value))
                            if upserts:
                                cur.executemany(_UPSERT, upserts)
                            if deletes:
                                cur.executemany(
                                    "DELETE FROM reactor_documents WHERE id = %s", deletes
                                )
                            if appended.accepted:
                                all_globals = dict(globals_ or {})
                                all_globals["ts"] = appended.ts[-1]
                                if "tables" in all_globals:
                                    # Numbers are claimed (claim_tables): a node that has
                                    # not learned another's new table must not drop it.
                                    all_globals["tables"] = {
                                        **all_globals["tables"],
                                        **_stored_tables(cur),
                                    }
                                for key, value in all_globals.items():
                                    cur.execute(_SET_GLOBAL, (key, json.dumps(value)))
                        committing = True
                    self.problem = None
                    return appended
                except self._psycopg.Error as exc:
                    if not self._is_connection_error(conn, exc):
                        self._fail(exc)
                    self._lost(exc)
                    self.backoff.succeeded()
                    if committing or attempt == 1:
                        # A lost COMMIT's outcome is found by the follower reading the log.
                        raise StorageUnavailable(
                            f"the PostgreSQL database is unavailable ({self.problem}); the "
                            "commit is reported as failed"
                        ) from exc
            raise AssertionError("unreachable")

    def follow(
        self, position: int
    ) -> tuple[list[commit_log.LogRow], dict[str, DocumentRecord | None]]:
        """The commits after ``position`` and the current rows of the documents they wrote.

        One REPEATABLE READ snapshot, so the documents are exactly the state after the last
        returned commit (None: deleted). Raises LookupError if the log was trimmed past
        ``position`` (the caller reloads).
        """

        def read(conn: Any) -> tuple[list[commit_log.LogRow], dict[str, DocumentRecord | None]]:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                self._ensure_commit_log(cur)
                # No limit: the documents are the snapshot's head, so every commit up to
                # it must be applied with them.
                rows = commit_log.commits_after(cur, position)
                ids = sorted({doc_id for row in rows for doc_id in row.ids})
                docs: dict[str, DocumentRecord | None] = dict.fromkeys(ids)
                if ids:
                    cur.execute(
                        "SELECT table_name, id, ts, value FROM reactor_documents "
                        "WHERE id = ANY(%s)",
                        (ids,),
                    )
                    for table, id_, ts, value in cur.fetchall():
                        docs[id_] = DocumentRecord(table, id_, ts, bytes(value))
                return rows, docs

        return self._run(read)

    def snapshot(self) -> tuple[int, int, list[DocumentRecord]]:
        """The commit log's head ``(position, ts)`` and every document as of it.

        One REPEATABLE READ snapshot: what a node loads when the log rows it still needed
        were trimmed.
        """

        def read(conn: Any) -> tuple[int, int, list[DocumentRecord]]:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                self._ensure_commit_log(cur)
                position, ts = commit_log.head(cur)
                cur.execute("SELECT table_name, id, ts, value FROM reactor_documents")
                records = [
                    DocumentRecord(table, id_, row_ts, bytes(value))
                    for table, id_, row_ts, value in cur.fetchall()
                ]
                return position, ts, records

        return self._run(read)

    def _ensure_commit_log(self, cur: Any) -> None:
        if not self._commit_log_ready:
            commit_log.create_schema(cur)
            self._commit_log_ready = True

    def listener(self, wake: Callable[[], None], *, poll: float = 1.0) -> CommitListener:
        """A :class:`CommitListener` on this database (not started)."""
        return CommitListener(self.url, wake, poll=poll)

    def cluster(self, op: Callable[[Any], T]) -> T:
        """Run ``op(cursor)`` in one transaction on the commit log's tables (:mod:`.commit_log`)."""

        def run(conn: Any) -> T:
            with conn.transaction(), conn.cursor() as cur:
                self._ensure_commit_log(cur)
                return op(cur)

        return self._run(run)

    def _batch_landed(self, marker: int) -> bool:
        """After a lost COMMIT: whether the batch with ``marker`` is in the database."""
        try:
            conn = self._connection()
            row = conn.execute(
                "SELECT value FROM reactor_globals WHERE key = %s", (_BATCH_MARKER,)
            ).fetchone()
        except (StorageUnavailable, self._psycopg.Error) as exc:
            if isinstance(exc, self._psycopg.Error):
                self._lost(exc)
            return False
        landed = row is not None and json.loads(row[0]) == marker
        outcome = "committed" if landed else "did not commit"
        logger.warning("a COMMIT lost its connection; the batch %s", outcome)
        return landed

    def get_global(self, key: str) -> Any:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT value FROM reactor_globals WHERE key = %s", (key,)
            ).fetchone()
        )
        return None if row is None else json.loads(row[0])

    def claim_tables(self, names: Sequence[str]) -> dict[str, int]:
        """Cluster mode: number the tables of ``names`` that have no number yet; returns
        every table's number (the ``tables`` global, which this updates).

        Under the commit log's lock, so two nodes creating tables at once never give two
        tables one number (a table's number is part of its documents' ids).
        """

        def claim(conn: Any) -> dict[str, int]:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (commit_log.COMMIT_LOCK,))
                registry = _stored_tables(cur)
                missing = [name for name in names if name not in registry]
                number = max(registry.values(), default=0)
                for name in missing:
                    number += 1
                    registry[name] = number
                if missing:
                    cur.execute(_SET_GLOBAL, ("tables", json.dumps(registry)))
                return registry

        return self._run(claim)

    def delete_table(self, table: str) -> None:
        self._run(
            lambda conn: conn.execute(
                "DELETE FROM reactor_documents WHERE table_name = %s", (table,)
            )
        )

    def check(self) -> None:
        """Renew the lease's heartbeat (if held) or ping; reconnects as any operation does."""

        def ping(conn: Any) -> None:
            if self.lease_holder is None:
                conn.execute("SELECT 1").fetchone()
                return
            with conn.transaction(), conn.cursor() as cur:
                self._check_lease(cur, self.lease_holder)

        self._run(ping)

    def _check_lease(self, cur: Any, holder: str) -> None:
        cur.execute(
            "UPDATE reactor_lease SET heartbeat = extract(epoch FROM clock_timestamp()) "
            "WHERE name = %s AND holder = %s",
            (LEASE_NAME, holder),
        )
        if cur.rowcount != 1:
            self.problem = "lease lost"
            raise LeaseLost(
                "another reactor server took over this database's lease; this server must "
                "not write any more: restart it once the other one has stopped"
            )

    # -- the lease (reactor.persistence.lease) ----------------------------------------------

    def lease_read(self) -> tuple[str, float] | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT holder, extract(epoch FROM clock_timestamp()) - heartbeat "
                "FROM reactor_lease WHERE name = %s",
                (LEASE_NAME,),
            ).fetchone()
        )
        return None if row is None else (str(row[0]), max(0.0, float(row[1])))

    def lease_swap(self, expected: str | None, new: str | None) -> bool:
        def swap(conn: Any) -> bool:
            with conn.transaction():
                row = conn.execute(
                    "SELECT holder FROM reactor_lease WHERE name = %s FOR UPDATE", (LEASE_NAME,)
                ).fetchone()
                current = None if row is None else str(row[0])
                if current != expected:
                    return False
                if new is None:
                    conn.execute("DELETE FROM reactor_lease WHERE name = %s", (LEASE_NAME,))
                elif row is None:
                    # Two claimants inserting at once: the loser's INSERT fails (unique key).
                    conn.execute(
                        "INSERT INTO reactor_lease (name, holder, heartbeat) VALUES "
                        "(%s, %s, extract(epoch FROM clock_timestamp()))",
                        (LEASE_NAME, new),
                    )
                else:
                    conn.execute(
                        "UPDATE reactor_lease SET holder = %s, "
                        "heartbeat = extract(epoch FROM clock_timestamp()) WHERE name = %s",
                        (new, LEASE_NAME),
                    )
            return True

        try:
            swapped = self._run(swap)
        except self._psycopg.errors.UniqueViolation:
            return False
        if swapped:
            self.lease_holder = new
        return swapped

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


LISTEN_SLICE = 0.2
"""Seconds the commit log listener waits for a notification before checking for a stop."""


class CommitListener:
    """Wakes a node when the commit log may have grown (cluster mode).

    A thread with its own connection listens on :data:`commit_log.CHANNEL` and calls
    ``wake()`` on every notification, after every ``poll`` seconds without one, and after
    every (re)connection: a notification is only a hint, the node reads the log by
    position, so a dropped one or a reconnect delays a commit by one poll at most.
    ``wake`` runs in the listener's thread.
    """

    def __init__(self, url: str, wake: Callable[[], None], *, poll: float = 1.0) -> None:
        import psycopg

        self._psycopg = psycopg
        self.url = url
        self.wake = wake
        self.poll = poll
        self.notifications = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reactor-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (returns within a second).

        The thread checks for a stop every :data:`LISTEN_SLICE` seconds; one still
        connecting (up to ``CONNECT_TIMEOUT``) is a daemon and is left to finish alone.
        """
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(1.0)

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stopped.is_set():
            try:
                conn = self._psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
            except self._psycopg.Error as exc:
                backoff.failed()
                logger.warning("commit log listener cannot connect: %s", _first_line(exc))
                self._stopped.wait(backoff.wait())
                continue
            backoff.succeeded()
            try:
                conn.execute(f"LISTEN {commit_log.CHANNEL}")
                self.wake()
                woken = time.monotonic()
                while not self._stopped.is_set():
                    notified = False
                    slice_ = min(self.poll, LISTEN_SLICE)
                    for _ in conn.notifies(timeout=slice_, stop_after=1):
                        self.notifications += 1
                        notified = True
                    now = time.monotonic()
                    if not self._stopped.is_set() and (notified or now - woken >= self.poll):
                        self.wake()
                        woken = now
            except self._psycopg.Error as exc:
                if not self._stopped.is_set():
                    logger.warning("commit log listener lost its connection: %s", _first_line(exc))
            finally:
                conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reactor_documents (
        id TEXT PRIMARY KEY,
        table_name TEXT NOT NULL,
        ts BIGINT NOT NULL,
        value BYTEA NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS reactor_documents_by_table ON reactor_documents (table_name)",
    """CREATE TABLE IF NOT EXISTS reactor_globals (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS reactor_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL
    )""",
)

_UPSERT = """
INSERT INTO reactor_documents (table_name, id, ts, value) VALUES (%s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, value = excluded.value
"""


def _stored_tables(cur: Any) -> dict[str, int]:
    cur.execute("SELECT value FROM reactor_globals WHERE key = 'tables'")
    row = cur.fetchone()
    return {} if row is None else {str(k): int(v) for k, v in json.loads(row[0]).items()}


_SET_GLOBAL = """
INSERT INTO reactor_globals (key, value) VALUES (%s, %s)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
