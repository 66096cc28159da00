"""The state changes behind the SMS webhooks and the ``sms.send`` executor.

Inbound messages go through ``sms/threads:on_incoming`` (thread, unread count, keyword
classification, audit). Twilio's ``OptOutType`` (Advanced Opt-Out on a Messaging
Service) is authoritative when present: the carrier and Twilio have already acted on it,
so it overrides our own classifier, and Twilio has already sent the reply.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, internal_query, v

from ..lib import compliance
from ..sms import compliance as sms_compliance
from ..sms import threads

MEDIA = v.array(v.object({"url": v.string(), "content_type": v.string()}))
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
def incoming(
    ctx: MutationCtx,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    media: Any = None,
    opt_out_type: str | None = None,
) -> Any:
    """An inbound SMS/MMS; idempotent on MessageSid. Says whether to answer HELP.

    ``sms/threads:on_incoming`` takes Twilio's ``OptOutType`` over its own classifier;
    when Twilio classified the message it has also answered it, so we only answer a HELP
    that Twilio did not.
    """
    fields = {
        "message_sid": message_sid,
        "from_number": from_number,
        "to_number": to_number,
        "body": body,
    }
    if opt_out_type:
        fields["opt_out_type"] = opt_out_type
    result = threads.on_incoming.handler(ctx, **fields)
    if result["duplicate"]:
        return {**result, "reply_help": False}
    if media:
        ctx.db.patch(result["message_id"], {"media": media[:MAX_MEDIA]})
    return {**result, "reply_help": result["keyword"] == "help" and not opt_out_type}


@internal_mutation(
    args={"message_sid": v.string(), "status": v.string(), "error_code": v.optional(v.number())}
)
def status(ctx: MutationCtx, message_sid: str, status: str, error_code: float | None = None) -> Any:
    """A delivery status callback (queued → sent → delivered, or failed/undelivered)."""
    return threads.on_status.handler(
        ctx, message_sid=message_sid, status=status, error_code=error_code
    )


@internal_query(args={"message_id": v.id("sms_messages")})
def outgoing(ctx: QueryCtx, message_id: str) -> Any:
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
def accepted(ctx: MutationCtx, message_id: str, message_sid: str, status: str) -> None:
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
def refused(ctx: MutationCtx, message_id: str, error_code: float | None, reason: str) -> None:
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
