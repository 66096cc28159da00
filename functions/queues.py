"""Inbound queue configuration: dialled number -> queue, required skills, priority, SLA."""

from __future__ import annotations

from reactor import UserError, mutation, query, v

from .lib.auth import me, require_supervisor
from .lib.phone import normalize_e164


@mutation(
    args={
        "name": v.string(),
        "number": v.string(),
        "required_skills": v.optional(v.record(v.string(), v.number())),
        "priority": v.optional(v.number()),
        "sla_seconds": v.optional(v.number()),
        "escalate_after_s": v.optional(v.number()),
        "escalated_skills": v.optional(v.record(v.string(), v.number())),
    }
)
def upsert(
    ctx,
    name,
    number,
    required_skills=None,
    priority=0.0,
    sla_seconds=20.0,
    escalate_after_s=None,
    escalated_skills=None,
):
    """Create or replace a queue. With ``escalate_after_s``, a call that waited that long is
    offered to agents with ``escalated_skills`` (default: any agent)."""
    require_supervisor(ctx)
    if not 1 <= sla_seconds <= 3600:
        raise UserError(
            {"code": "out_of_range", "field": "sla_seconds", "message": "1 to 3600 s allowed"}
        )
    doc = {
        "name": name,
        "number": normalize_e164(number),
        "required_skills": required_skills or {},
        "priority": priority,
        "sla_seconds": sla_seconds,
        "escalate_after_s": escalate_after_s,
        "escalated_skills": (escalated_skills or {}) if escalate_after_s is not None else None,
    }
    existing = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", name)).first()
    if existing is None:
        return ctx.db.insert("queues", doc)
    ctx.db.replace(existing["_id"], doc)
    return existing["_id"]


@query(args={})
def list(ctx):
    me(ctx)
    return ctx.db.query("queues").with_index("by_name").take(100)
