"""Inbound queue configuration: dialled number -> queue, required skills, priority, SLA."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

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
        "max_wait_s": v.optional(v.number()),
    }
)
def upsert(
    ctx: MutationCtx,
    name: str,
    number: str,
    required_skills: dict[str, Any] | None = None,
    priority: float = 0.0,
    sla_seconds: float = 20.0,
    escalate_after_s: float | None = None,
    escalated_skills: dict[str, Any] | None = None,
    max_wait_s: float | None = None,
) -> Any:
    """Create or replace a queue. With ``escalate_after_s``, a call that waited that long is
    offered to agents with ``escalated_skills`` (default: any agent); with ``max_wait_s``
    a caller no agent took within that time leaves a voicemail (``overflow:sweep``)."""
    require_supervisor(ctx)
    if not 1 <= sla_seconds <= 3600:
        raise UserError(
            {"code": "out_of_range", "field": "sla_seconds", "message": "1 to 3600 s allowed"}
        )
    if max_wait_s is not None and not 10 <= max_wait_s <= 3600:
        raise UserError(
            {"code": "out_of_range", "field": "max_wait_s", "message": "10 to 3600 s allowed"}
        )
    doc = {
        "name": name,
        "number": normalize_e164(number),
        "required_skills": required_skills or {},
        "priority": priority,
        "sla_seconds": sla_seconds,
        "escalate_after_s": escalate_after_s,
        "escalated_skills": (escalated_skills or {}) if escalate_after_s is not None else None,
        "max_wait_s": max_wait_s,
    }
    existing = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", name)).first()
    if existing is None:
        return ctx.db.insert("queues", doc)
    ctx.db.replace(existing["_id"], doc)
    return existing["_id"]


@query(args={})
def list(ctx: QueryCtx) -> Any:
    me(ctx)
    return ctx.db.query("queues").with_index("by_name").take(100)
