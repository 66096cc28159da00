"""Live dashboard queries (all reactive). Supervisors see everyone; an agent sees their own
metrics only. Each query reads just the index ranges it needs (see docs/call-center.md).
"""

from __future__ import annotations

from typing import Any

from reactor import QueryCtx, internal_query, query, v

from .lib import core, stats
from .lib.auth import require_supervisor, self_or_supervisor
from .lib.clock import day_of

MAX_ROWS = 1000


@query(args={})
def active_calls(ctx: QueryCtx) -> Any:
    """Live calls (queued, ringing, talking, on hold, transferring) with their durations."""
    require_supervisor(ctx)
    rows = ctx.db.query("active_calls").with_index("by_started").take(MAX_ROWS)
    now = ctx.now
    return [
        {
            **r,
            "duration_ms": max(0.0, now - r["started_at"]),
            "talk_ms": max(0.0, now - r["answered_at"]) if r["answered_at"] is not None else 0.0,
        }
        for r in rows
    ]


@query(args={})
def agents(ctx: QueryCtx) -> Any:
    """Every signed-in agent's status and time in it, plus counts per status."""
    require_supervisor(ctx)
    now = ctx.now
    out: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for status in ("available", "reserved", "on_call", "wrap_up", "away"):
        rows = (
            ctx.db.query("agent_status")
            .with_index("by_status_idle", lambda q, s=status: q.eq("status", s))  # type: ignore[misc]  # a default binds the loop variable
            .take(MAX_ROWS)
        )
        counts[status] = len(rows)
        for a in rows:
            out.append(
                {
                    "agent_id": a["agent_id"],
                    "name": a["name"],
                    "status": a["status"],
                    "reason": a["reason"],
                    "call_id": a["call_id"],
                    "in_status_ms": max(0.0, now - a["status_since"]),
                    "live": core.is_live(a, now),
                }
            )
    return {"counts": counts, "agents": out}


@query(args={})
def queue(ctx: QueryCtx) -> Any:
    """Queue depth (waiting and ringing), longest and average current wait, per queue."""
    require_supervisor(ctx)
    now = ctx.now
    waiting = (
        ctx.db.query("incoming_call_queue")
        .with_index("by_state_enqueued", lambda q: q.eq("state", "waiting"))
        .take(MAX_ROWS)
    )
    offered = (
        ctx.db.query("incoming_call_queue")
        .with_index("by_state_enqueued", lambda q: q.eq("state", "offered"))
        .take(MAX_ROWS)
    )
    waits = [max(0.0, now - e["enqueued_at"]) for e in waiting]
    per_queue: dict[str, dict[str, float]] = {}
    for e, w in zip(waiting, waits, strict=True):
        q = per_queue.setdefault(
            e["queue"], {"waiting": 0, "longest_wait_ms": 0.0, "total_wait_ms": 0.0}
        )
        q["waiting"] += 1
        q["longest_wait_ms"] = max(q["longest_wait_ms"], w)
        q["total_wait_ms"] += w
    for q in per_queue.values():
        q["average_wait_ms"] = q.pop("total_wait_ms") / q["waiting"]
    return {
        "waiting": len(waiting),
        "ringing": len(offered),
        "longest_wait_ms": max(waits) if waits else 0.0,
        "average_wait_ms": sum(waits) / len(waits) if waits else 0.0,
        "queues": per_queue,
    }


@query(args={"day": v.optional(v.string()), "sl_seconds": v.optional(v.number())})
def today(
    ctx: QueryCtx, day: str | None = None, sl_seconds: float = stats.DEFAULT_SL_SECONDS
) -> Any:
    """Center metrics for one UTC day (default today): service level, abandonment, ASA, AHT..."""
    require_supervisor(ctx)
    day = day or day_of(ctx, ctx.now)
    doc = stats.get(ctx, "all", day)
    counters = doc["counters"] if doc else {}
    targets = stats.queue_service_level(counters)
    return {
        "day": day,
        **stats.metrics(counters, int(sl_seconds)),
        # Every call measured against its own queue's threshold.
        "service_level_queue_targets": targets["service_level"],
    }


