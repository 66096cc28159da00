"""The embedded archive: a SQLite file built and queried with sqlite-utils.

Tables are created from the first row written (sqlite-utils infers the columns; new
columns are added as rows grow them). ``sms_messages`` gets a full-text index over
``body`` (FTS5, kept in sync by triggers) and an index for "the last messages of a
thread". ``compliance_events`` is append-only here too: rows are inserted with
``INSERT OR IGNORE`` and triggers abort any UPDATE or DELETE.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from .rows import merge_message

APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS compliance_events_no_update BEFORE UPDATE ON compliance_events
BEGIN SELECT RAISE(ABORT, 'compliance_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS compliance_events_no_delete BEFORE DELETE ON compliance_events
BEGIN SELECT RAISE(ABORT, 'compliance_events is append-only'); END;
"""


class SqliteArchive:
    """One connection to the archive file (blocking; callers run it in a thread)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        self.db = sqlite_utils.Database(conn)

    def close(self) -> None:
        self.db.conn.close()

    def upsert_call(self, row: dict[str, Any]) -> None:
        self.db.table("calls").upsert(row, pk="id", alter=True)
        self._index("calls", ["agent_id", "created_at"])
        self._index("calls", ["customer_id", "created_at"])

    def upsert_message(self, row: dict[str, Any]) -> None:
        table = self.db.table("sms_messages")
        with self.db.conn:  # read and write in one transaction
            self.db.execute("BEGIN IMMEDIATE")
            old = next(table.rows_where("id = ?", [row["id"]]), None) if table.exists() else None
            table.upsert(merge_message(old, row), pk="id", alter=True)
        self._index("sms_messages", ["thread_key", "sent_at"])
        self._index("sms_messages", ["message_sid"])
        if table.detect_fts() is None:
            table.enable_fts(["body"], create_triggers=True)

    def append_compliance(self, row: dict[str, Any]) -> bool:
        """Insert the event unless it is there; returns whether it was new."""
        table = self.db.table("compliance_events")
        if table.exists() and self.get("compliance_events", row["id"]) is not None:
            return False
        table.insert(row, pk="id", ignore=True, alter=True)
        self.db.conn.executescript(APPEND_ONLY)
        return True

    def last_messages(self, key: str, limit: int) -> list[dict[str, Any]]:
        table = self.db.table("sms_messages")
        if not table.exists():
            return []
        rows = table.rows_where(
            "thread_key = ?", [key], order_by="sent_at desc, id desc", limit=limit
        )
        return list(rows)[::-1]

    def search_messages(self, text: str, limit: int) -> list[dict[str, Any]]:
        table = self.db.table("sms_messages")
        if not table.exists() or table.detect_fts() is None:
            return []
        return list(table.search(text, limit=limit, quote=True))

    def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        t = self.db.table(table)
        if not t.exists():
            return None
        return next(t.rows_where("id = ?", [row_id]), None)

    def _index(self, table: str, columns: list[str]) -> None:
        self.db[table].create_index(columns, if_not_exists=True)  # type: ignore[union-attr]
