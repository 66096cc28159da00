"""DNC/DNT management and the compliance audit trail (who, when, from where)."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, mutation, query, v

from ..lib import compliance as lib
from ..lib import stats
from ..lib.auth import is_supervisor, me, require_supervisor
from ..lib.clock import day_of
from ..lib.phone import normalize_e164

CHANNEL = v.union(v.literal("voice"), v.literal("sms"))


@mutation(
    args={
        "phone": v.string(),
        "channel": CHANNEL,
        "dnc": v.boolean(),
        "note": v.optional(v.string()),
    }
)
def set_dnc(ctx: MutationCtx, phone: str, channel: Any, dnc: bool, note: str | None = None) -> Any:
    """Put a number on (or take it off) the do-not-call / do-not-text list.

    Any agent may add a number (a customer asked on the phone); only supervisors remove.
    """
    actor = me(ctx)
    if not dnc:
        require_supervisor(ctx)
    phone = normalize_e164(phone)
    action = "manual_dnc_add" if dnc else "manual_dnc_remove"
    return lib.set_dnc(ctx, phone, channel, dnc, action, "agent", actor_id=actor, raw_body=note)


@internal_mutation(args={"phone": v.string(), "message_sid": v.optional(v.string())})
def on_carrier_block(ctx: MutationCtx, phone: str, message_sid: str | None = None) -> Any:
    """Twilio refused a send with error 21610: the recipient is unsubscribed. Authoritative."""
    phone = normalize_e164(phone)
    stats.bump(ctx, day_of(ctx, ctx.now), {"opt_outs": 1}, scope=stats.SMS_SCOPE)
    return lib.set_dnc(ctx, phone, "sms", True, "opt_out", "twilio_21610", ref_sid=message_sid)


@query(args={"phone": v.string()})
def status(ctx: QueryCtx, phone: str) -> Any:
    """``{"voice": bool, "sms": bool}``: whether calling / texting the number is blocked."""
    me(ctx)
    phone = normalize_e164(phone)
    return {
        "phone": phone,
        "voice": lib.is_blocked(ctx, phone, "voice"),
        "sms": lib.is_blocked(ctx, phone, "sms"),
    }


MAX_EVENTS = 500


def _visible(ctx: QueryCtx, rows: Any) -> Any:
    """Supervisors see every event; an agent sees customer-initiated ones and their own."""
    if is_supervisor(ctx):
        return rows
    agent = me(ctx)
    return [r for r in rows if r["actor_id"] in (agent, None)]


def _newest_first(ctx: QueryCtx, phone: Any) -> Any:
    return (
        ctx.db.query("compliance_events")
        .with_index("by_phone", lambda q: q.eq("phone", phone))
        .order("desc")
    )


@query(args={"phone": v.string(), "limit": v.optional(v.number())})
def events(ctx: QueryCtx, phone: str, limit: float = 100) -> Any:
    """The audit trail of a number, newest first (at most 500; page with ``events_page``)."""
    me(ctx)
    phone = normalize_e164(phone)
    n = max(1, min(MAX_EVENTS, int(limit)))
    return _visible(ctx, _newest_first(ctx, phone).take(n))


@query(
    args={
        "phone": v.string(),
        "cursor": v.nullable(v.string()),
        "num_items": v.optional(v.number()),
    }
)
def events_page(ctx: QueryCtx, phone: str, cursor: str | None, num_items: float = 100) -> Any:
    """The whole audit trail of a number, newest first, a page at a time."""
    me(ctx)
    phone = normalize_e164(phone)
    n = max(1, min(MAX_EVENTS, int(num_items)))
    page = _newest_first(ctx, phone).paginate(num_items=n, cursor=cursor)
    return {**page, "page": _visible(ctx, page["page"])}
