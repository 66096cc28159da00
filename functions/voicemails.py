"""Voicemail inbox: new -> assigned -> done."""

from __future__ import annotations

from reactor import UserError, mutation, query, v

from .lib.auth import me, self_or_supervisor


@query(
    args={
        "status": v.optional(v.union(v.literal("new"), v.literal("assigned"), v.literal("done"))),
        "limit": v.optional(v.number()),
    }
)
def list(ctx, status="new", limit=50):
    me(ctx)
    return (
        ctx.db.query("voicemails")
        .with_index("by_status", lambda q: q.eq("status", status))
        .take(int(limit))
    )


@mutation(args={"voicemail_id": v.id("voicemails"), "agent_id": v.optional(v.string())})
def assign(ctx, voicemail_id, agent_id=None):
    """Take a voicemail (or, as a supervisor, give it to an agent)."""
    agent_id = self_or_supervisor(ctx, agent_id)
    vm = ctx.db.get(voicemail_id)
    if vm is None or vm["status"] == "done":
        raise UserError({"code": "voicemail_not_open"})
    ctx.db.patch(voicemail_id, {"assigned_to": agent_id, "status": "assigned"})


@mutation(args={"voicemail_id": v.id("voicemails")})
def done(ctx, voicemail_id):
    agent_id = me(ctx)
    vm = ctx.db.get(voicemail_id)
    if vm is None or vm["assigned_to"] != agent_id:
        raise UserError({"code": "forbidden"})
    ctx.db.patch(voicemail_id, {"status": "done"})
