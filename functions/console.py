"""Read models the browser console needs that no other module serves.

``directory`` names the people on the floor for everyone signed in (who holds an SMS
lock, who a transfer can go to); ``handled_calls`` is the supervisor's list of calls to
grade. Both read bounded index ranges.
"""

from __future__ import annotations

from typing import Any

from reactor import QueryCtx, query, v

from .lib.auth import me, require_supervisor
from .lib.clock import day_of

MAX_AGENTS = 500
DAY_MS = 86_400_000.0


@query(args={})
def directory(ctx: QueryCtx) -> Any:
    """Every agent who ever signed in: id, name, status (with reason and since), skills,
    heartbeat. Agents see this to know who holds a thread or can take a transfer."""
    me(ctx)
    rows = ctx.db.query("agent_status").with_index("by_agent").take(MAX_AGENTS)
    return [
        {
            "agent_id": a["agent_id"],
            "name": a["name"],
            "status": a["status"],
            "reason": a["reason"],
            "status_since": a["status_since"],
            "heartbeat_at": a["heartbeat_at"],
            "call_id": a["call_id"],
            "skills": a["skills"],
        }
        for a in rows
    ]


@query(args={"days": v.optional(v.number()), "limit": v.optional(v.number())})
def handled_calls(ctx: QueryCtx, days: float = 7, limit: float = 100) -> Any:
    """Calls an agent answered in the last ``days`` UTC days, newest first (supervisors)."""
    require_supervisor(ctx)
    out: list[dict[str, Any]] = []
    span = max(1, min(int(days), 31))
    for back in range(span):
        day = day_of(ctx, ctx.now - back * DAY_MS)
        rows = ctx.db.query("calls").with_index("by_day", lambda q, d=day: q.eq("day", d)).take(500)  # type: ignore[misc]  # a default binds the loop variable
        handled = [c for c in rows if c["answered_at"] is not None and c["agent_id"] is not None]
        out.extend(sorted(handled, key=lambda c: -c["created_at"]))
        if len(out) >= limit:
            break
    customers = {}
    for call in out[: int(limit)]:
        cid = call["customer_id"]
        if cid is not None and cid not in customers:
            doc = ctx.db.get(cid)
            customers[cid] = doc["name"] if doc is not None else None
    return [
        {
            "call_id": c["_id"],
            "agent_id": c["agent_id"],
            "phone": c["phone"],
            "customer_name": customers.get(c["customer_id"]),
            "direction": c["direction"],
            "created_at": c["created_at"],
            "answered_at": c["answered_at"],
            "ended_at": c["ended_at"],
            "status": c["status"],
            "disposition": c["disposition"],
        }
        for c in out[: int(limit)]
    ]


@query(args={"thread_id": v.id("sms_threads")})
def thread(ctx: QueryCtx, thread_id: str) -> Any:
    """One SMS thread with its customer's name (None if it does not exist)."""
    me(ctx)
    doc = ctx.db.get(thread_id)
    if doc is None:
        return None
    customer = ctx.db.get(doc["customer_id"]) if doc["customer_id"] is not None else None
    return {**doc, "customer_name": customer["name"] if customer is not None else None}


@query(args={})
def campaigns(ctx: QueryCtx) -> Any:
    """Active outbound campaigns (for the agent's Next Call)."""
    me(ctx)
    rows = ctx.db.query("campaigns").take(100)
    return [
        {"_id": c["_id"], "name": c["name"], "max_attempts": c["max_attempts"]}
        for c in rows
        if c["status"] == "active"
    ]
