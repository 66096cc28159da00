"""Writing the hot store's calls, SMS messages and compliance events to the archive.

Each write is idempotent (an upsert by reactor id; compliance events insert-or-ignore),
so the outbox may deliver a command twice and a sweep may repeat a write. An archived
message is marked ``archived`` in the hot store, which then trims the thread (see
:mod:`functions.archive.hot`).

Entry points: the outbox kinds ``archive.call`` ``{call_id}``, ``archive.message``
``{message_id}`` and ``archive.compliance`` ``{event_id}`` (executor registered below),
the internal actions of the same names here, and the ``sweep`` cron that catches up
messages still unarchived and compliance events past the archiver's cursor.
"""

from __future__ import annotations

from typing import Any

from reactor import internal_action, internal_mutation, internal_query, v

from . import rows
from .store import open_archive

SWEEP_BATCH = 200


@internal_query(args={"table": v.string(), "id": v.string()})
def hot_row(ctx, table, id):
    """The archive row of one hot document (None if it is gone or the id is not ours)."""
    if table not in rows.TABLES:
        return None
    doc_id = ctx.db.normalize_id(table, id)
    doc = ctx.db.get(doc_id) if doc_id is not None else None
    if doc is None:
        return None
    if table == "calls":
        return rows.call_row(doc, ctx.now)
    if table == "compliance_events":
        return rows.compliance_row(doc, ctx.now)
    thread = ctx.db.get(doc["thread_id"])
    return rows.message_row(doc, thread, ctx.now) if thread is not None else None


async def write(ctx: Any, table: str, doc_id: str) -> dict[str, Any]:
    """Copy one hot document to the archive; returns what happened."""
    row = await ctx.run_query("archive/writer:hot_row", {"table": table, "id": doc_id})
    if row is None:
        return {"archived": False, "reason": f"no {table} document {doc_id}"}
    async with open_archive(ctx.env) as archive:
        if table == "calls":
            await archive.upsert_call(row)
        elif table == "sms_messages":
            await archive.upsert_message(row)
        else:
            new = await archive.append_compliance(row)
            return {"archived": True, "new": new}
    if table == "sms_messages":
        await ctx.run_mutation("archive/hot:archived", {"message_ids": [doc_id]})
    return {"archived": True}


@internal_action(args={"call_id": v.id("calls")})
async def call(ctx, call_id):
    return await write(ctx, "calls", call_id)


@internal_action(args={"message_id": v.id("sms_messages")})
async def message(ctx, message_id):
    return await write(ctx, "sms_messages", message_id)


@internal_action(args={"event_id": v.id("compliance_events")})
async def compliance(ctx, event_id):
    return await write(ctx, "compliance_events", event_id)


# -- catch-up ---------------------------------------------------------------------------


@internal_query(args={"limit": v.number()})
def backlog(ctx, limit):
    """Messages not archived yet, and compliance events after the archiver's cursor."""
    messages = (
        ctx.db.query("sms_messages")
        .with_index("by_archived", lambda q: q.eq("archived", False))
        .take(int(limit))
    )
    cursor = (
        ctx.db.query("archive_cursors")
        .with_index("by_table", lambda q: q.eq("table", "compliance_events"))
        .first()
    )
    query = ctx.db.query("compliance_events")
    if cursor is not None:
        query = query.with_index(
            "by_creation_time", lambda q: q.gte("_creation_time", cursor["after_time"])
        )
    events = []
    for e in query.take(int(limit) + 50):
        if cursor is not None and (e["_creation_time"], e["_id"]) <= (
            cursor["after_time"],
            cursor["after_id"],
        ):
            continue
        events.append(e)
    thread_of = {}
    for m in messages:
        thread_of.setdefault(m["thread_id"], ctx.db.get(m["thread_id"]))
    return {
        "messages": [
            rows.message_row(m, thread_of[m["thread_id"]], ctx.now)
            for m in messages
            if thread_of[m["thread_id"]] is not None
        ],
        "message_ids": [m["_id"] for m in messages],
        "events": [rows.compliance_row(e, ctx.now) for e in events[: int(limit)]],
        "last_event": [events[: int(limit)][-1]["_creation_time"], events[: int(limit)][-1]["_id"]]
        if events
        else None,
    }


@internal_mutation(args={"after_time": v.number(), "after_id": v.string()})
def advance_cursor(ctx, after_time, after_id):
    cursor = (
        ctx.db.query("archive_cursors")
        .with_index("by_table", lambda q: q.eq("table", "compliance_events"))
        .first()
    )
    fields = {"table": "compliance_events", "after_time": after_time, "after_id": after_id}
    if cursor is None:
        ctx.db.insert("archive_cursors", fields)
    elif (after_time, after_id) > (cursor["after_time"], cursor["after_id"]):
        ctx.db.patch(cursor["_id"], fields)


@internal_action(args={})
async def sweep(ctx):
    """Archive what is still only in the hot store (a cron; also safe to run by hand)."""
    todo = await ctx.run_query("archive/writer:backlog", {"limit": SWEEP_BATCH})
    async with open_archive(ctx.env) as archive:
        for row in todo["messages"]:
            await archive.upsert_message(row)
        for row in todo["events"]:
            await archive.append_compliance(row)
    if todo["message_ids"]:
        await ctx.run_mutation("archive/hot:archived", {"message_ids": todo["message_ids"]})
    if todo["last_event"] is not None:
        after_time, after_id = todo["last_event"]
        await ctx.run_mutation(
            "archive/writer:advance_cursor", {"after_time": after_time, "after_id": after_id}
        )
    return {"messages": len(todo["messages"]), "events": len(todo["events"])}


@internal_mutation(args={})
def tick(ctx):
    """The archive cron: schedule a sweep."""
    return ctx.scheduler.run_after(0, "archive/writer:sweep", {})
