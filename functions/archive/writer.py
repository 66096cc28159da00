"""Writing the hot store's calls, SMS messages and compliance events to the archive.

Each write is idempotent (an upsert by reactor id; compliance events insert-or-ignore),
so the outbox may deliver a command twice and a sweep may repeat a write. An archived
message is marked ``archived`` in the hot store, which then trims the thread (see
:mod:`functions.archive.hot`).

Entry points: the outbox kinds ``archive.call`` ``{call_id}``, ``archive.message``
``{message_id}`` and ``archive.compliance`` ``{event_id}`` (executor registered below),
the internal actions of the same names here. The cron's ``tick`` enqueues those commands
for messages still unarchived (or whose status changed), compliance events past the
archiver's cursor and settled calls.
"""

from __future__ import annotations

from typing import Any

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    internal_action,
    internal_mutation,
    internal_query,
    v,
)

from ..lib import outbox
from ..lib.core import TERMINAL_CALL
from . import rows
from .store import open_archive

SWEEP_BATCH = 200
SETTLE_MS = 3_600_000.0  # a wrap-up not finished within an hour: archive the call as is
STUCK_MS = 86_400_000.0  # a call live for a day is archived as it stands


@internal_query(args={"table": v.string(), "id": v.string()})
def hot_row(ctx: QueryCtx, table: str, id: str) -> Any:
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


async def write(ctx: ActionCtx, table: str, doc_id: str) -> dict[str, Any]:
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
        await ctx.run_mutation(
            "archive/hot:archived", {"message_ids": [doc_id], "statuses": [row["status"]]}
        )
    return {"archived": True}


@internal_action(args={"call_id": v.id("calls")})
async def call(ctx: ActionCtx, call_id: str) -> Any:
    return await write(ctx, "calls", call_id)


@internal_action(args={"message_id": v.id("sms_messages")})
async def message(ctx: ActionCtx, message_id: str) -> Any:
    return await write(ctx, "sms_messages", message_id)


@internal_action(args={"event_id": v.id("compliance_events")})
async def compliance(ctx: ActionCtx, event_id: str) -> Any:
    return await write(ctx, "compliance_events", event_id)


# -- catch-up: enqueue what the hot store has and the archive may not -------------------


def _cursor(ctx: QueryCtx, table: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("archive_cursors")
        .with_index("by_table", lambda q: q.eq("table", table))
        .first()
    )


def _after(ctx: QueryCtx, table: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The table's cursor and up to ``SWEEP_BATCH`` documents created after it."""
    cursor = _cursor(ctx, table)
    query = ctx.db.query(table)
    if cursor is not None:
        query = query.with_index(
            "by_creation_time", lambda q: q.gte("_creation_time", cursor["after_time"])
        )
    docs = []
    for doc in query.take(SWEEP_BATCH + 50):
        if cursor is not None and (doc["_creation_time"], doc["_id"]) <= (
            cursor["after_time"],
            cursor["after_id"],
        ):
            continue
        docs.append(doc)
    return cursor, docs[:SWEEP_BATCH]


def _advance(
    ctx: MutationCtx, table: str, cursor: dict[str, Any] | None, doc: dict[str, Any]
) -> None:
    fields = {"table": table, "after_time": doc["_creation_time"], "after_id": doc["_id"]}
    if cursor is None:
        ctx.db.insert("archive_cursors", fields)
    else:
        ctx.db.patch(cursor["_id"], fields)


def call_settled(call: dict[str, Any], now: float) -> bool:
    """A call whose archive row is final: ended, and its wrap-up done (or none is due,
    or the call ended over ``SETTLE_MS`` ago: a wrap-up never finished is archived as is)."""
    if call["status"] not in TERMINAL_CALL:
        return bool(now - call["created_at"] > STUCK_MS)
    if call["answered_at"] is None or call["wrap_up_ended_at"] is not None:
        return True
    return bool(call["ended_at"] is not None and now - call["ended_at"] > SETTLE_MS)


@internal_mutation(args={})
def tick(ctx: MutationCtx) -> Any:
    """The archive cron: enqueue ``archive.*`` commands for unarchived messages (and
    changed statuses), new compliance events and settled calls, each once (idempotency
    keys), advancing the cursors in the same transaction."""
    counts = {"messages": 0, "events": 0, "calls": 0}
    for msg in (
        ctx.db.query("sms_messages")
        .with_index("by_archived", lambda q: q.eq("archived", False))
        .take(SWEEP_BATCH)
    ):
        outbox.enqueue(
            ctx,
            "archive.message",
            agent_id=msg["agent_id"],
            args={"message_id": msg["_id"]},
            idempotency_key=f"archive.message:{msg['_id']}:{msg['status']}",
        )
        counts["messages"] += 1
    cursor, events = _after(ctx, "compliance_events")
    for event in events:
        outbox.enqueue(
            ctx,
            "archive.compliance",
            args={"event_id": event["_id"]},
            idempotency_key=f"archive.compliance:{event['_id']}",
        )
        counts["events"] += 1
    if events:
        _advance(ctx, "compliance_events", cursor, events[-1])
    # Calls: archive each settled call; the cursor passes the settled prefix only, so a
    # call still live holds it (later settled calls are enqueued anyway, once each).
    cursor, calls = _after(ctx, "calls")
    prefix = True
    for call in calls:
        if not call_settled(call, ctx.now):
            prefix = False
            continue
        outbox.enqueue(
            ctx,
            "archive.call",
            call_id=call["_id"],
            agent_id=call["agent_id"],
            args={"call_id": call["_id"]},
            idempotency_key=f"archive.call:{call['_id']}:{call['status']}:"
            f"{call['wrap_up_ended_at']}",
        )
        counts["calls"] += 1
        if prefix:
            _advance(ctx, "calls", cursor, call)
            cursor = _cursor(ctx, "calls")
    return counts


@internal_action(args={})
async def sweep(ctx: ActionCtx) -> Any:
    """Run one catch-up by hand (what the cron does)."""
    result: dict[str, Any] = await ctx.run_mutation("archive/writer:tick", {})
    return result


TABLE_OF_KIND = {
    "archive.call": ("calls", "call_id"),
    "archive.message": ("sms_messages", "message_id"),
    "archive.compliance": ("compliance_events", "event_id"),
}


async def _execute(ctx: ActionCtx, command: dict[str, Any]) -> dict[str, Any]:
    """Outbox executor of ``archive.call|message|compliance``; raises to be retried."""
    table, arg = TABLE_OF_KIND[command["kind"]]
    return await write(ctx, table, str(command["args"][arg]))


outbox.register_executor("archive", _execute)
