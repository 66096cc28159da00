"""Transcription of recordings and voicemails with OpenAI (``audio.transcriptions``).

Each recording is transcribed once: ``save`` is idempotent on the recording, so a retried
or replayed job finds the transcript it already wrote. The transcript keeps the
timestamped segments, is linked to the call, its agent and customer (and the voicemail,
for voicemail calls), and lands in the ``transcripts.search_text`` index that
``transcripts:search`` queries reactively. A handled call's transcript is then graded
(``ai/grading:grade``).
"""

from __future__ import annotations

from typing import Any

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    UserError,
    internal_action,
    internal_mutation,
    internal_query,
    v,
)

from .. import media
from ..lib import outbox
from . import openai_client

SEGMENTS = v.array(v.object({"start": v.number(), "end": v.number(), "text": v.string()}))
MAX_SEGMENTS = 5000
MAX_TEXT_CHARS = 200_000


def _existing(ctx: QueryCtx, recording_id: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("transcripts")
        .with_index("by_recording", lambda q: q.eq("recording_id", recording_id))
        .first()
    )


@internal_query(args={"recording_id": v.id("recordings")})
def source(ctx: QueryCtx, recording_id: str) -> Any:
    """The recording to transcribe and, if one exists, its transcript."""
    rec = ctx.db.get(recording_id)
    if rec is None:
        return None
    done = _existing(ctx, recording_id)
    return {"recording": rec, "transcript_id": done["_id"] if done else None}


@internal_mutation(
    args={
        "recording_id": v.id("recordings"),
        "text": v.string(),
        "segments": SEGMENTS,
        "language": v.optional(v.string()),
        "model": v.string(),
        "duration_s": v.optional(v.number()),
    }
)
def save(
    ctx: MutationCtx,
    recording_id: str,
    text: str,
    segments: Any,
    model: str,
    language: str | None = None,
    duration_s: float | None = None,
) -> Any:
    """Store a recording's transcript once; link call, customer, voicemail; grade it."""
    existing = _existing(ctx, recording_id)
    if existing is not None:
        return existing["_id"]
    rec = ctx.db.get(recording_id)
    if rec is None:
        raise UserError({"code": "recording_not_found", "recording_id": recording_id})
    call = ctx.db.get(rec["call_id"])
    voicemail = call is not None and call["status"] == "voicemail"
    tid = ctx.db.insert(
        "transcripts",
        {
            "call_id": rec["call_id"],
            "customer_id": rec["customer_id"],
            "agent_id": call["agent_id"] if call else None,
            "text": text[:MAX_TEXT_CHARS],
            "language": language,
            "model": model,
            "recording_id": recording_id,
            "source": "voicemail" if voicemail else "recording",
            "segments": segments[:MAX_SEGMENTS],
            "duration_s": duration_s if duration_s is not None else rec["duration_s"],
            "created_at": ctx.now,
        },
    )
    if call is not None:
        ctx.db.patch(call["_id"], {"transcript_id": tid})
    if voicemail:
        vm = (
            ctx.db.query("voicemails")
            .with_index("by_call", lambda q: q.eq("call_id", rec["call_id"]))
            .first()
        )
        if vm is not None:
            ctx.db.patch(vm["_id"], {"transcription": text[:MAX_TEXT_CHARS]})
    elif call is not None and call["agent_id"] and call["answered_at"] is not None:
        outbox.enqueue(
            ctx,
            "ai.grade",
            call_id=call["_id"],
            args={"call_id": call["_id"], "transcript_id": tid},
            idempotency_key=f"ai.grade:{call['_id']}:{tid}",
        )
    if call is not None:
        # The archived call row gains its transcript id.
        outbox.enqueue(
            ctx,
            "archive.call",
            call_id=call["_id"],
            args={"call_id": call["_id"]},
            idempotency_key=f"archive.call:{call['_id']}:transcript:{tid}",
        )
    return tid


def _segments(result: Any) -> list[dict[str, Any]]:
    out = []
    for seg in getattr(result, "segments", None) or []:
        out.append({"start": float(seg.start), "end": float(seg.end), "text": str(seg.text)})
    return out


async def transcribe_audio(
    ctx: ActionCtx, data: bytes, name: str, content_type: str
) -> dict[str, Any]:
    """Transcribe audio bytes: text, timestamped segments (whisper models), language."""
    model = openai_client.transcribe_model(ctx)
    # Only whisper models answer verbose_json (segments with timestamps).
    verbose = model.startswith("whisper")
    async with openai_client.client(ctx) as client:
        if verbose:
            result = await client.audio.transcriptions.create(
                model=model,
                file=(name, data, content_type),
                response_format="verbose_json",
                timestamp_granularities=["segment"],
            )
        else:
            result = await client.audio.transcriptions.create(
                model=model, file=(name, data, content_type), response_format="json"
            )
    return {
        "text": str(result.text).strip(),
        "segments": _segments(result) if verbose else [],
        "language": getattr(result, "language", None),
        "duration_s": getattr(result, "duration", None),
        "model": model,
    }


@internal_action(args={"recording_id": v.id("recordings")})
async def recording(ctx: ActionCtx, recording_id: str) -> Any:
    """Transcribe a stored recording (or voicemail) once; raises on failure (the outbox
    command ``transcript.create`` retries it with backoff)."""
    found = await ctx.run_query("ai/transcribe:source", {"recording_id": recording_id})
    if found is None:
        raise UserError({"code": "recording_not_found", "recording_id": recording_id})
    if found["transcript_id"] is not None:
        return {"ok": True, "transcript_id": found["transcript_id"], "already": True}
    rec = found["recording"]
    data = await media.recording_bytes(ctx, rec)
    ext = ".wav" if rec.get("content_type") == "audio/wav" else ".mp3"
    try:
        out = await transcribe_audio(
            ctx, data, rec["recording_sid"] + ext, rec.get("content_type") or "audio/mpeg"
        )
    except Exception as exc:
        if openai_client.is_openai_error(exc):
            raise openai_client.AIUnavailable(openai_client.describe(exc)) from None
        raise
    args = {"recording_id": recording_id, **{k: x for k, x in out.items() if x is not None}}
    tid = await ctx.run_mutation("ai/transcribe:save", args)
    return {"ok": True, "transcript_id": tid}


async def _execute(ctx: ActionCtx, command: dict[str, Any]) -> dict[str, Any]:
    """Outbox executor of ``transcript.create {recording_id}``."""
    result: dict[str, Any] = await ctx.run_action(
        "ai/transcribe:recording", {"recording_id": command["args"]["recording_id"]}
    )
    return result


outbox.register_executor("transcript.create", _execute)
