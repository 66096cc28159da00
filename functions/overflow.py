"""Voicemail overflow: a caller no agent took within the queue's ``max_wait_s``.

``calls:to_voicemail`` ends the wait (a ``voicemail`` exit in the queue metrics) and
queues ``call.voicemail``, which takes the caller out of the conference into a recorded,
transcribed message. A caller who is being rung right now is left alone: if the ring is
missed, the call is waiting again and the next sweep takes it.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, v

from . import calls

SCAN_LIMIT = 200


@internal_mutation(args={"limit": v.optional(v.number())})
def sweep(ctx: MutationCtx, limit: float = SCAN_LIMIT) -> Any:
    """Send every waiting caller past their queue's maximum wait to voicemail."""
    now = ctx.now
    waiting = (
        ctx.db.query("incoming_call_queue")
        .with_index("by_state_enqueued", lambda q: q.eq("state", "waiting"))
        .take(int(min(limit, SCAN_LIMIT)))
    )
    limits: dict[str, float | None] = {}
    sent: list[str] = []
    for entry in waiting:
        name = entry["queue"]
        if name not in limits:
            limits[name] = _max_wait_s(ctx, name)
        max_wait = limits[name]
        if max_wait is None or now - entry["enqueued_at"] < max_wait * 1000.0:
            continue
        call = ctx.db.get(entry["call_id"])
        if call is None or call["status"] != "queued":
            continue
        calls.to_voicemail.handler(ctx, call_id=call["_id"])
        sent.append(call["_id"])
    return {"voicemail": sent}


def _max_wait_s(ctx: QueryCtx, name: str) -> float | None:
    doc = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", name)).first()
    value = doc.get("max_wait_s") if doc is not None else None
    return float(value) if value is not None else None
