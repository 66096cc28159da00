"""Call transcripts (searchable by text) and the live transcript stream (``messages``)."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, query, v

from .lib.access import require_call_reader
from .lib.auth import is_supervisor, me

LIVE_LIMIT = 2000
ROLE = v.union(*(v.literal(r) for r in ("user", "assistant", "agent", "customer", "system")))


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "text": v.string(),
        "language": v.optional(v.string()),
        "model": v.optional(v.string()),
        "recording_sid": v.optional(v.string()),
    }
)
def save(
    ctx: MutationCtx,
    call_id: str,
    text: str,
    language: str | None = None,
    model: str | None = None,
    recording_sid: str | None = None,
) -> Any:
    """Store a finished transcription and link it to the call and customer.

    Idempotent per (call, recording): a retried transcription replaces the text.
    """
    call = ctx.db.get(call_id)
    if call is None:
        return None
    if call["status"] == "voicemail":
        vm = (
            ctx.db.query("voicemails")
            .with_index("by_call", lambda q: q.eq("call_id", call_id))
            .first()
        )
        if vm is not None:
            ctx.db.patch(vm["_id"], {"transcription": text})
    fields = {
        "call_id": call_id,
        "customer_id": call["customer_id"],
        "agent_id": call["agent_id"],
        "text": text,
        "language": language,
        "model": model,
        "recording_sid": recording_sid,
    }
    existing = [
        t
        for t in ctx.db.query("transcripts")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .take(50)
        if t.get("recording_sid") == recording_sid
    ]
    if existing:
        tid = existing[0]["_id"]
        ctx.db.replace(tid, fields)
    else:
        tid = ctx.db.insert("transcripts", fields)
    ctx.db.patch(call_id, {"transcript_id": tid})
    return tid


@query(args={"call_id": v.id("calls")})
def for_call(ctx: QueryCtx, call_id: str) -> Any:
    """A call's transcript: for the agents who were on it and supervisors."""
    require_call_reader(ctx, call_id)
    return (
        ctx.db.query("transcripts")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .order("desc")
        .first()
    )


@query(
    args={
        "text": v.string(),
        "customer_id": v.optional(v.id("customers")),
        "limit": v.optional(v.number()),
    }
)
def search(ctx: QueryCtx, text: str, customer_id: str | None = None, limit: float = 20) -> Any:
    """Transcripts matching ``text`` by relevance. Agents search their own calls;
    supervisors search all (optionally one customer's)."""
    agent_id = me(ctx)
    supervisor = is_supervisor(ctx)

    def build(q: Any) -> Any:
        q = q.search("text", text)
        if customer_id is not None:
            q = q.eq("customer_id", customer_id)
        if not supervisor:
            q = q.eq("agent_id", agent_id)
        return q

    return ctx.db.query("transcripts").with_search_index("search_text", build).take(int(limit))


@internal_mutation(args={"call_id": v.id("calls"), "role": ROLE, "text": v.string()})
def append(ctx: MutationCtx, call_id: str, role: Any, text: str) -> Any:
    """Append a chunk to a call's live transcript (the streaming voice demo)."""
    return ctx.db.insert("messages", {"call_id": call_id, "role": role, "text": text})


@query(args={"call_id": v.id("calls")})
def live(ctx: QueryCtx, call_id: str) -> Any:
    """The live transcript of a call, in order (its agents and supervisors)."""
    require_call_reader(ctx, call_id)
    return (
        ctx.db.query("messages")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .take(LIVE_LIMIT)
    )
