"""The hot SMS store: open threads with their last ``HOT_MESSAGES`` messages.

Once a message is in the archive it may leave the hot store: an open thread keeps its
newest ``HOT_MESSAGES`` messages, a closed thread keeps none. Opening a thread whose
older messages were dropped (``open_thread``) hydrates its last ``HOT_MESSAGES`` back
from the archive, as archived copies that remember the archive id they came from.
"""

from __future__ import annotations

from typing import Any

from reactor import ActionCtx, MutationCtx, QueryCtx, action, internal_mutation, internal_query, v

from ..lib import hot_sms
from ..lib.auth import me
from ..sms.threads import HOT_MESSAGES
from . import rows
from .store import open_archive

TRIM_SCAN = HOT_MESSAGES + 500


def _trim(ctx: MutationCtx, thread: dict[str, Any]) -> int:
    return hot_sms.trim(ctx, thread, HOT_MESSAGES if thread["status"] == "open" else 0)


@internal_mutation(
    args={
        "message_ids": v.array(v.id("sms_messages")),
        "statuses": v.optional(v.array(v.string())),
    }
)
def archived(ctx: MutationCtx, message_ids: list[Any], statuses: list[Any] | None = None) -> Any:
    """These messages are in the archive (with these statuses): mark them and trim their
    threads. A message whose status changed since stays unarchived, to be written again."""
    threads = set()
    for i, mid in enumerate(message_ids[:1000]):
        msg = ctx.db.get(mid)
        if statuses is not None and i < len(statuses) and msg and msg["status"] != statuses[i]:
            continue
        if msg is not None:
            ctx.db.patch(mid, {"archived": True})
            threads.add(msg["thread_id"])
    dropped = 0
    for tid in sorted(threads):
        thread = ctx.db.get(tid)
        if thread is not None:
            dropped += _trim(ctx, thread)
    return dropped


@internal_query(args={"thread_id": v.id("sms_threads")})
def hot_view(ctx: QueryCtx, thread_id: str) -> Any:
    """The thread, its archive key, and what the hot store holds of it."""
    thread = ctx.db.get(thread_id)
    if thread is None:
        return None
    hot = (
        ctx.db.query("sms_messages")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread_id))
        .order("desc")
        .take(HOT_MESSAGES)
    )
    return {
        "thread": thread,
        "key": rows.thread_key(thread["phone"], thread["our_number"]),
        "hot": len(hot),
        "known": sorted({m.get("archive_id") or m["_id"] for m in hot}),
        "sids": sorted({m["message_sid"] for m in hot if m["message_sid"]}),
    }


@internal_mutation(args={"thread_id": v.id("sms_threads"), "rows": v.array(v.any())})
def hydrate(ctx: MutationCtx, thread_id: str, rows: list[Any]) -> Any:
    """Insert archived messages missing from the hot copy (matched by id and MessageSid)."""
    thread = ctx.db.get(thread_id)
    if thread is None:
        return 0
    hot = (
        ctx.db.query("sms_messages")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread_id))
        .take(TRIM_SCAN)
    )
    known = {m.get("archive_id") or m["_id"] for m in hot}
    sids = {m["message_sid"] for m in hot if m["message_sid"]}
    added = 0
    for row in rows[:HOT_MESSAGES]:
        if row["id"] in known or (row.get("message_sid") and row["message_sid"] in sids):
            continue
        ctx.db.insert(
            "sms_messages",
            {
                "thread_id": thread_id,
                "direction": row["direction"],
                "body": row["body"],
                "status": row["status"] or "unknown",
                "message_sid": row.get("message_sid"),
                "agent_id": row.get("agent_id"),
                "at": float(row["sent_at"]),
                "error_code": row.get("error_code"),
                "archived": True,
                "archive_id": row["id"],
            },
        )
        added += 1
    return added


@action(args={"thread_id": v.id("sms_threads")})
async def open_thread(ctx: ActionCtx, thread_id: str) -> Any:
    """Open a conversation: its last messages, hydrated from the archive when the hot
    store has fewer than it should."""
    me(ctx)
    view = await ctx.run_query("archive/hot:hot_view", {"thread_id": thread_id})
    if view is None:
        from reactor import UserError

        raise UserError({"code": "thread_not_found", "thread_id": thread_id})
    wanted = min(HOT_MESSAGES, int(view["thread"]["message_count"]))
    hydrated = 0
    if view["hot"] < wanted:
        async with open_archive(ctx.env) as archive:
            last = await archive.last_messages(view["key"], HOT_MESSAGES)
        if last:
            hydrated = await ctx.run_mutation(
                "archive/hot:hydrate", {"thread_id": thread_id, "rows": [_plain(r) for r in last]}
            )
    messages = await ctx.run_query("sms/threads:messages", {"thread_id": thread_id})
    return {"thread_id": thread_id, "hydrated": hydrated, "messages": messages}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """An archive row as reactor values (SQLite and PostgreSQL types differ a little)."""
    keep = ("id", "direction", "body", "status", "message_sid", "agent_id", "error_code")
    out: dict[str, Any] = {k: row.get(k) for k in keep}
    out["sent_at"] = float(row["sent_at"])
    if out["error_code"] is not None:
        out["error_code"] = float(out["error_code"])
    return out
