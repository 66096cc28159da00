"""PostgreSQL persistence, for deployments that outgrow one machine's SQLite file.

Same shape as the SQLite backend: latest document versions plus globals, one database
transaction per batch; a batch is durable when :meth:`PostgresPersistence.write` returns
(``synchronous_commit`` as configured on the server, ``on`` by default). Requires the
``psycopg`` package (``pip install 'reactor[postgres]'``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from reactor.persistence import DocumentRecord

__all__ = ["PostgresPersistence"]


class PostgresPersistence:
    """Documents and globals in a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "PostgreSQL support needs psycopg: pip install 'reactor[postgres]'"
            ) from exc
        self.url = url
        self._lock = threading.Lock()
        self._conn: Any = psycopg.connect(url, autocommit=True)
        with self._conn.transaction():
            for statement in _SCHEMA:
                self._conn.execute(statement)

    def load_documents(self) -> Iterator[DocumentRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT table_name, id, ts, value FROM reactor_documents"
            ).fetchall()
        for table, id_, ts, value in rows:
            yield DocumentRecord(table, id_, ts, bytes(value))

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        upserts = [(r.table, r.id, r.ts, r.value) for r in records if r.value is not None]
        deletes = [(r.id,) for r in records if r.value is None]
        with self._lock, self._conn.transaction():
            with self._conn.cursor() as cur:
                if upserts:
                    cur.executemany(_UPSERT, upserts)
                if deletes:
                    cur.executemany("DELETE FROM reactor_documents WHERE id = %s", deletes)
                for key, value in (globals_ or {}).items():
                    cur.execute(_SET_GLOBAL, (key, json.dumps(value)))

    def get_global(self, key: str) -> Any:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM reactor_globals WHERE key = %s", (key,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_table(self, table: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM reactor_documents WHERE table_name = %s", (table,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


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
)

_UPSERT = """
INSERT INTO reactor_documents (table_name, id, ts, value) VALUES (%s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, value = excluded.value
"""

_SET_GLOBAL = """
INSERT INTO reactor_globals (key, value) VALUES (%s, %s)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
