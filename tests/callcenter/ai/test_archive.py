"""The archive: idempotent writes of calls, SMS messages and compliance events (SQLite
through sqlite-utils, and a real PostgreSQL server through psycopg), append-only
compliance enforced in the archive itself, the hot store trimmed to open threads' last
10 messages, and hydration of an older thread from the archive."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest

from reactor import Engine, UserError

from ..helpers import SUPERVISOR, agent, sign_in
from .pipeline import handled_call, outbox_settled

OUR = "+15550000000"
PHONE = "+13105550100"


@pytest.fixture(params=["sqlite", "postgresql"])
async def archive_url(request: pytest.FixtureRequest, ai: Engine, tmp_path: Any) -> str:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_database"))
    else:
        url = f"sqlite:///{tmp_path}/archive.sqlite"
    await ai.set_env("ARCHIVE_DATABASE_URL", url)
    return url


def archive_rows(url: str, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql.replace("%s", "?"), args)]
        finally:
            conn.close()
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as pg:
        return [dict(r) for r in pg.execute(sql.encode(), args)]


def archive_write(url: str, sql: str) -> None:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            with conn:
                conn.execute(sql)
        finally:
            conn.close()
        return
    with psycopg.connect(url) as pg:
        pg.execute(sql.encode())


async def inbound(engine: Engine, n: int, body: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = await engine.mutation(
        "sms/threads:on_incoming",
        {
            "message_sid": f"SM{n:03d}",
            "from_number": PHONE,
            "to_number": OUR,
            "body": body or f"message number {n}",
        },
    )
    return result


async def hot(engine: Engine, thread_id: str) -> list[dict[str, Any]]:
    return list(
        await engine.query(
            "sms/threads:messages", {"thread_id": thread_id, "limit": 100}, identity=agent(1)
        )
    )


async def test_messages_are_archived_once_and_the_hot_copy_keeps_ten(
    ai: Engine, archive_url: str
) -> None:
    await sign_in(ai, 1)
    for n in range(15):
        thread_id = (await inbound(ai, n))["thread_id"]
    assert len(await hot(ai, thread_id)) == 15
    out = await ai.action("archive/writer:sweep", {})
    assert out == {"messages": 15, "events": 0, "calls": 0}
    sent = await outbox_settled(ai)
    assert sorted(c["kind"] for c in sent) == ["archive.message"] * 15
    rows = archive_rows(archive_url, "SELECT * FROM sms_messages ORDER BY sent_at, id")
    assert [r["body"] for r in rows] == [f"message number {n}" for n in range(15)]
    assert {r["thread_key"] for r in rows} == {f"{PHONE}|{OUR}"}
    assert {r["message_sid"] for r in rows} == {f"SM{n:03d}" for n in range(15)}
    left = await hot(ai, thread_id)
    assert [m["body"] for m in left] == [f"message number {n}" for n in range(5, 15)]
    assert all(m["archived"] for m in left)

    # Idempotent: sweeping again and re-delivering one message change nothing.
    assert await ai.action("archive/writer:sweep", {}) == {"messages": 0, "events": 0, "calls": 0}
    again = await ai.action("archive/writer:message", {"message_id": left[-1]["_id"]})
    assert again == {"archived": True}
    assert len(archive_rows(archive_url, "SELECT id FROM sms_messages")) == 15


async def test_delivery_status_only_moves_forward(ai: Engine, archive_url: str) -> None:
    await sign_in(ai, 1)
    thread_id = (await inbound(ai, 1))["thread_id"]
    await ai.mutation("sms/locks:acquire", {"thread_id": thread_id}, identity=agent(1))
    sent = await ai.mutation(
        "sms/threads:send", {"thread_id": thread_id, "body": "on its way"}, identity=agent(1)
    )
    message_id = sent["message_id"]
    await ai.mutation("sms/threads:attach_sid", {"message_id": message_id, "message_sid": "SMout"})
    await ai.mutation("sms/threads:on_status", {"message_sid": "SMout", "status": "delivered"})
    await ai.action("archive/writer:message", {"message_id": message_id})
    # The hot copy says "sent" again (a late callback applied out of order elsewhere):
    # the archive keeps "delivered".
    store = ai.project_module("archive/store")
    row = await ai.query("archive/writer:hot_row", {"table": "sms_messages", "id": message_id})
    async with store.open_archive({"ARCHIVE_DATABASE_URL": archive_url}) as archive:
        await archive.upsert_message({**row, "status": "sent", "status_rank": 2})
        found = await archive.get("sms_messages", message_id)
        hits = await archive.search_messages("way", 10)
    assert found is not None
    assert (found["status"], found["message_sid"]) == ("delivered", "SMout")
    assert [h["id"] for h in hits] == [message_id]
    found = await ai.action("archive/search:messages", {"text": "way"}, identity=SUPERVISOR)
    assert [(f["id"], f["body"]) for f in found] == [(message_id, "on its way")]
    with pytest.raises(UserError, match="forbidden"):
        await ai.action("archive/search:messages", {"text": "way"}, identity=agent(1))


async def test_compliance_events_are_append_only_in_the_archive(
    ai: Engine, archive_url: str
) -> None:
    await sign_in(ai, 1)
    await inbound(ai, 1, "STOP")
    await inbound(ai, 2, "START")
    out = await ai.action("archive/writer:sweep", {})
    assert out["events"] == 2
    await outbox_settled(ai)
    assert (await ai.action("archive/writer:sweep", {}))["events"] == 0
    events = archive_rows(archive_url, "SELECT * FROM compliance_events ORDER BY occurred_at, id")
    assert [(e["action"], e["keyword"]) for e in events] == [
        ("opt_out", "STOP"),
        ("opt_in", "START"),
    ]
    again = await ai.action("archive/writer:compliance", {"event_id": events[0]["id"]})
    assert again == {"archived": True, "new": False}
    errors = (sqlite3.DatabaseError, psycopg.Error)
    with pytest.raises(errors, match="append-only"):
        archive_write(archive_url, "UPDATE compliance_events SET action = 'opt_in'")
    with pytest.raises(errors, match="append-only"):
        archive_write(archive_url, "DELETE FROM compliance_events")
    assert len(archive_rows(archive_url, "SELECT id FROM compliance_events")) == 2


async def test_calls_are_upserted_by_id(ai: Engine, archive_url: str) -> None:
    call_id = await handled_call(ai)
    assert await ai.action("archive/writer:call", {"call_id": call_id}) == {"archived": True}
    await ai.mutation(
        "agents:finish_wrap_up", {"disposition": "resolved", "notes": "ok"}, identity=agent(1)
    )
    await ai.action("archive/writer:call", {"call_id": call_id})
    (row,) = archive_rows(archive_url, "SELECT * FROM calls")
    assert row["id"] == call_id and row["call_sid"] == "CArec1"
    assert (row["status"], row["disposition"], row["agent_id"]) == (
        "completed",
        "resolved",
        "agent-1",
    )
    assert row["answered_at"] is not None and row["ended_at"] is not None


async def test_closed_threads_leave_the_hot_store_and_hydrate_on_open(
    ai: Engine, archive_url: str
) -> None:
    await sign_in(ai, 1)
    for n in range(14):
        thread_id = (await inbound(ai, n))["thread_id"]
    await ai.mutation("sms/threads:close", {"thread_id": thread_id}, identity=agent(1))
    await ai.action("archive/writer:sweep", {})
    await outbox_settled(ai)
    assert await hot(ai, thread_id) == []
    opened = await ai.action("archive/hot:open_thread", {"thread_id": thread_id}, identity=agent(1))
    assert opened["hydrated"] == 10
    assert [m["body"] for m in opened["messages"]] == [f"message number {n}" for n in range(4, 14)]
    assert all(m["archived"] and m["archive_id"] for m in opened["messages"])
    # Opening again hydrates nothing more, and re-archiving a hydrated copy keeps its id.
    again = await ai.action("archive/hot:open_thread", {"thread_id": thread_id}, identity=agent(1))
    assert again["hydrated"] == 0
    copy = opened["messages"][-1]
    await ai.action("archive/writer:message", {"message_id": copy["_id"]})
    assert len(archive_rows(archive_url, "SELECT id FROM sms_messages")) == 14
    # A new message reopens the thread; opening it tops the hot copy up to ten.
    await ai.mutation("sms/threads:close", {"thread_id": thread_id}, identity=agent(1))
    await inbound(ai, 99, "are you there?")
    assert [m["body"] for m in await hot(ai, thread_id)] == ["are you there?"]
    opened = await ai.action("archive/hot:open_thread", {"thread_id": thread_id}, identity=agent(1))
    bodies = [m["body"] for m in opened["messages"]]
    assert bodies[-1] == "are you there?" and len(bodies) == 10
    assert bodies[:-1] == [f"message number {n}" for n in range(5, 14)]


async def test_the_cron_archives_settled_calls_once_through_the_outbox(
    ai: Engine, archive_url: str
) -> None:
    done = await handled_call(ai)  # ended, but agent-1 is still in wrap-up
    live = await ai.mutation(
        "calls:on_incoming",
        {"call_sid": "CAlive", "from_number": "+13105550999", "to_number": "+15550001111"},
    )
    assert (await ai.action("archive/writer:sweep", {}))["calls"] == 0
    await ai.mutation("agents:finish_wrap_up", {"disposition": "sold"}, identity=agent(1))
    assert (await ai.action("archive/writer:sweep", {}))["calls"] == 1
    await outbox_settled(ai)
    (row,) = archive_rows(archive_url, "SELECT id, disposition FROM calls")
    assert (row["id"], row["disposition"]) == (done, "sold")
    # Again: the same settled call is not enqueued twice, the live one waits.
    await ai.action("archive/writer:sweep", {})
    sent = await outbox_settled(ai)
    assert [c["args"]["call_id"] for c in sent if c["kind"] == "archive.call"] == [done]
    await ai.mutation("calls:on_status", {"call_sid": "CAlive", "status": "completed"})
    # The cursor passed the first (settled) call: only the second is enqueued now.
    assert (await ai.action("archive/writer:sweep", {}))["calls"] == 1
    sent = await outbox_settled(ai)
    calls = sorted(r["id"] for r in archive_rows(archive_url, "SELECT id FROM calls"))
    assert calls == sorted([done, live["call_id"]])


async def test_a_status_change_after_archiving_is_archived_again(
    ai: Engine, archive_url: str
) -> None:
    await sign_in(ai, 1)
    thread_id = (await inbound(ai, 1))["thread_id"]
    await ai.mutation("sms/locks:acquire", {"thread_id": thread_id}, identity=agent(1))
    sent = await ai.mutation(
        "sms/threads:send", {"thread_id": thread_id, "body": "hello"}, identity=agent(1)
    )
    await ai.mutation(
        "sms/threads:attach_sid", {"message_id": sent["message_id"], "message_sid": "SMo"}
    )
    await ai.action("archive/writer:sweep", {})
    await outbox_settled(ai)
    await ai.mutation("sms/threads:on_status", {"message_sid": "SMo", "status": "delivered"})
    assert (await ai.action("archive/writer:sweep", {}))["messages"] == 1
    await outbox_settled(ai)
    (row,) = archive_rows(
        archive_url, "SELECT status FROM sms_messages WHERE id = %s", (sent["message_id"],)
    )
    assert row["status"] == "delivered"
