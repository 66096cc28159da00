"""SQLite persistence, the embedded default.

One connection, WAL journal, ``synchronous=FULL``: a batch is durable when
:meth:`SqlitePersistence.write` returns. Writes come from one committer at a time; the
connection is guarded by a lock so the committer may call it from a worker thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from reactor.persistence import DocumentRecord

__all__ = ["SqlitePersistence"]


class SqlitePersistence:
    """Documents and globals in one SQLite file."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"invalid synchronous mode {synchronous!r}")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_SCHEMA)

    def load_documents(self) -> Iterator[DocumentRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT table_name, id, ts, value FROM documents").fetchall()
        for table, id_, ts, value in rows:
            yield DocumentRecord(table, id_, ts, bytes(value))

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        upserts = [(r.table, r.id, r.ts, r.value) for r in records if r.value is not None]
        deletes = [(r.id,) for r in records if r.value is None]
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if upserts:
                    conn.executemany(_UPSERT, upserts)
                if deletes:
                    conn.executemany("DELETE FROM documents WHERE id = ?", deletes)
                for key, value in (globals_ or {}).items():
                    conn.execute(_SET_GLOBAL, (key, json.dumps(value)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def get_global(self, key: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM globals WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_table(self, table: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM documents WHERE table_name = ?", (table,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


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
"""

_UPSERT = """
INSERT INTO documents (table_name, id, ts, value) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, value = excluded.value
"""

_SET_GLOBAL = """
INSERT INTO globals (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