@query(args={"day": v.optional(v.string())})
def queues_day(ctx: QueryCtx, day: str | None = None) -> Any:
    """Per-queue metrics for one day; each queue's service level uses its own threshold."""
    require_supervisor(ctx)
    day = day or day_of(ctx, ctx.now)
    out = []
    for q in ctx.db.query("queues").with_index("by_name").take(100):
        doc = stats.get(ctx, stats.queue_scope(q["name"]), day)
        counters = doc["counters"] if doc else {}
        out.append(
            {
                "queue": q["name"],
                "day": day,
                **stats.metrics(counters),
                "service_level_seconds": q["sla_seconds"],
                **stats.queue_service_level(counters),
            }
        )
    return out


@query(args={"agent_id": v.optional(v.string()), "day": v.optional(v.string())})
def agent_day(ctx: QueryCtx, agent_id: str | None = None, day: str | None = None) -> Any:
    """One agent's metrics for a day (agents: their own; supervisors: anyone)."""
    agent_id = self_or_supervisor(ctx, agent_id)
    day = day or day_of(ctx, ctx.now)
    doc = stats.get(ctx, stats.scope_of(agent_id), day)
    return {"agent_id": agent_id, "day": day, **stats.metrics(doc["counters"] if doc else {})}


@query(
    args={
        "from_day": v.string(),
        "to_day": v.string(),
        "agent_id": v.optional(v.string()),
        "sl_seconds": v.optional(v.number()),
    }
)
def history(
    ctx: QueryCtx,
    from_day: str,
    to_day: str,
    agent_id: str | None = None,
    sl_seconds: float = stats.DEFAULT_SL_SECONDS,
) -> Any:
    """Per-day metrics between two days (inclusive), center-wide or for one agent."""
    if agent_id is None:
        require_supervisor(ctx)
        scope = "all"
    else:
        scope = stats.scope_of(self_or_supervisor(ctx, agent_id))
    docs = (
        ctx.db.query("daily_stats")
        .with_index(
            "by_scope_day", lambda q: q.eq("scope", scope).gte("day", from_day).lte("day", to_day)
        )
        .take(400)
    )
    return [{"day": d["day"], **stats.metrics(d["counters"], int(sl_seconds))} for d in docs]


@query(args={"day": v.optional(v.string())})
def agents_day(ctx: QueryCtx, day: str | None = None) -> Any:
    """Every agent's metrics for one day (supervisor leaderboard)."""
    require_supervisor(ctx)
    day = day or day_of(ctx, ctx.now)
    docs = (
        ctx.db.query("daily_stats")
        .with_index(
            "by_day_scope", lambda q: q.eq("day", day).gte("scope", "agent:").lt("scope", "agent;")
        )
        .take(MAX_ROWS)
    )
    return [{"agent_id": d["agent_id"], **stats.metrics(d["counters"])} for d in docs]


@query(args={"day": v.optional(v.string())})
def sms_day(ctx: QueryCtx, day: str | None = None) -> Any:
    """Center-wide messaging for one day: received, sent, blocked sends, opt-outs/ins."""
    require_supervisor(ctx)
    day = day or day_of(ctx, ctx.now)
    doc = stats.get(ctx, stats.SMS_SCOPE, day)
    return {"day": day, **stats.sms_metrics(doc["counters"] if doc else {})}


@internal_query(args={"day": v.string(), "scope": v.optional(v.string())})
def raw_counters(ctx: QueryCtx, day: str, scope: str = "all") -> Any:
    """The raw counters of a (scope, day), for exports and consistency checks."""
    doc = stats.get(ctx, scope, day)
    return doc["counters"] if doc else {}
