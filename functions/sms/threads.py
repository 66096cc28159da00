"""Two-way SMS: threads, the real-time inbox with unread counts, send and receive.

Inbound messages (``on_incoming``, from the Twilio webhook) are classified for opt-out
keywords first. Sending requires the thread lock and a number that has not opted out;
a refused send is written to the compliance audit and returned as
``{"ok": False, "code": "opted_out"}`` (the audit must commit, so it is not raised).
``sms_messages`` is the hot copy: archived messages beyond the last ``HOT_MESSAGES`` of a
thread are dropped by ``trim``.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, internal_mutation, mutation, query, v

from .. import canned
from ..lib import compliance, hot_sms, outbox, stats
from ..lib.auth import me
from ..lib.clock import day_of
from ..lib.limits import check_text
from ..lib.phone import caller_key, is_dialable, normalize_e164
from ..lib.tabs import open_tab
from . import locks

HOT_MESSAGES = 10
DEFAULT_OUR_NUMBER = "+15550000000"
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}


def _thread_for(ctx: QueryCtx, phone: str, our_number: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("sms_threads")
        .with_index("by_phone", lambda q: q.eq("phone", phone).eq("our_number", our_number))
        .first()
    )


def _get_or_create_thread(ctx: MutationCtx, phone: str, our_number: str) -> dict[str, Any]:
    thread = _thread_for(ctx, phone, our_number)
    if thread is not None:
        return thread
    customer = (
        ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first()
    )
    doc: dict[str, Any] = {
        "phone": phone,
        "our_number": our_number,
        "customer_id": customer["_id"] if customer else None,
        "status": "open",
        "last_message_at": ctx.now,
        "last_direction": "inbound",
        "preview": "",
        "unread_count": 0.0,
        "message_count": 0.0,
    }
    doc["_id"] = ctx.db.insert("sms_threads", dict(doc))
    return doc


def _append(
    ctx: MutationCtx,
    thread: dict[str, Any],
    direction: str,
    body: str,
    status: str,
    *,
    message_sid: str | None = None,
    agent_id: str | None = None,
) -> str:
    msg_id = ctx.db.insert(
        "sms_messages",
        {
            "thread_id": thread["_id"],
            "direction": direction,
            "body": body,
            "status": status,
            "message_sid": message_sid,
            "agent_id": agent_id,
            "at": ctx.now,
            "error_code": None,
            "archived": False,
        },
    )
    fields: dict[str, Any] = {
        "last_message_at": ctx.now,
        "last_direction": direction,
        "preview": body[:140],
        "message_count": thread["message_count"] + 1,
        "status": "open",
    }
    if direction == "inbound":
        fields["unread_count"] = thread["unread_count"] + 1
    ctx.db.patch(thread["_id"], fields)
    thread.update(fields)
    return str(msg_id)


@internal_mutation(
    args={
        "message_sid": v.string(),
        "from_number": v.string(),
        "to_number": v.string(),
        "body": v.string(),
        "opt_out_type": v.optional(v.string()),
    }
)
def on_incoming(
    ctx: MutationCtx,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    opt_out_type: str | None = None,
) -> Any:
    """An inbound SMS (Twilio webhook). Idempotent on MessageSid.

    STOP-family keywords opt the number out of SMS (audited, source ``sms_keyword``),
    START-family opt it back in, HELP/INFO are audited. The message is always stored:
    Twilio forwards keyword messages too.
    """
    dup = (
        ctx.db.query("sms_messages")
        .with_index("by_sid", lambda q: q.eq("message_sid", message_sid))
        .first()
    )
    if dup is not None:
        return {
            "duplicate": True,
            "thread_id": dup["thread_id"],
            "message_id": dup["_id"],
            "keyword": None,
        }
    phone = caller_key(from_number, message_sid)  # short codes text us too
    our = normalize_e164(to_number)
    thread = _get_or_create_thread(ctx, phone, our)
    msg_id = _append(ctx, thread, "inbound", body, "received", message_sid=message_sid)
    day = day_of(ctx, ctx.now)
    counters = {"sms_in": 1.0}
    # Twilio's Advanced Opt-Out reports its own decision (OptOutType): it is authoritative.
    matched = compliance.from_opt_out_type(opt_out_type) or compliance.classify(body)
    keyword = None
    if matched is not None:
        kind, keyword = matched
        if kind == "opt_out":
            compliance.set_dnc(
                ctx,
                phone,
                "sms",
                True,
                "opt_out",
                "sms_keyword",
                keyword=keyword,
                raw_body=body,
                ref_sid=message_sid,
            )
            counters["opt_outs"] = 1.0
        elif kind == "opt_in" and compliance.is_blocked(ctx, phone, "sms"):
            # Only an opted-out number opts back in: "yes" in a conversation is not an
            # opt-in event and must not fill the audit trail or the opt-in metric.
            compliance.set_dnc(
                ctx,
                phone,
                "sms",
                False,
                "opt_in",
                "sms_keyword",
                keyword=keyword,
                raw_body=body,
                ref_sid=message_sid,
            )
            counters["opt_ins"] = 1.0
        elif kind == "help":
            compliance.audit(
                ctx,
                phone,
                "sms",
                "help",
                "sms_keyword",
                keyword=keyword,
                raw_body=body,
                ref_sid=message_sid,
            )
        else:
            kind = "none"  # an opt-in keyword from a number that never opted out
        keyword = kind if kind != "none" else None
    elif compliance.possible_opt_out(body):
        keyword = "possible_opt_out"
        ctx.db.patch(msg_id, {"flag": "possible_opt_out"})
        counters["possible_opt_outs"] = 1.0
    stats.bump(ctx, day, counters, scope=stats.SMS_SCOPE)
    return {
        "duplicate": False,
        "thread_id": thread["_id"],
        "message_id": msg_id,
        "keyword": keyword,
    }


def send_command(
    ctx: MutationCtx,
    thread: dict[str, Any],
    message_id: str,
    body: str,
    agent_id: str | None,
    media_urls: list[str] | None = None,
) -> str:
    """The ``sms.send`` command of a queued outbound message (one per message)."""
    return outbox.enqueue(
        ctx,
        "sms.send",
        agent_id=agent_id,
        args={
            "to": thread["phone"],
            "from": thread["our_number"],
            "body": body,
            "media_urls": media_urls or [],
            "message_id": message_id,
            "thread_id": thread["_id"],
        },
        idempotency_key=f"sms.send:{message_id}",
    )


def _send(
    ctx: MutationCtx, thread: dict[str, Any], agent_id: str, body: str, release: bool
) -> dict[str, Any]:
    if not body.strip():
        raise UserError({"code": "empty_message"})
    check_text(body, canned.MAX_BODY_CHARS, "body")
    if not is_dialable(thread["phone"]):
        raise UserError(
            {"code": "not_dialable", "phone": thread["phone"], "message": "cannot reply here"}
        )
    locks.require(ctx, thread["_id"], agent_id)
    if compliance.is_blocked(ctx, thread["phone"], "sms"):
        audit_id = compliance.audit(
            ctx, thread["phone"], "sms", "blocked_send", "agent", actor_id=agent_id, raw_body=body
        )
        stats.bump(
            ctx,
            day_of(ctx, ctx.now),
            {"sms_blocked": 1},
            agent_id,
            {"sms_blocked": 1},
            scope=stats.SMS_SCOPE,
        )
        return {"ok": False, "code": "opted_out", "phone": thread["phone"], "audit_id": audit_id}
    msg_id = _append(ctx, thread, "outbound", body, "queued", agent_id=agent_id)
    send_command(ctx, thread, msg_id, body, agent_id)
    stats.bump(
        ctx, day_of(ctx, ctx.now), {"sms_out": 1}, agent_id, {"sms_out": 1}, scope=stats.SMS_SCOPE
    )
    if release:
        lock = locks.current(ctx, thread["_id"])
        if lock is not None:
            ctx.db.delete(lock["_id"])
    else:
        locks.take(ctx, thread["_id"], agent_id)  # sending renews the lock
    return {"ok": True, "message_id": msg_id, "thread_id": thread["_id"]}


@mutation(
    args={"thread_id": v.id("sms_threads"), "body": v.string(), "release": v.optional(v.boolean())}
)
def send(ctx: MutationCtx, thread_id: str, body: str, release: bool = False) -> Any:
    """Send a reply as the lock holder; refused (and audited) if the number opted out."""
    thread = ctx.db.get(thread_id)
    if thread is None:
        raise UserError({"code": "thread_not_found"})
    return _send(ctx, thread, me(ctx), body, release)


@mutation(
    args={
        "thread_id": v.id("sms_threads"),
        "canned_id": v.id("canned_responses"),
        "values": v.optional(v.record(v.string(), v.string())),
        "release": v.optional(v.boolean()),
    }
)
def send_canned(
    ctx: MutationCtx,
    thread_id: str,
    canned_id: str,
    values: dict[str, Any] | None = None,
    release: bool = False,
) -> Any:
    """Send a canned response with its placeholders filled."""
    agent_id = me(ctx)
    thread = ctx.db.get(thread_id)
    doc = ctx.db.get(canned_id)
    if thread is None or doc is None or doc["scope"] not in ("shared", f"agent:{agent_id}"):
        raise UserError({"code": "not_found"})
    body = canned.render_body(
        doc["body"], {**canned.context_values(ctx, agent_id, thread_id), **(values or {})}
    )
    return _send(ctx, thread, agent_id, body, release)


@mutation(
    args={
        "to": v.string(),
        "body": v.string(),
        "from_number": v.optional(v.string()),
        "campaign_id": v.optional(v.id("campaigns")),
    }
)
def start(
    ctx: MutationCtx,
    to: str,
    body: str,
    from_number: str | None = None,
    campaign_id: str | None = None,
) -> Any:
    """Text a number: open (or reuse) its thread, take the lock, send.

    With ``campaign_id`` the text is a campaign (marketing) message: refused, and
    audited, outside the recipient's quiet-hours window, like a text to an opted-out
    number.
    """
    agent_id = me(ctx)
    phone = normalize_e164(to)
    if campaign_id is not None:
        if ctx.db.get(campaign_id) is None:
            raise UserError({"code": "campaign_not_found", "campaign_id": campaign_id})
        customer = (
            ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first()
        )
        refused = compliance.refuse_quiet_hours(
            ctx,
            phone,
            "sms",
            "campaign",
            customer["_id"] if customer is not None else None,
            actor_id=agent_id,
            raw_body=body,
        )
        if refused is not None:
            return refused
    thread = _get_or_create_thread(ctx, phone, normalize_e164(from_number or DEFAULT_OUR_NUMBER))
    locks.take(ctx, thread["_id"], agent_id)
    open_tab(ctx, agent_id, "sms_thread", thread["_id"], phone)
    return _send(ctx, thread, agent_id, body, False)


@internal_mutation(args={"message_id": v.id("sms_messages"), "message_sid": v.string()})
def attach_sid(ctx: MutationCtx, message_id: str, message_sid: str) -> None:
    """Record the MessageSid Twilio assigned to an outbound message."""
    ctx.db.patch(message_id, {"message_sid": message_sid})


@internal_mutation(
    args={"message_sid": v.string(), "status": v.string(), "error_code": v.optional(v.number())}
)
def on_status(
    ctx: MutationCtx, message_sid: str, status: str, error_code: float | None = None
) -> None:
    """Delivery status callback; never moves a message backwards. 21610 opts the number out."""
    msg = (
        ctx.db.query("sms_messages")
        .with_index("by_sid", lambda q: q.eq("message_sid", message_sid))
        .first()
    )
    if msg is None:
        return None
    if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(msg["status"], 0):
        # -- archive: a changed status is archived again (archived goes back to False) --
        ctx.db.patch(msg["_id"], {"status": status, "error_code": error_code, "archived": False})
    if error_code == 21610:
        thread = ctx.db.get(msg["thread_id"])
        if thread is not None:
            compliance.set_dnc(
                ctx, thread["phone"], "sms", True, "opt_out", "twilio_21610", ref_sid=message_sid
            )
    return None


@mutation(args={"thread_id": v.id("sms_threads")})
def mark_read(ctx: MutationCtx, thread_id: str) -> None:
    locks.require_free_or_mine(ctx, thread_id)
    thread = ctx.db.get(thread_id)
    if thread is not None and thread["unread_count"] != 0:
        ctx.db.patch(thread_id, {"unread_count": 0.0})


@mutation(args={"thread_id": v.id("sms_threads")})
def close(ctx: MutationCtx, thread_id: str) -> None:
    """Close a conversation (it reopens on the next message) and release its lock.

    Only the lock holder, anyone while the thread is free, or a supervisor may close it:
    closing must never take a conversation away from the agent answering it.
    """
    locks.require_free_or_mine(ctx, thread_id)
    if ctx.db.get(thread_id) is None:
        raise UserError({"code": "thread_not_found", "thread_id": thread_id})
    ctx.db.patch(thread_id, {"status": "closed", "unread_count": 0.0})
    lock = locks.current(ctx, thread_id)
    if lock is not None:
        ctx.db.delete(lock["_id"])
    # -- archive: a closed thread keeps no archived messages in the hot store --------
    hot_sms.trim(ctx, {"_id": thread_id}, 0)


@query(args={"limit": v.optional(v.number())})
def inbox(ctx: QueryCtx, limit: float = 50) -> Any:
    """Open threads, most recent first, with unread counts and lock holders."""
    me(ctx)
    threads = (
        ctx.db.query("sms_threads")
        .with_index("by_status_last", lambda q: q.eq("status", "open"))
        .order("desc")
        .take(int(limit))
    )
    return [{**t, "locked_by": locks.holder(ctx, t["_id"])} for t in threads]


@query(args={})
def unread(ctx: QueryCtx) -> Any:
    """Threads with unread messages and the total count (for the inbox badge)."""
    me(ctx)
    threads = (
        ctx.db.query("sms_threads")
        .with_index("by_unread", lambda q: q.gt("unread_count", 0))
        .take(1000)
    )
    return {"threads": len(threads), "messages": sum(t["unread_count"] for t in threads)}


@query(args={"thread_id": v.id("sms_threads"), "limit": v.optional(v.number())})
def messages(ctx: QueryCtx, thread_id: str, limit: float = HOT_MESSAGES) -> Any:
    """The thread's latest messages, oldest first."""
    me(ctx)
    latest = (
        ctx.db.query("sms_messages")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread_id))
        .order("desc")
        .take(int(limit))
    )
    return latest[::-1]


@internal_mutation(args={"thread_id": v.id("sms_threads")})
def trim(ctx: MutationCtx, thread_id: str) -> Any:
    """Drop archived messages older than the thread's last ``HOT_MESSAGES``."""
    older = (
        ctx.db.query("sms_messages")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread_id))
        .order("desc")
        .take(HOT_MESSAGES + 500)[HOT_MESSAGES:]
    )
    dropped = 0
    for msg in older:
        if msg["archived"]:
            ctx.db.delete(msg["_id"])
            dropped += 1
    return dropped


@internal_mutation(args={"message_ids": v.array(v.id("sms_messages"))})
def mark_archived(ctx: MutationCtx, message_ids: list[Any]) -> None:
    """The archive (PostgreSQL) has these messages; they may leave the hot copy."""
    for mid in message_ids:
        if ctx.db.get(mid) is not None:
            ctx.db.patch(mid, {"archived": True})
