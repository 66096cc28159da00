"""DNC/DNT state per (phone, channel) and the append-only compliance audit trail.

``contact_points`` holds the current state: ``dnc`` means do-not-call on the voice
channel and do-not-text on the sms channel. Every change, every keyword and every
refused send appends one ``compliance_events`` row that is never updated or deleted.
"""

from __future__ import annotations

import re
from typing import Any

from reactor import MutationCtx, QueryCtx

from . import quiet_hours

# Compared after normalising (upper case, punctuation, spaces, hyphens and underscores
# removed): the FCC's per se reasonable revocations (47 CFR 64.1200(a)(10): stop, quit,
# end, revoke, opt out, cancel, unsubscribe) and the carriers' (CTIA) STOPALL/OPTOUT.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
# A short message with one of these anywhere is flagged for an agent to confirm.
POSSIBLE_OPT_OUT = ("STOP", "UNSUBSCRIBE", "REMOVE ME", "OPT OUT", "DO NOT TEXT", "DONT TEXT")
POSSIBLE_MAX_CHARS = 160
MAX_KEYWORD_CHARS = 40

_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)


def normalise_keyword(body: str) -> str:
    """``"  Opt-out! "`` -> ``"OPTOUT"``: only letters and digits, upper case."""
    return _PUNCTUATION.sub("", body[: MAX_KEYWORD_CHARS * 4]).upper()


def classify(body: str) -> tuple[str, str] | None:
    """``("opt_out"|"opt_in"|"help", KEYWORD)`` when the whole message is a keyword.

    Case, punctuation and whitespace do not matter ("Opt out", "opt-out", "STOP?",
    "stop all" all revoke consent); a keyword inside a longer sentence is not one
    (see :func:`possible_opt_out`).
    """
    if len(body) > MAX_KEYWORD_CHARS:
        return None
    word = normalise_keyword(body)
    if word in OPT_OUT:
        return "opt_out", word
    if word in OPT_IN:
        return "opt_in", word
    if word in HELP:
        return "help", word
    return None


OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}


def from_opt_out_type(value: str | None) -> tuple[str, str] | None:
    """Twilio's ``OptOutType`` webhook field (``STOP``/``START``/``HELP``) as a keyword."""
    if not value:
        return None
    kind = OPT_OUT_TYPES.get(value.strip().upper())
    return (kind, value.strip().upper()) if kind is not None else None


def possible_opt_out(body: str) -> bool:
    """A short message that looks like a revocation in other words ("please stop")."""
    if len(body) > POSSIBLE_MAX_CHARS:
        return False
    words = " " + " ".join(_PUNCTUATION.sub(" ", body).upper().split()) + " "
    return any(f" {phrase} " in words for phrase in POSSIBLE_OPT_OUT)


def point(ctx: QueryCtx, phone: str, channel: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("contact_points")
        .with_index("by_phone_channel", lambda q: q.eq("phone", phone).eq("channel", channel))
        .unique()
    )


def is_blocked(ctx: QueryCtx, phone: str, channel: str) -> bool:
    doc = point(ctx, phone, channel)
    return doc is not None and bool(doc["dnc"])


def audit(
    ctx: MutationCtx,
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
    reason: str | None = None,
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
                "reason": reason,
            },
        )
    )


def refuse_quiet_hours(
    ctx: MutationCtx,
    phone: str,
    channel: str,
    source: str,
    customer_id: str | None,
    *,
    actor_id: str | None = None,
    raw_body: str | None = None,
) -> dict[str, Any] | None:
    """``None`` if the recipient's local time allows contact now; else the refusal,
    audited like a DNC refusal (``blocked_send``, reason ``quiet_hours``)."""
    why = quiet_hours.check(ctx, phone, customer_id)
    if why is None:
        return None
    audit_id = audit(
        ctx,
        phone,
        channel,
        "blocked_send",
        source,
        actor_id=actor_id,
        raw_body=raw_body,
        reason="quiet_hours",
    )
    return {"ok": False, "code": "quiet_hours", "phone": phone, "audit_id": audit_id, **why}


def set_dnc(
    ctx: MutationCtx,
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
    """Set the DNC/DNT flag and audit it (audited also when unchanged: an opt-out
    request is evidence even when the number was already opted out)."""
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
