"""Voicemail inbox: new -> assigned -> done."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib.auth import is_supervisor, me, self_or_supervisor


@query(
    args={
        "status": v.optional(v.union(v.literal("new"), v.literal("assigned"), v.literal("done"))),
        "limit": v.optional(v.number()),
    }
)
def list(ctx: QueryCtx, status: str = "new", limit: float = 50) -> Any:
    """Voicemails by status. Supervisors see everything; agents see the new ones without
    their content (to take one) and the content of those assigned to them."""
    agent_id = me(ctx)
    n = max(1, min(200, int(limit)))
    if not is_supervisor(ctx) and status != "new":
        return (
            ctx.db.query("voicemails")
            .with_index("by_assignee", lambda q: q.eq("assigned_to", agent_id).eq("status", status))
            .take(n)
        )
    rows = (
        ctx.db.query("voicemails").with_index("by_status", lambda q: q.eq("status", status)).take(n)
    )
    if is_supervisor(ctx):
        return rows
    return [{**r, "transcription": None, "recording_id": None} for r in rows]


@query(args={"voicemail_id": v.id("voicemails")})
def get(ctx: QueryCtx, voicemail_id: str) -> Any:
    """One voicemail with its content: its assignee and supervisors."""
    agent_id = me(ctx)
    vm = ctx.db.get(voicemail_id)
    if vm is None:
        return None
    if not is_supervisor(ctx) and vm["assigned_to"] != agent_id:
        raise UserError({"code": "forbidden", "message": "not your voicemail"})
    return vm


@mutation(args={"voicemail_id": v.id("voicemails"), "agent_id": v.optional(v.string())})
def assign(ctx: MutationCtx, voicemail_id: str, agent_id: str | None = None) -> None:
    """Take a voicemail (or, as a supervisor, give it to an agent)."""
    agent_id = self_or_supervisor(ctx, agent_id)
    vm = ctx.db.get(voicemail_id)
    if vm is None or vm["status"] == "done":
        raise UserError({"code": "voicemail_not_open"})
    taken_by = vm["assigned_to"]
    if taken_by is not None and taken_by != agent_id and not is_supervisor(ctx):
        # Agents take only unassigned voicemails; moving one is a supervisor's call.
        raise UserError({"code": "voicemail_taken", "assigned_to": taken_by})
    ctx.db.patch(voicemail_id, {"assigned_to": agent_id, "status": "assigned"})


@mutation(args={"voicemail_id": v.id("voicemails")})
def done(ctx: MutationCtx, voicemail_id: str) -> None:
    agent_id = me(ctx)
    vm = ctx.db.get(voicemail_id)
    if vm is None or vm["assigned_to"] != agent_id:
        raise UserError({"code": "forbidden"})
    ctx.db.patch(voicemail_id, {"status": "done"})
