"""The PostgreSQL archive (``ARCHIVE_DATABASE_URL=postgresql://...``), through psycopg.

The tables and columns are those of the SQLite archive (docs/archive.md), declared here
up front. Writes are idempotent upserts on ``id``; a message's delivery status only
moves forward (``WHERE excluded.status_rank >= sms_messages.status_rank``).
``compliance_events`` is append-only: ``ON CONFLICT DO NOTHING`` and a trigger that
raises on any UPDATE or DELETE. Message bodies have a full-text index.
"""

from __future__ import annotations

from typing import Any

DDL = """
SELECT pg_advisory_xact_lock(7423001);
CREATE TABLE IF NOT EXISTS calls (
    id text PRIMARY KEY, call_sid text, direction text, phone text, our_number text,
    customer_id text, campaign_id text, agent_id text, queue text, status text, day text,
    created_at double precision, enqueued_at double precision, answered_at double precision,
    ended_at double precision, wrap_up_ended_at double precision, hold_ms double precision,
    transfers double precision, disposition text, notes text, transcript_id text,
    recording_ids text, archived_at double precision
);
CREATE INDEX IF NOT EXISTS calls_agent ON calls (agent_id, created_at);
CREATE INDEX IF NOT EXISTS calls_customer ON calls (customer_id, created_at);
CREATE TABLE IF NOT EXISTS sms_messages (
    id text PRIMARY KEY, thread_id text, thread_key text NOT NULL, customer_phone text,
    our_number text, customer_id text,
    direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body text NOT NULL, status text, status_rank smallint NOT NULL DEFAULT 0,
    message_sid text, agent_id text, error_code double precision,
    sent_at double precision NOT NULL, archived_at double precision
);
CREATE INDEX IF NOT EXISTS sms_messages_thread ON sms_messages (thread_key, sent_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sms_messages_sid ON sms_messages (message_sid);
CREATE INDEX IF NOT EXISTS sms_messages_fts ON sms_messages
    USING gin (to_tsvector('simple', body));
CREATE TABLE IF NOT EXISTS compliance_events (
    id text PRIMARY KEY, phone text NOT NULL, channel text NOT NULL, action text NOT NULL,
    source text NOT NULL, keyword text, raw_body text, ref_sid text, actor_id text,
    occurred_at double precision NOT NULL, prev_state boolean, new_state boolean,
    archived_at double precision
);
CREATE INDEX IF NOT EXISTS compliance_events_phone ON compliance_events (phone, occurred_at);
CREATE OR REPLACE FUNCTION compliance_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'compliance_events is append-only'; END $$;
DROP TRIGGER IF EXISTS compliance_events_append_only ON compliance_events;
CREATE TRIGGER compliance_events_append_only BEFORE UPDATE OR DELETE ON compliance_events
    FOR EACH ROW EXECUTE FUNCTION compliance_events_append_only();
"""

CALL_COLUMNS = (
    "id call_sid direction phone our_number customer_id campaign_id agent_id queue status "
    "day created_at enqueued_at answered_at ended_at wrap_up_ended_at hold_ms transfers "
    "disposition notes transcript_id recording_ids archived_at"
).split()
MESSAGE_COLUMNS = (
    "id thread_id thread_key customer_phone our_number customer_id direction body status "
    "status_rank message_sid agent_id error_code sent_at archived_at"
).split()
COMPLIANCE_COLUMNS = (
    "id phone channel action source keyword raw_body ref_sid actor_id occurred_at "
    "prev_state new_state archived_at"
).split()
# Status columns move only forward; the rest always takes the newest values.
STATUS_COLUMNS = {"status", "status_rank", "error_code"}

_ready: set[str] = set()


def _insert(table: str, columns: list[str]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f"%({c})s" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


def _upsert_call_sql() -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in CALL_COLUMNS if c != "id")
    return f"{_insert('calls', CALL_COLUMNS)} ON CONFLICT (id) DO UPDATE SET {sets}"


def _upsert_message_sql() -> str:
    sets = []
    for c in MESSAGE_COLUMNS:
        if c == "id":
            continue
        if c in STATUS_COLUMNS:
            sets.append(
                f"{c} = CASE WHEN excluded.status_rank >= sms_messages.status_rank "
                f"THEN excluded.{c} ELSE sms_messages.{c} END"
            )
        elif c == "message_sid":
            sets.append("message_sid = coalesce(excluded.message_sid, sms_messages.message_sid)")
        else:
            sets.append(f"{c} = excluded.{c}")
    return (
        f"{_insert('sms_messages', MESSAGE_COLUMNS)} ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(sets)
    )


class PostgresArchive:
    """An async psycopg connection to the archive database."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> PostgresArchive:
        import psycopg
        from psycopg.rows import dict_row

        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=False, connect_timeout=10, row_factory=dict_row
        )
        store = cls(conn)
        if url not in _ready:
            async with conn.transaction():
                await conn.execute(DDL)
            _ready.add(url)
        return store

    async def close(self) -> None:
        await self.conn.close()

    async def upsert_call(self, row: dict[str, Any]) -> None:
        async with self.conn.transaction():
            await self.conn.execute(_upsert_call_sql(), row)

    async def upsert_message(self, row: dict[str, Any]) -> None:
        async with self.conn.transaction():
            await self.conn.execute(_upsert_message_sql(), row)

    async def append_compliance(self, row: dict[str, Any]) -> bool:
        async with self.conn.transaction():
            cur = await self.conn.execute(
                _insert("compliance_events", COMPLIANCE_COLUMNS) + " ON CONFLICT (id) DO NOTHING",
                row,
            )
            return bool(cur.rowcount)

    async def last_messages(self, key: str, limit: int) -> list[dict[str, Any]]:
        async with self.conn.transaction():
            cur = await self.conn.execute(
                "SELECT * FROM (SELECT * FROM sms_messages WHERE thread_key = %s "
                "ORDER BY sent_at DESC, id DESC LIMIT %s) t ORDER BY sent_at, id",
                (key, limit),
            )
            return list(await cur.fetchall())

    async def search_messages(self, text: str, limit: int) -> list[dict[str, Any]]:
        async with self.conn.transaction():
            cur = await self.conn.execute(
                "SELECT * FROM sms_messages WHERE to_tsvector('simple', body) @@ "
                "plainto_tsquery('simple', %s) ORDER BY sent_at DESC LIMIT %s",
                (text, limit),
            )
            return list(await cur.fetchall())

    async def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        if table not in ("calls", "sms_messages", "compliance_events"):
            raise ValueError(f"no archive table {table!r}")
        async with self.conn.transaction():
            cur = await self.conn.execute(f"SELECT * FROM {table} WHERE id = %s", (row_id,))
            row = await cur.fetchone()
            return dict(row) if row is not None else None
