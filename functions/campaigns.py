"""Outbound campaigns: a "Next Call" queue of leads per campaign (``call_queue``)."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from . import calls
from .lib import compliance, quiet_hours
from .lib.auth import me, require_supervisor
from .lib.phone import normalize_e164

LEAD = v.object(
    {"phone": v.string(), "name": v.optional(v.string()), "priority": v.optional(v.number())}
)


@mutation(
    args={
        "name": v.string(),
        "caller_id": v.string(),
        "max_attempts": v.optional(v.number()),
        "retry_after_s": v.optional(v.number()),
    }
)
def create(
    ctx: MutationCtx,
    name: str,
    caller_id: str,
    max_attempts: float = 3,
    retry_after_s: float = 3600,
) -> Any:
    supervisor = require_supervisor(ctx)
    return ctx.db.insert(
        "campaigns",
        {
            "name": name,
            "caller_id": normalize_e164(caller_id),
            "status": "active",
            "max_attempts": max_attempts,
            "retry_after_ms": retry_after_s * 1000.0,
            "created_by": supervisor,
        },
    )


@mutation(args={"campaign_id": v.id("campaigns"), "leads": v.array(LEAD)})
def add_leads(ctx: MutationCtx, campaign_id: str, leads: list[Any]) -> Any:
    """Add leads (higher ``priority`` is dialled first, then in insertion order)."""
    require_supervisor(ctx)
    if ctx.db.get(campaign_id) is None:
        raise UserError({"code": "campaign_not_found"})
    ids = []
    for lead in leads:
        phone = normalize_e164(lead["phone"])
        customer = (
            ctx.db.query("customers")
            .with_index("by_phone", lambda q, p=phone: q.eq("phone", p))  # type: ignore[misc]  # a default binds the loop variable
            .first()
        )
        ids.append(
            ctx.db.insert(
                "call_queue",
                {
                    "campaign_id": campaign_id,
                    "phone": phone,
                    "name": lead.get("name") or (customer["name"] if customer else phone),
                    "customer_id": customer["_id"] if customer else None,
                    "status": "pending",
                    "rank": -float(lead.get("priority") or 0.0),
                    "attempts": 0.0,
                    "next_attempt_at": 0.0,
                    "agent_id": None,
                    "call_id": None,
                    "outcome": None,
                },
            )
        )
    return ids


@mutation(
    args={
        "campaign_id": v.id("campaigns"),
        "status": v.union(v.literal("active"), v.literal("paused"), v.literal("done")),
    }
)
def set_status(ctx: MutationCtx, campaign_id: str, status: str) -> None:
    require_supervisor(ctx)
    ctx.db.patch(campaign_id, {"status": status})


@mutation(args={"campaign_id": v.id("campaigns")})
def next_call(ctx: MutationCtx, campaign_id: str) -> Any:
    """Dial the campaign's next due lead for the calling agent.

    Leads on the do-not-call list are skipped (and audited); leads whose number is on a
    live call are left for later. Returns ``{"ok": True, "call_id", "lead_id"}`` or
    ``{"ok": False, "code": "queue_empty"}``.
    """
    agent_id = me(ctx)
    campaign = ctx.db.get(campaign_id)
    if campaign is None or campaign["status"] != "active":
        raise UserError({"code": "campaign_inactive", "campaign_id": campaign_id})
    now = ctx.now
    candidates = (
        ctx.db.query("call_queue")
        .with_index(
            "by_campaign_status", lambda q: q.eq("campaign_id", campaign_id).eq("status", "pending")
        )
        .filter(lambda lead: lead["next_attempt_at"] <= now)
        .take(20)
    )
    for lead in candidates:
        if compliance.is_blocked(ctx, lead["phone"], "voice"):
            compliance.audit(
                ctx, lead["phone"], "voice", "blocked_send", "campaign", actor_id=agent_id
            )
            ctx.db.patch(lead["_id"], {"status": "skipped", "outcome": "dnc"})
            continue
        busy = (
            ctx.db.query("active_calls")
            .with_index("by_phone", lambda q, p=lead["phone"]: q.eq("phone", p))  # type: ignore[misc]  # a default binds the loop variable
            .first()
        )
        if busy is not None:
            continue
        why = quiet_hours.check(ctx, lead["phone"], lead["customer_id"])
        if why is not None:
            # Audited once, then the lead waits for the recipient's window to open.
            compliance.audit(
                ctx,
                lead["phone"],
                "voice",
                "blocked_send",
                "campaign",
                actor_id=agent_id,
                reason="quiet_hours",
            )
            ctx.db.patch(lead["_id"], {"next_attempt_at": why["allowed_from_ms"]})
            continue
        result = calls.start_outbound(
            ctx,
            agent_id,
            lead["phone"],
            customer_id=lead["customer_id"],
            campaign_id=campaign_id,
            lead_id=lead["_id"],
            our_number=campaign["caller_id"],
        )
        if not result["ok"]:
            continue
        ctx.db.patch(
            lead["_id"],
            {
                "status": "dialing",
                "attempts": lead["attempts"] + 1,
                "agent_id": agent_id,
                "call_id": result["call_id"],
            },
        )
        return {
            "ok": True,
            "call_id": result["call_id"],
            "lead_id": lead["_id"],
            "phone": lead["phone"],
        }
    return {"ok": False, "code": "queue_empty"}


@query(args={"campaign_id": v.id("campaigns"), "limit": v.optional(v.number())})
def pending(ctx: QueryCtx, campaign_id: str, limit: float = 50) -> Any:
    """The next leads in dialling order."""
    me(ctx)
    return (
        ctx.db.query("call_queue")
        .with_index(
            "by_campaign_status", lambda q: q.eq("campaign_id", campaign_id).eq("status", "pending")
        )
        .take(int(limit))
    )
