"""Call recordings, transcripts, voicemail and the live transcript (``messages``).

Written by the integration actions (recording callback -> S3 upload -> ``attach``;
transcription -> ``transcripts:save``); read by agents and supervisors.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, query, v

from .lib import outbox
from .lib.access import require_call_reader


@internal_mutation(
    args={
        "call_sid": v.string(),
        "recording_sid": v.string(),
        "duration_s": v.number(),
        "url": v.optional(v.string()),
        "storage_key": v.optional(v.string()),
        "status": v.optional(v.string()),
    }
)
def attach(
    ctx: MutationCtx,
    call_sid: str,
    recording_sid: str,
    duration_s: float,
    url: str | None = None,
    storage_key: str | None = None,
    status: str = "completed",
) -> Any:
    """Link a recording to its call (idempotent on RecordingSid)."""
    existing = (
        ctx.db.query("recordings")
        .with_index("by_sid", lambda q: q.eq("recording_sid", recording_sid))
        .first()
    )
    if existing is not None:
        ctx.db.patch(
            existing["_id"],
            {"storage_key": storage_key or existing["storage_key"], "status": status},
        )
        return existing["_id"]
    call = ctx.db.query("calls").with_index("by_sid", lambda q: q.eq("call_sid", call_sid)).first()
    if call is None:
        return None
    rec = ctx.db.insert(
        "recordings",
        {
            "call_id": call["_id"],
            "recording_sid": recording_sid,
            "url": url,
            "storage_key": storage_key,
            "duration_s": duration_s,
            "status": status,
            "customer_id": call["customer_id"],
        },
    )
    ctx.db.patch(call["_id"], {"recording_ids": [*call["recording_ids"], rec]})
    if storage_key is None and url is not None and status == "completed":
        # Copy the media to our own storage (the provider's copy is deleted later).
        outbox.enqueue(
            ctx,
            "recording.fetch",
            call_id=call["_id"],
            agent_id=call["agent_id"],
            args={"recording_id": rec, "recording_sid": recording_sid, "url": url},
            idempotency_key=f"recording.fetch:{recording_sid}",
        )
    if call["status"] == "voicemail":
        vm = (
            ctx.db.query("voicemails")
            .with_index("by_call", lambda q: q.eq("call_id", call["_id"]))
            .first()
        )
        if vm is not None:
            ctx.db.patch(vm["_id"], {"recording_id": rec})
    return rec


@query(args={"call_id": v.id("calls")})
def for_call(ctx: QueryCtx, call_id: str) -> Any:
    """A call's recordings: for the agents who were on it and supervisors."""
    require_call_reader(ctx, call_id)
    return (
        ctx.db.query("recordings")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .take(20)
    )
