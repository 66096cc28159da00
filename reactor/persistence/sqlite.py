"""SQLite persistence, the embedded default.

One connection, WAL journal, ``synchronous=FULL``: a batch is durable when
:meth:`SqlitePersistence.write` returns. Writes come from one committer at a time; the
connection is guarded by a lock so the committer may call it from a worker thread.

The database file (and with it SQLite's ``-wal`` and ``-shm`` files, which SQLite gives
the database file's mode) and any folder created for it are owner-only: the file holds
every environment variable and the upload-signing secret. A full disk fails the batch
with :class:`~reactor.persistence.errors.DiskFull`; SQLite has rolled it back, and writes
succeed again once space is freed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from reactor.owner_only import make_dirs, open_new, tighten
from reactor.persistence import DocumentRecord
from reactor.persistence.errors import DiskFull, LeaseLost, StorageUnavailable
from reactor.persistence.lease import now

__all__ = ["SqlitePersistence"]

logger = logging.getLogger("reactor.sqlite")

_SQLITE_FULL = 13
_SQLITE_IOERR = 10
LEASE_NAME = "server"


class SqlitePersistence:
    """Documents and globals in one SQLite file."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        if path != ":memory:":
            _create_owner_only(path)
        self.path = path
        self.problem: str | None = None
        self.lease_holder: str | None = None
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"invalid synchronous mode {synchronous!r}")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_SCHEMA)
        if path != ":memory:":
            tighten(path, path + "-wal", path + "-shm")

    def load_documents(self) -> Iterator[DocumentRecord]:
        # In batches, with one string per table name: reading every row at once leaves
        # the freed row tuples scattered among the loaded documents, and the allocator
        # cannot give those pages back (~190 bytes per document held after the load).
        names: dict[str, str] = {}
        with self._lock:
            cursor = self._conn.execute("SELECT table_name, id, ts, value FROM documents")
            try:
                while rows := cursor.fetchmany(LOAD_BATCH):
                    for table, id_, ts, value in rows:
                        name = names.setdefault(table, table)
                        yield DocumentRecord(name, id_, ts, bytes(value))
            finally:
                cursor.close()

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        upserts = [(r.table, r.id, r.ts, r.value) for r in records if r.value is not None]
        deletes = [(r.id,) for r in records if r.value is None]
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self.lease_holder is not None:
                        self._check_lease(conn, self.lease_holder)
                    if upserts:
                        conn.executemany(_UPSERT, upserts)
                    if deletes:
                        conn.executemany("DELETE FROM documents WHERE id = ?", deletes)
                    for key, value in (globals_ or {}).items():
                        conn.execute(_SET_GLOBAL, (key, json.dumps(value)))
                    conn.execute("COMMIT")
                except BaseException:
                    # SQLite rolls back by itself on some errors (a full disk among them);
                    # a second ROLLBACK would then hide the real cause.
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._raise_storage_error(exc)
            self.problem = None

    def _raise_storage_error(self, exc: sqlite3.Error) -> NoReturn:
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary == _SQLITE_FULL or "disk is full" in str(exc):
            if self.problem != "disk full":
                logger.error("SQLite %s: disk full (%s)", self.path, exc)
            self.problem = "disk full"
            raise DiskFull(
                "disk full: the database could not grow, so nothing of this write was "
                "stored. Free disk space, then retry."
            ) from exc
        if primary == _SQLITE_IOERR:
            self.problem = "disk I/O error"
            logger.error("SQLite %s: %s", self.path, exc)
            raise StorageUnavailable(
                f"disk I/O error writing the SQLite database {self.path}; nothing of this "
                "write was stored (the server log has the details)"
            ) from exc
        raise exc

    def get_global(self, key: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM globals WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_table(self, table: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM documents WHERE table_name = ?", (table,))

    def check(self) -> None:
        """Renew the lease's heartbeat (if held) or just touch the database."""
        with self._lock:
            try:
                if self.lease_holder is None:
                    self._conn.execute("SELECT 1").fetchone()
                    return
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._check_lease(self._conn, self.lease_holder)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._raise_storage_error(exc)

    def _check_lease(self, conn: sqlite3.Connection, holder: str) -> None:
        cur = conn.execute(
            "UPDATE lease SET heartbeat = ? WHERE name = ? AND holder = ?",
            (now(), LEASE_NAME, holder),
        )
        if cur.rowcount != 1:
            self.problem = "lease lost"
            raise LeaseLost(
                "another reactor server took over this database's lease; this server must "
                "not write any more: restart it once the other one has stopped"
            )

    # -- the lease (reactor.persistence.lease) ----------------------------------------------

    def lease_read(self) -> tuple[str, float] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT holder, heartbeat FROM lease WHERE name = ?", (LEASE_NAME,)
            ).fetchone()
        return None if row is None else (str(row[0]), max(0.0, now() - float(row[1])))

    def lease_swap(self, expected: str | None, new: str | None) -> bool:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT holder FROM lease WHERE name = ?", (LEASE_NAME,)
                ).fetchone()
                current = None if row is None else str(row[0])
                if current != expected:
                    conn.execute("ROLLBACK")
                    return False
                if new is None:
                    conn.execute("DELETE FROM lease WHERE name = ?", (LEASE_NAME,))
                else:
                    conn.execute(
                        "INSERT INTO lease (name, holder, heartbeat) VALUES (?, ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                        "heartbeat = excluded.heartbeat",
                        (LEASE_NAME, new, now()),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            self.lease_holder = new
            return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _create_owner_only(path: str) -> None:
    make_dirs(os.path.dirname(os.path.abspath(path)))
    with contextlib.suppress(FileExistsError):
        os.close(open_new(path, exclusive=True))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    table_name TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_table ON documents (table_name);
CREATE TABLE IF NOT EXISTS globals (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    heartbeat REAL NOT NULL
);
"""

_UPSERT = """
INSERT INTO documents (table_name, id, ts, value) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, value = excluded.value
"""

LOAD_BATCH = 5000
"""Rows read at a time when loading the documents."""

_SET_GLOBAL = """
INSERT INTO globals (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
