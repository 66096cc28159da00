"""The state changes behind the SMS webhooks and the ``sms.send`` executor.

Inbound messages go through ``sms/threads:on_incoming`` (thread, unread count, keyword
classification, audit). Twilio's ``OptOutType`` (Advanced Opt-Out on a Messaging
Service) is authoritative when present: the carrier and Twilio have already acted on it,
so it overrides our own classifier, and Twilio has already sent the reply.
"""

from __future__ import annotations

from reactor import internal_mutation, internal_query, v

from ..lib import compliance, stats
from ..lib.clock import day_of
from ..sms import compliance as sms_compliance
from ..sms import threads

MEDIA = v.array(v.object({"url": v.string(), "content_type": v.string()}))
TWILIO_OPT_OUT = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
MAX_MEDIA = 10


@internal_mutation(
    args={
        "message_sid": v.string(),
        "from_number": v.string(),
        "to_number": v.string(),
        "body": v.string(),
        "media": v.optional(MEDIA),
        "opt_out_type": v.optional(v.string()),
    }
)
def incoming(ctx, message_sid, from_number, to_number, body, media=None, opt_out_type=None):
    """An inbound SMS/MMS; idempotent on MessageSid. Says whether to answer HELP."""
    result = threads.on_incoming.handler(
        ctx, message_sid=message_sid, from_number=from_number, to_number=to_number, body=body
    )
    if result["duplicate"]:
        return {**result, "reply_help": False}
    if media:
        ctx.db.patch(result["message_id"], {"media": media[:MAX_MEDIA]})
    ours = result["keyword"]
    theirs = TWILIO_OPT_OUT.get((opt_out_type or "").strip().upper())
    final = theirs or ours
    if theirs is not None and theirs != ours:
        thread = ctx.db.get(result["thread_id"])
        phone = thread["phone"]
        keyword = body.strip().upper()[:40] or None
        if theirs in ("opt_out", "opt_in"):
            compliance.set_dnc(
                ctx,
                phone,
                "sms",
                theirs == "opt_out",
                theirs,
                "twilio_opt_out_type",
                keyword=keyword,
                raw_body=body,
                ref_sid=message_sid,
            )
            key = "opt_outs" if theirs == "opt_out" else "opt_ins"
            stats.bump(ctx, day_of(ctx, ctx.now), {key: 1.0}, scope=stats.SMS_SCOPE)
        else:
            compliance.audit(
                ctx,
                phone,
                "sms",
                "help",
                "twilio_opt_out_type",
                keyword=keyword,
                raw_body=body,
                ref_sid=message_sid,
            )
    return {**result, "keyword": final, "reply_help": final == "help" and theirs is None}


@internal_mutation(
    args={"message_sid": v.string(), "status": v.string(), "error_code": v.optional(v.number())}
)
def status(ctx, message_sid, status, error_code=None):
    """A delivery status callback (queued → sent → delivered, or failed/undelivered)."""
    return threads.on_status.handler(
        ctx, message_sid=message_sid, status=status, error_code=error_code
    )


@internal_query(args={"message_id": v.id("sms_messages")})
def outgoing(ctx, message_id):
    """What the executor needs to send a queued message, re-checked at send time."""
    msg = ctx.db.get(message_id)
    if msg is None:
        return None
    thread = ctx.db.get(msg["thread_id"])
    if thread is None:
        return None
    return {
        "message_sid": msg["message_sid"],
        "status": msg["status"],
        "phone": thread["phone"],
        "our_number": thread["our_number"],
        "blocked": compliance.is_blocked(ctx, thread["phone"], "sms"),
    }


@internal_mutation(
    args={"message_id": v.id("sms_messages"), "message_sid": v.string(), "status": v.string()}
)
def accepted(ctx, message_id, message_sid, status):
    """Twilio accepted the message: record its sid (status callbacks find it by sid)."""
    msg = ctx.db.get(message_id)
    if msg is None:
        return None
    threads.attach_sid.handler(ctx, message_id=message_id, message_sid=message_sid)
    threads.on_status.handler(ctx, message_sid=message_sid, status=status)
    return None


@internal_mutation(
    args={
        "message_id": v.id("sms_messages"),
        "error_code": v.nullable(v.number()),
        "reason": v.string(),
    }
)
def refused(ctx, message_id, error_code, reason):
    """Twilio refused the message (a 4xx), or it was blocked at send time: it failed."""
    msg = ctx.db.get(message_id)
    if msg is None:
        return None
    ctx.db.patch(message_id, {"status": "failed", "error_code": error_code})
    thread = ctx.db.get(msg["thread_id"])
    if thread is not None:
        if error_code == 21610:
            sms_compliance.on_carrier_block.handler(ctx, phone=thread["phone"])
        elif reason == "blocked":
            compliance.audit(
                ctx,
                thread["phone"],
                "sms",
                "blocked_send",
                "send_time_check",
                actor_id=msg["agent_id"],
                raw_body=msg["body"],
            )
    return None
