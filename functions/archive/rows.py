"""The archive's rows: what a call, an SMS message and a compliance event look like in
the permanent archive (SQLite or PostgreSQL), built from the hot documents.

One row per hot document, keyed by its reactor id (``id``), so writing a row again is an
upsert of the same row. Times are milliseconds since the epoch (UTC), as in the hot
store. The columns are documented in docs/archive.md.
"""

from __future__ import annotations

import json
from typing import Any

from ..sms.threads import STATUS_RANK

TABLES = ("calls", "sms_messages", "compliance_events")


def thread_key(phone: str, our_number: str) -> str:
    """The archive's name for a conversation: customer number and our number."""
    return f"{phone}|{our_number}"


def call_row(call: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "id": call["_id"],
        "call_sid": call["call_sid"],
        "direction": call["direction"],
        "phone": call["phone"],
        "our_number": call["our_number"],
        "customer_id": call["customer_id"],
        "campaign_id": call["campaign_id"],
        "agent_id": call["agent_id"],
        "queue": call["queue"],
        "status": call["status"],
        "day": call["day"],
        "created_at": call["created_at"],
        "enqueued_at": call["enqueued_at"],
        "answered_at": call["answered_at"],
        "ended_at": call["ended_at"],
        "wrap_up_ended_at": call["wrap_up_ended_at"],
        "hold_ms": call["hold_ms"],
        "transfers": call["transfers"],
        "disposition": call["disposition"],
        "notes": call["notes"],
        "transcript_id": call["transcript_id"],
        "recording_ids": json.dumps(call["recording_ids"]),
        "archived_at": now,
    }


def message_row(msg: dict[str, Any], thread: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        # A hydrated hot copy keeps the id of the message it was restored from.
        "id": msg.get("archive_id") or msg["_id"],
        "thread_id": msg["thread_id"],
        "thread_key": thread_key(thread["phone"], thread["our_number"]),
        "customer_phone": thread["phone"],
        "our_number": thread["our_number"],
        "customer_id": thread["customer_id"],
        "direction": msg["direction"],
        "body": msg["body"],
        "status": msg["status"],
        "status_rank": STATUS_RANK.get(msg["status"], 0),
        "message_sid": msg["message_sid"],
        "agent_id": msg["agent_id"],
        "error_code": msg["error_code"],
        "sent_at": msg["at"],
        "archived_at": now,
    }


def compliance_row(event: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "id": event["_id"],
        "phone": event["phone"],
        "channel": event["channel"],
        "action": event["action"],
        "source": event["source"],
        "keyword": event["keyword"],
        "raw_body": event["raw_body"],
        "ref_sid": event["ref_sid"],
        "actor_id": event["actor_id"],
        "occurred_at": event["occurred_at"],
        "prev_state": event["prev_state"],
        "new_state": event["new_state"],
        "archived_at": now,
    }


def merge_message(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The row to keep when a message is written again: delivery status only moves
    forward (a late "sent" never overwrites "delivered"), a known MessageSid is kept."""
    if old is None:
        return new
    merged = dict(new)
    if (old.get("status_rank") or 0) > (new.get("status_rank") or 0):
        for field in ("status", "status_rank", "error_code"):
            merged[field] = old.get(field)
    merged["message_sid"] = new.get("message_sid") or old.get("message_sid")
    return merged
