"""Call legs and conferences: which Twilio CallSid belongs to which call, and as whom.

Plain helpers used inside mutations (``voice_state.py``, ``outbound.py``) and by the
executor's queries. A leg is created when we learn its sid: the customer's on the
incoming webhook, an agent's when the REST call that added it answers (or its first
status callback, whichever is first), the dialled number's on its first callback.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx

Doc = dict[str, Any]

ANSWERED = ("in-progress", "answered")
ENDED = ("completed", "busy", "failed", "no-answer", "canceled")


def by_sid(ctx: QueryCtx, call_sid: str) -> Doc | None:
    return (
        ctx.db.query("call_legs").with_index("by_sid", lambda q: q.eq("call_sid", call_sid)).first()
    )


def of_call(ctx: QueryCtx, call_id: str, role: str | None = None) -> list[Doc]:
    def rng(q: Any) -> Any:
        q = q.eq("call_id", call_id)
        return q.eq("role", role) if role is not None else q

    return ctx.db.query("call_legs").with_index("by_call_role", rng).take(100)


def live_legs(ctx: QueryCtx, call_id: str, role: str | None = None) -> list[Doc]:
    return [leg for leg in of_call(ctx, call_id, role) if leg["ended_at"] is None]


def agent_legs(ctx: QueryCtx, call_id: str, agent_id: str) -> list[Doc]:
    return [
        leg
        for leg in of_call(ctx, call_id)
        if leg["agent_id"] == agent_id and leg["role"] in ("agent", "transfer_target", "supervisor")
    ]


def ensure(
    ctx: MutationCtx,
    call_sid: str,
    call_id: str,
    role: str,
    agent_id: str | None = None,
    command_id: str | None = None,
) -> Doc:
    """The leg with this sid, created if new (its role and call never change)."""
    leg = by_sid(ctx, call_sid)
    if leg is not None:
        if command_id is not None and leg["command_id"] is None:
            ctx.db.patch(leg["_id"], {"command_id": command_id})
            leg["command_id"] = command_id
        return leg
    doc: Doc = {
        "call_sid": call_sid,
        "call_id": call_id,
        "role": role,
        "agent_id": agent_id,
        "command_id": command_id,
        "status": "initiated",
        "sequence": -1.0,
        "answered_at": None,
        "ended_at": None,
        "created_at": ctx.now,
    }
    doc["_id"] = ctx.db.insert("call_legs", dict(doc))
    return doc


def conference(ctx: QueryCtx, call_id: str) -> Doc | None:
    return (
        ctx.db.query("call_conferences")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .first()
    )


def ensure_conference(ctx: MutationCtx, call_id: str, name: str) -> Doc:
    conf = conference(ctx, call_id)
    if conf is not None:
        return conf
    doc: Doc = {
        "call_id": call_id,
        "name": name,
        "conference_sid": None,
        "status": "pending",
        "updated_at": ctx.now,
    }
    doc["_id"] = ctx.db.insert("call_conferences", dict(doc))
    return doc


def conference_by_sid(ctx: QueryCtx, conference_sid: str) -> Doc | None:
    return (
        ctx.db.query("call_conferences")
        .with_index("by_sid", lambda q: q.eq("conference_sid", conference_sid))
        .first()
    )
