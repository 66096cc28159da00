"""Customers, looked up by caller id (E.164)."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib.auth import me
from .lib.phone import normalize_e164
from .lib.settings import zone


@mutation(
    args={
        "name": v.string(),
        "phone": v.string(),
        "account_ref": v.optional(v.string()),
        "tier": v.optional(v.string()),
        "preferred_language": v.optional(v.string()),
        "time_zone": v.optional(v.string()),
    }
)
def create(
    ctx: MutationCtx,
    name: str,
    phone: str,
    account_ref: str | None = None,
    tier: str = "standard",
    preferred_language: str | None = None,
    time_zone: str | None = None,
) -> Any:
    me(ctx)
    if time_zone is not None:
        zone(time_zone)
    phone = normalize_e164(phone)
    if ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first():
        raise UserError({"code": "customer_exists", "phone": phone})
    return ctx.db.insert(
        "customers",
        {
            "name": name,
            "phone": phone,
            "account_ref": account_ref,
            "tier": tier,
            "preferred_language": preferred_language,
            "last_agent_id": None,
            "last_contact_at": None,
            "time_zone": time_zone,
        },
    )


@mutation(
    args={
        "customer_id": v.id("customers"),
        "name": v.optional(v.string()),
        "tier": v.optional(v.string()),
        "preferred_language": v.optional(v.string()),
    }
)
def update(
    ctx: MutationCtx,
    customer_id: str,
    name: str | None = None,
    tier: str | None = None,
    preferred_language: str | None = None,
) -> None:
    me(ctx)
    fields = {
        k: val
        for k, val in (("name", name), ("tier", tier), ("preferred_language", preferred_language))
        if val is not None
    }
    if ctx.db.get(customer_id) is None:
        raise UserError({"code": "customer_not_found"})
    ctx.db.patch(customer_id, fields)


@query(args={"phone": v.string()})
def lookup(ctx: QueryCtx, phone: str) -> Any:
    """The customer with this number (any format), or None."""
    me(ctx)
    phone = normalize_e164(phone)
    return ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first()


@query(args={"customer_id": v.id("customers"), "limit": v.optional(v.number())})
def history(ctx: QueryCtx, customer_id: str, limit: float = 20) -> Any:
    """The customer record with their most recent calls."""
    me(ctx)
    customer = ctx.db.get(customer_id)
    calls = (
        ctx.db.query("calls")
        .with_index("by_customer", lambda q: q.eq("customer_id", customer_id))
        .order("desc")
        .take(int(limit))
    )
    return {"customer": customer, "calls": calls}
