"""DNC/DNT state per (phone, channel) and the append-only compliance audit trail.

``contact_points`` holds the current state: ``dnc`` means do-not-call on the voice
channel and do-not-text on the sms channel. Every change, every keyword and every
refused send appends one ``compliance_events`` row that is never updated or deleted.
"""

from __future__ import annotations

from typing import Any

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})


def classify(body: str) -> tuple[str, str] | None:
    """``("opt_out"|"opt_in"|"help", KEYWORD)`` for an exact single-word keyword, else None.

    Matching follows the carrier rules: trim, case-insensitive, the whole body must be
    the keyword ("STOP PLEASE" is not one). Trailing ``.`` / ``!`` are ignored.
    """
    word = body.strip().rstrip(".!").strip().upper()
    if word in OPT_OUT:
        return "opt_out", word
    if word in OPT_IN:
        return "opt_in", word
    if word in HELP:
        return "help", word
    return None


def point(ctx: Any, phone: str, channel: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("contact_points")
        .with_index("by_phone_channel", lambda q: q.eq("phone", phone).eq("channel", channel))
        .unique()
    )


def is_blocked(ctx: Any, phone: str, channel: str) -> bool:
    doc = point(ctx, phone, channel)
    return doc is not None and bool(doc["dnc"])


def audit(
    ctx: Any,
    phone: str,
    channel: str,
    action: str,
    source: str,
    *,
    actor_id: str | None = None,
    keyword: str | None = None,
    raw_body: str | None = None,
    ref_sid: str | None = None,
    prev_state: bool | None = None,
    new_state: bool | None = None,
) -> str:
    """Append one audit event (timestamp, source, actor); returns its id."""
    return str(
        ctx.db.insert(
            "compliance_events",
            {
                "phone": phone,
                "channel": channel,
                "action": action,
                "source": source,
                "keyword": keyword,
                "raw_body": raw_body,
                "ref_sid": ref_sid,
                "actor_id": actor_id,
                "occurred_at": ctx.now,
                "prev_state": prev_state,
                "new_state": new_state,
            },
        )
    )


def set_dnc(
    ctx: Any,
    phone: str,
    channel: str,
    dnc: bool,
    action: str,
    source: str,
    *,
    actor_id: str | None = None,
    keyword: str | None = None,
    raw_body: str | None = None,
    ref_sid: str | None = None,
) -> str:
    """Set the DNC/DNT flag and audit the change (also audited when unchanged)."""
    doc = point(ctx, phone, channel)
    prev = bool(doc["dnc"]) if doc is not None else False
    if doc is None:
        ctx.db.insert(
            "contact_points",
            {
                "phone": phone,
                "channel": channel,
                "dnc": dnc,
                "updated_at": ctx.now,
                "source": source,
            },
        )
    elif prev != dnc:
        ctx.db.patch(doc["_id"], {"dnc": dnc, "updated_at": ctx.now, "source": source})
    return audit(
        ctx,
        phone,
        channel,
        action,
        source,
        actor_id=actor_id,
        keyword=keyword,
        raw_body=raw_body,
        ref_sid=ref_sid,
        prev_state=prev,
        new_state=dnc,
    )
