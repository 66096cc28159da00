"""Transfers to an outside number (a partner, a back office, another site).

The number is added to the call's conference as a participant (``leg.external``).
**Cold**: once it answers, the call leaves the centre — the agent's leg is dropped, the
call is completed in our records (handled and credited to the agent, one transfer out)
while the customer and the outside party stay connected in the conference. **Warm**: the
agent consults first, the customer held or listening, then ``complete`` hands over the
same way; ``cancel`` drops the outside party instead. The outside number must not be on
the do-not-call list (refused and audited like a dial).
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, v

from .lib import compliance, core, outbox, stats
from .lib.auth import me
from .lib.phone import normalize_e164
from .twilio import legs


def _own_live_call(ctx: QueryCtx, call_id: str) -> dict[str, Any]:
    call = core.get_call(ctx, call_id)
    if call["agent_id"] != me(ctx) or call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_your_live_call", "call_id": call_id})
    return call


def _external_leg(ctx: QueryCtx, call_id: str) -> dict[str, Any] | None:
    live = legs.live_legs(ctx, call_id, "external")
    return live[0] if live else None


@mutation(
    args={
        "call_id": v.id("calls"),
        "to": v.string(),
        "mode": v.union(v.literal("warm"), v.literal("cold")),
    }
)
def request(ctx: MutationCtx, call_id: str, to: str, mode: str) -> Any:
    """Ring an outside number into my call; ``{"ok": False, "code": "dnc"}`` if barred."""
    call = _own_live_call(ctx, call_id)
    phone = normalize_e164(to)
    if phone == call["phone"]:
        raise UserError({"code": "invalid_target", "message": "that is the customer's number"})
    pending = (
        ctx.db.query("commands")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .order("desc")
        .filter(lambda c: c["kind"] == "leg.external" and c["status"] in ("pending", "failed"))
        .first()
    )
    if pending is not None or _external_leg(ctx, call_id) is not None:
        raise UserError({"code": "transfer_pending", "call_id": call_id})
    if compliance.is_blocked(ctx, phone, "voice"):
        audit_id = compliance.audit(
            ctx,
            phone,
            "voice",
            "blocked_send",
            "transfer",
            actor_id=call["agent_id"],
            reason="dnc",
        )
        return {"ok": False, "code": "dnc", "phone": phone, "audit_id": audit_id}
    command_id = outbox.enqueue(
        ctx,
        "leg.external",
        call_id=call_id,
        agent_id=call["agent_id"],
        args={"to": phone, "mode": mode},
    )
    return {"ok": True, "command_id": command_id, "phone": phone, "mode": mode}


def hand_over(ctx: MutationCtx, call: dict[str, Any], agent_id: str) -> None:
    """The outside party has the customer: our part of the call is over."""
    ctx.db.patch(call["_id"], {"transfers": call["transfers"] + 1})
    stats.bump(ctx, call["day"], {"transfers": 1}, agent_id, {"transfers_out": 1})
    core.end_call(ctx, core.get_call(ctx, call["_id"]), "completed")
    outbox.enqueue(
        ctx,
        "call.leave",
        call_id=call["_id"],
        agent_id=agent_id,
        args={"call_sid": call["call_sid"], "reason": "transferred_out"},
    )


@mutation(args={"call_id": v.id("calls")})
def complete(ctx: MutationCtx, call_id: str) -> Any:
    """Warm: after the consult, leave the customer with the outside party."""
    call = _own_live_call(ctx, call_id)
    leg = _external_leg(ctx, call_id)
    if leg is None or leg["answered_at"] is None:
        raise UserError({"code": "no_outside_party", "call_id": call_id})
    hand_over(ctx, call, call["agent_id"])
    return {"call_id": call_id}


@mutation(args={"call_id": v.id("calls")})
def cancel(ctx: MutationCtx, call_id: str) -> Any:
    """Drop the outside party (ringing or consulted); the agent keeps the customer."""
    call = _own_live_call(ctx, call_id)
    leg = _external_leg(ctx, call_id)
    if leg is None:
        raise UserError({"code": "no_outside_party", "call_id": call_id})
    outbox.enqueue(
        ctx,
        "leg.hangup",
        call_id=call_id,
        agent_id=call["agent_id"],
        args={"leg_sid": leg["call_sid"], "reason": "transfer_canceled"},
    )
    return {"call_id": call_id}
