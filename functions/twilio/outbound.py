"""Browser-originated calls (click-to-dial, campaign Next Call) through the TwiML App.

``calls:dial`` / ``campaigns:next_call`` create the call row; the browser then runs
``device.connect({params: {To, callId, leadId}})`` and Twilio requests the TwiML App's
voice URL (``/twilio/voice/outbound``) for the agent's (parent) leg. Nothing the browser
sends is trusted: the row must be this agent's fresh outbound call, still ringing, to
the same number and lead, without a leg yet, and the do-not-call list is checked again.
"""

from __future__ import annotations

from typing import Any, NoReturn

from reactor import MutationCtx, QueryCtx, UserError, internal_mutation, v

from .. import calls
from ..lib import compliance, core, outbox
from ..lib.phone import normalize_e164
from . import legs
from .twiml import conference_name

MAX_AGE_MS = 120_000.0
DNC_MESSAGE = "This number is on the do not call list. The call was not placed."
QUIET_HOURS_MESSAGE = "It is outside calling hours where this customer is. The call was not placed."


def _refuse(code: str, message: str, **extra: Any) -> NoReturn:
    raise UserError({"code": code, "message": message, **extra})


@internal_mutation(
    args={
        "call_sid": v.string(),
        "from_identity": v.string(),
        "to": v.string(),
        "call_id": v.id("calls"),
        "lead_id": v.optional(v.string()),
        "default_caller_id": v.optional(v.string()),
    }
)
def start_leg(
    ctx: MutationCtx,
    call_sid: str,
    from_identity: str,
    to: str,
    call_id: str,
    lead_id: str | None = None,
    default_caller_id: str | None = None,
) -> Any:
    """Validate the browser's call and attach its leg; ``{"ok": False, "say"}`` to refuse.

    Raises ``UserError`` (the webhook answers 400, nothing changes) when the parameters
    do not describe this agent's pending call; returns a spoken refusal (and ends the
    call, audited) when the number may not be called.
    """
    if not from_identity.startswith("client:") or len(from_identity) <= len("client:"):
        _refuse("not_a_softphone", "From must be client:<agent id>")
    agent_id = from_identity[len("client:") :]
    call = ctx.db.get(call_id)
    if call is None:
        _refuse("call_not_found", "callId does not name a call")
    existing = legs.by_sid(ctx, call_sid)
    if existing is not None:
        if existing["call_id"] != call_id or existing["role"] != "browser":
            _refuse("leg_mismatch", "this CallSid belongs to another call")
        return _decision(ctx, call)
    if call["direction"] != "outbound" or call["agent_id"] != agent_id:
        _refuse("not_your_call", "callId is not an outbound call of this agent")
    if call["status"] != "ringing" or legs.of_call(ctx, call_id, "browser"):
        _refuse(
            "call_not_pending", "the call was already placed or has ended", status=call["status"]
        )
    if ctx.now - call["created_at"] > MAX_AGE_MS:
        _refuse("call_expired", "the call was created too long ago; dial again")
    phone = normalize_e164(to)
    if phone != call["phone"]:
        _refuse("number_mismatch", "To is not the number this call was created for")
    if (lead_id or None) != (call["lead_id"] or None):
        _refuse("lead_mismatch", "leadId does not match the call's lead")
    caller_id = _caller_id(ctx, call) or default_caller_id
    if not caller_id:
        raise UserError({"code": "twilio_not_configured", "missing": ["TWILIO_CALLER_ID"]})
    legs.ensure(ctx, call_sid, call_id, "browser", agent_id)
    legs.ensure_conference(ctx, call_id, conference_name(call_id))
    calls.attach_sid.handler(ctx, call_id=call_id, call_sid=call_sid, leg="agent")
    refusal = _compliance_refusal(ctx, call, agent_id)
    if refusal is not None:
        core.end_call(ctx, core.get_call(ctx, call_id), "failed")
        return refusal
    outbox.enqueue(
        ctx,
        "leg.dial",
        call_id=call_id,
        agent_id=agent_id,
        args={"to": call["phone"], "caller_id": caller_id},
        idempotency_key=f"leg.dial:{call_id}",
    )
    return _decision(ctx, core.get_call(ctx, call_id))


def _caller_id(ctx: QueryCtx, call: dict[str, Any]) -> str | None:
    if call["campaign_id"] is not None:
        campaign = ctx.db.get(call["campaign_id"])
        if campaign is not None and campaign["caller_id"]:
            return str(campaign["caller_id"])
    return str(call["our_number"]) if call["our_number"] else None


def _compliance_refusal(
    ctx: MutationCtx, call: dict[str, Any], agent_id: str
) -> dict[str, Any] | None:
    if compliance.is_blocked(ctx, call["phone"], "voice"):
        audit_id = compliance.audit(
            ctx,
            call["phone"],
            "voice",
            "blocked_send",
            "softphone",
            actor_id=agent_id,
            reason="dnc",
        )
        return {"ok": False, "code": "dnc", "say": DNC_MESSAGE, "audit_id": audit_id}
    refused = compliance.refuse_quiet_hours(
        ctx, call["phone"], "voice", "softphone", call["customer_id"], actor_id=agent_id
    )
    if refused is not None:
        return {**refused, "say": QUIET_HOURS_MESSAGE}
    return None


def _decision(ctx: QueryCtx, call: dict[str, Any]) -> dict[str, Any]:
    if call["status"] in core.TERMINAL_CALL:
        return {"ok": False, "code": "call_ended", "say": "This call has ended."}
    return {"ok": True, "call_id": call["_id"], "phone": call["phone"]}
