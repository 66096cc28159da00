"""Call transcripts (searchable by text) and the live transcript stream (``messages``)."""

from __future__ import annotations

from reactor import internal_mutation, query, v

from .lib.auth import is_supervisor, me

ROLE = v.union(*(v.literal(r) for r in ("user", "assistant", "agent", "customer", "system")))


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "text": v.string(),
        "language": v.optional(v.string()),
        "model": v.optional(v.string()),
    }
)
def save(ctx, call_id, text, language=None, model=None):
    """Store a finished transcription and link it to the call and customer."""
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
    tid = ctx.db.insert(
        "transcripts",
        {
            "call_id": call_id,
            "customer_id": call["customer_id"],
            "agent_id": call["agent_id"],
            "text": text,
            "language": language,
            "model": model,
        },
    )
    ctx.db.patch(call_id, {"transcript_id": tid})
    return tid


@query(args={"call_id": v.id("calls")})
def for_call(ctx, call_id):
    me(ctx)
    return (
        ctx.db.query("transcripts")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .first()
    )


@query(
    args={
        "text": v.string(),
        "customer_id": v.optional(v.id("customers")),
        "limit": v.optional(v.number()),
    }
)
def search(ctx, text, customer_id=None, limit=20):
    """Transcripts matching ``text`` by relevance. Agents search their own calls;
    supervisors search all (optionally one customer's)."""
    agent_id = me(ctx)
    supervisor = is_supervisor(ctx)

    def build(q):
        q = q.search("text", text)
        if customer_id is not None:
            q = q.eq("customer_id", customer_id)
        if not supervisor:
            q = q.eq("agent_id", agent_id)
        return q

    return ctx.db.query("transcripts").with_search_index("search_text", build).take(int(limit))


@internal_mutation(args={"call_id": v.id("calls"), "role": ROLE, "text": v.string()})
def append(ctx, call_id, role, text):
    """Append a chunk to a call's live transcript (the streaming voice demo)."""
    return ctx.db.insert("messages", {"call_id": call_id, "role": role, "text": text})


@query(args={"call_id": v.id("calls")})
def live(ctx, call_id):
    """The live transcript of a call, in order."""
    me(ctx)
    return (
        ctx.db.query("messages").with_index("by_call", lambda q: q.eq("call_id", call_id)).collect()
    )
