"""Agent presence and status: sign in/out, available/away with reasons, heartbeat.

Agents act only as themselves (identity ``subject`` is the agent id); supervisors may
force another agent's status (``force_status``) and read everyone (``dashboard``).
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib import core
from .lib.auth import me, require_supervisor, self_or_supervisor
from .sms.locks import release_all

OFFERS = v.array(v.any())


def _skills_of(ctx: QueryCtx, agent_id: str) -> dict[str, float]:
    rows = (
        ctx.db.query("agent_skills")
        .with_index("by_agent_skill", lambda q: q.eq("agent_id", agent_id))
        .take(100)
    )
    return {r["skill"]: r["level"] for r in rows}


@mutation(
    args={
        "name": v.optional(v.string()),
        "status": v.optional(v.union(v.literal("available"), v.literal("away"))),
        "reason": v.optional(v.string()),
    }
)
def sign_in(
    ctx: MutationCtx, name: str | None = None, status: str = "available", reason: str | None = None
) -> Any:
    """Sign the calling agent in (creating their status row on first sign-in)."""
    agent_id = me(ctx)
    agent = core.get_agent(ctx, agent_id)
    offers: list[dict[str, Any]] = []
    if agent is None:
        doc = {
            "agent_id": agent_id,
            "name": name or agent_id,
            "status": "offline",
            "reason": None,
            "status_since": ctx.now,
            "available_since": None,
            "heartbeat_at": ctx.now,
            "call_id": None,
            "reservation_kind": None,
            "reservation_expires_at": None,
            "missed_in_row": 0.0,
            "skills": _skills_of(ctx, agent_id),
        }
        doc["_id"] = ctx.db.insert("agent_status", dict(doc))
        agent = doc
    else:
        fields: dict[str, Any] = {"heartbeat_at": ctx.now}
        if name:
            fields["name"] = name
        ctx.db.patch(agent["_id"], fields)
        agent.update(fields)
    offers.extend(core.expire_reservations(ctx))
    if agent["status"] in ("offline", "available", "away"):
        if agent["status"] != status or agent["reason"] != reason:
            # Signing in again (a page reload) keeps an available agent's idle place.
            core.set_status(ctx, agent, status, reason=reason, missed_in_row=0.0)
        offer = core.offer_next_for_agent(ctx, agent)
        if offer is not None:
            offers.append(offer)
    return {"agent_id": agent_id, "status": agent["status"], "offers": offers}


@mutation(args={})
def sign_out(ctx: MutationCtx) -> None:
    """Sign out; refused while the agent has a call (reserved, on a call, in wrap-up)."""
    agent = core.require_agent(ctx, me(ctx))
    if agent["status"] in ("reserved", "on_call", "wrap_up"):
        raise UserError({"code": "agent_busy", "status": agent["status"]})
    core.set_status(ctx, agent, "offline", reason="signed_out")
    release_all(ctx, agent["agent_id"])
    return None


@mutation(
    args={
        "status": v.union(v.literal("available"), v.literal("away")),
        "reason": v.optional(v.string()),
    },
    returns=v.object({"status": v.string(), "offers": OFFERS}),
)
def set_status(ctx: MutationCtx, status: str, reason: str | None = None) -> Any:
    """Available, or away with a reason (break, lunch, training...)."""
    agent = core.require_agent(ctx, me(ctx))
    offers = core.expire_reservations(ctx)
    agent = core.require_agent(ctx, agent["agent_id"])
    if agent["status"] in ("reserved", "on_call", "wrap_up"):
        raise UserError({"code": "agent_busy", "status": agent["status"]})
    if status == "away" and not reason:
        raise UserError({"code": "reason_required"})
    if agent["status"] != status or agent["reason"] != reason:
        core.set_status(ctx, agent, status, reason=reason, missed_in_row=0.0)
    offer = core.offer_next_for_agent(ctx, agent)
    if offer is not None:
        offers.append(offer)
    return {"status": agent["status"], "offers": offers}


@mutation(args={})
def heartbeat(ctx: MutationCtx) -> None:
    """Softphone presence. Written at most every 30 s so dashboards are not churned."""
    agent = core.require_agent(ctx, me(ctx))
    if ctx.now - agent["heartbeat_at"] >= core.HEARTBEAT_WRITE_MS:
        ctx.db.patch(agent["_id"], {"heartbeat_at": ctx.now})
    return None


@mutation(
    args={
        "disposition": v.optional(v.string()),
        "notes": v.optional(v.string()),
        "next_status": v.optional(v.union(v.literal("available"), v.literal("away"))),
        "reason": v.optional(v.string()),
    },
    returns=v.object({"offers": OFFERS}),
)
def finish_wrap_up(
    ctx: MutationCtx,
    disposition: str | None = None,
    notes: str | None = None,
    next_status: str = "available",
    reason: str | None = None,
) -> Any:
    """End after-call work with a disposition; then available (or away) for the next call."""
    agent = core.require_agent(ctx, me(ctx))
    offers = core.finish_wrap_up(ctx, agent, disposition, notes, next_status, reason)
    return {"offers": offers}


@mutation(
    args={
        "agent_id": v.string(),
        "status": v.union(v.literal("available"), v.literal("away"), v.literal("offline")),
        "reason": v.optional(v.string()),
    }
)
def force_status(ctx: MutationCtx, agent_id: str, status: str, reason: str | None = None) -> Any:
    """Supervisor: change an agent's status, releasing whatever holds a stuck agent (a
    reservation, a live call, after-call work); every step is in the state event log
    with reason ``forced_by:<supervisor>``."""
    supervisor = require_supervisor(ctx)
    agent = core.get_agent(ctx, agent_id)
    if agent is None:
        raise UserError({"code": "agent_not_found", "agent_id": agent_id})
    offers = []
    if agent["status"] in ("reserved", "on_call", "wrap_up"):
        # A stuck agent (browser died mid-call or in wrap-up): end what holds them.
        offers.extend(core.force_release(ctx, agent, supervisor))
        agent = core.get_agent(ctx, agent_id) or agent
    if agent["status"] != status:
        core.set_status(ctx, agent, status, reason=reason or f"set_by:{supervisor}")
    if status == "offline":
        release_all(ctx, agent_id)
    offer = core.offer_next_for_agent(ctx, agent)
    if offer is not None:
        offers.append(offer)
    return {"offers": offers}


@query(args={"agent_id": v.optional(v.string())})
def me_status(ctx: QueryCtx, agent_id: str | None = None) -> Any:
    """The agent's own status row (supervisors may pass another agent's id)."""
    agent_id = self_or_supervisor(ctx, agent_id)
    return core.get_agent(ctx, agent_id)


@query(args={})
def my_offer(ctx: QueryCtx) -> Any:
    """The call currently ringing for the calling agent (or None)."""
    agent = core.get_agent(ctx, me(ctx))
    if agent is None or agent["status"] != "reserved" or agent["call_id"] is None:
        return None
    call = ctx.db.get(agent["call_id"])
    if call is None:
        return None
    customer = ctx.db.get(call["customer_id"]) if call["customer_id"] is not None else None
    return {
        "call_id": call["_id"],
        "kind": agent["reservation_kind"],
        "expires_at": agent["reservation_expires_at"],
        "phone": call["phone"],
        "queue": call["queue"],
        "customer": customer,
    }


@query(args={"agent_id": v.optional(v.string()), "limit": v.optional(v.number())})
def state_events(ctx: QueryCtx, agent_id: str | None = None, limit: float = 50) -> Any:
    """An agent's recent status changes, newest first."""
    agent_id = self_or_supervisor(ctx, agent_id)
    return (
        ctx.db.query("agent_state_events")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .take(int(limit))
    )
