"""``POST /voice``: a spoken (or typed) turn answered by a streamed OpenAI completion.

Body: ``{"callId": <id of calls>, "audioB64": <base64 audio>}`` or ``{"callId", "text"}``.

1. The audio is transcribed (``audio.transcriptions.create``) and becomes the ``user``
   message of the call (typed text is used as it is).
2. A chat completion is streamed (``stream=True``) with the call's recent messages; the
   assistant's words are appended to one ``assistant`` message, one mutation per completed
   phrase (:mod:`functions.lib.phrases`), so subscribers of ``messages:list {callId}``
   see the answer grow.
3. The answer is ``ok`` (200, text/plain) once the message is ``done``.

Errors are JSON ``{"error": {"code", "message"}}``: 400 for a bad body or id, 404 for an
unknown call, 413 for a body over the limit, 503 when OpenAI is not configured, 502 when
OpenAI fails. A stream that fails part-way leaves its message with ``status: "cut_off"``,
the reason in ``error`` and the visible marker ``CUT_OFF_MARKER`` after the words that
did arrive: never a silently half-written answer.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    UserError,
    http_action,
    internal_mutation,
    internal_query,
    v,
)

from .ai import openai_client
from .lib.phrases import split_completed

MAX_BODY_BYTES = 16 * 1024 * 1024  # base64 of OpenAI's 25 MB upload limit is larger; stay lower
MAX_TEXT_CHARS = 4000
MAX_ANSWER_TOKENS = 600
HISTORY_MESSAGES = 20
CUT_OFF_MARKER = "[answer cut off]"
SYSTEM_PROMPT = (
    "You are a friendly contact-center voice assistant. Answer briefly, in plain spoken "
    "sentences, without lists or markup."
)


class VoiceError(Exception):
    """A request that cannot be served, with its HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(exc: VoiceError) -> Response:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)


# -- database side --------------------------------------------------------------------


@internal_query(args={"call_id": v.string()})
def call_state(ctx: QueryCtx, call_id: str) -> Any:
    """Whether ``call_id`` is an id of ``calls`` (``"invalid"``), exists, and its history."""
    normalized = ctx.db.normalize_id("calls", call_id)
    if normalized is None:
        return {"state": "invalid"}
    if ctx.db.get(normalized) is None:
        return {"state": "missing"}
    recent = (
        ctx.db.query("messages")
        .with_index("by_call", lambda q: q.eq("call_id", normalized))
        .order("desc")
        .take(HISTORY_MESSAGES)
    )
    return {
        "state": "ok",
        "call_id": normalized,
        "history": [{"role": m["role"], "text": m["text"]} for m in reversed(recent) if m["text"]],
    }


@internal_mutation(args={"call_id": v.id("calls"), "text": v.string()})
def add_user_message(ctx: MutationCtx, call_id: str, text: str) -> Any:
    if ctx.db.get(call_id) is None:
        raise UserError({"code": "call_not_found", "call_id": call_id})
    return ctx.db.insert("messages", {"call_id": call_id, "role": "user", "text": text})


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "message_id": v.optional(v.id("messages")),
        "text": v.string(),
    }
)
def append_phrase(ctx: MutationCtx, call_id: str, text: str, message_id: str | None = None) -> Any:
    """Append a completed phrase to the streaming answer (created by the first phrase)."""
    if message_id is None:
        return ctx.db.insert(
            "messages",
            {"call_id": call_id, "role": "assistant", "text": text, "status": "streaming"},
        )
    msg = ctx.db.get(message_id)
    if msg is None or msg["call_id"] != call_id or msg.get("status") != "streaming":
        raise UserError({"code": "message_not_streaming", "message_id": message_id})
    ctx.db.patch(message_id, {"text": msg["text"] + text})
    return message_id


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "message_id": v.optional(v.id("messages")),
        "text": v.string(),
        "error": v.optional(v.string()),
    }
)
def finish_answer(
    ctx: MutationCtx,
    call_id: str,
    text: str,
    message_id: str | None = None,
    error: str | None = None,
) -> Any:
    """Close the answer: the rest of its text and ``done``, or the cut-off marker."""
    status = "done" if error is None else "cut_off"
    if message_id is None:
        if error is not None and not text.strip():
            return None  # nothing was written: there is no half answer to mark
        doc: dict[str, Any] = {"call_id": call_id, "role": "assistant"}
        doc.update(text=_closed(text, error), status=status)
        if error is not None:
            doc["error"] = error
        return ctx.db.insert("messages", doc)
    msg = ctx.db.get(message_id)
    if msg is None:
        return None
    fields: dict[str, Any] = {"text": _closed(msg["text"] + text, error), "status": status}
    if error is not None:
        fields["error"] = error
    ctx.db.patch(message_id, fields)
    return message_id


def _closed(text: str, error: str | None) -> str:
    return text if error is None else f"{text.rstrip()} {CUT_OFF_MARKER}"


# -- the request ----------------------------------------------------------------------


async def _read_json(request: Request) -> dict[str, Any]:
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_BODY_BYTES:
        raise VoiceError(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_BODY_BYTES:
            raise VoiceError(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(bytes(data))
    except ValueError:
        raise VoiceError(400, "bad_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise VoiceError(400, "bad_body", "the body must be a JSON object")
    return body


def _parse(body: dict[str, Any]) -> tuple[str, bytes | None, str | None]:
    call_id = body.get("callId")
    if not isinstance(call_id, str) or not call_id:
        raise VoiceError(400, "bad_call_id", "callId must be the id of a call (a string)")
    audio, text = body.get("audioB64"), body.get("text")
    if (audio is None) == (text is None):
        raise VoiceError(400, "bad_body", "give exactly one of audioB64 and text")
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise VoiceError(400, "bad_text", "text must be a non-empty string")
        if len(text) > MAX_TEXT_CHARS:
            raise VoiceError(400, "bad_text", f"text is over {MAX_TEXT_CHARS} characters")
        return call_id, None, text.strip()
    if not isinstance(audio, str) or not audio:
        raise VoiceError(400, "bad_audio", "audioB64 must be a non-empty base64 string")
    try:
        data = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise VoiceError(400, "bad_audio", "audioB64 is not valid base64") from None
    if not data:
        raise VoiceError(400, "bad_audio", "audioB64 decodes to no bytes")
    return call_id, data, None


def audio_file_name(data: bytes) -> tuple[str, str]:
    """A file name and content type for OpenAI, from the audio's leading bytes."""
    if data[:4] == b"RIFF":
        return "turn.wav", "audio/wav"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "turn.mp3", "audio/mpeg"
    if data[:4] == b"OggS":
        return "turn.ogg", "audio/ogg"
    if data[:4] == b"fLaC":
        return "turn.flac", "audio/flac"
    if data[4:8] == b"ftyp":
        return "turn.m4a", "audio/mp4"
    return "turn.webm", "audio/webm"


async def _transcribe(ctx: ActionCtx, client: Any, data: bytes) -> str:
    try:
        name, content_type = audio_file_name(data)
        result = await client.audio.transcriptions.create(
            model=openai_client.transcribe_model(ctx), file=(name, data, content_type)
        )
    except Exception as exc:
        if openai_client.is_openai_error(exc):
            raise VoiceError(502, "openai_failed", openai_client.describe(exc)) from exc
        raise
    text = (getattr(result, "text", None) or "").strip()
    if not text:
        raise VoiceError(400, "no_speech", "no speech was recognised in the audio")
    return text


class _Answer:
    """The streaming assistant message of one turn."""

    def __init__(self, ctx: Any, call_id: str) -> None:
        self.ctx = ctx
        self.call_id = call_id
        self.message_id: str | None = None
        self.pending = ""
        self.phrases = 0

    async def feed(self, piece: str) -> None:
        self.pending += piece
        completed, self.pending = split_completed(self.pending)
        if completed:
            args: dict[str, Any] = {"call_id": self.call_id, "text": completed}
            if self.message_id is not None:
                args["message_id"] = self.message_id
            self.message_id = await self.ctx.run_mutation("voice:append_phrase", args)
            self.phrases += 1

    async def finish(self, error: str | None = None) -> None:
        args: dict[str, Any] = {"call_id": self.call_id, "text": self.pending}
        if self.message_id is not None:
            args["message_id"] = self.message_id
        if error is not None:
            args["error"] = error
        self.pending = ""
        await self.ctx.run_mutation("voice:finish_answer", args)


async def _stream_answer(ctx: ActionCtx, client: Any, call_id: str, history: list[Any]) -> None:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for m in history:
        role = "assistant" if m["role"] == "assistant" else "user"
        messages.append({"role": role, "content": m["text"]})
    answer = _Answer(ctx, call_id)
    try:
        stream = await client.chat.completions.create(
            model=openai_client.chat_model(ctx),
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=MAX_ANSWER_TOKENS,
        )
        async for chunk in stream:
            # The usage chunk at the end has no choices.
            if chunk.choices and chunk.choices[0].delta.content:
                await answer.feed(chunk.choices[0].delta.content)
    except Exception as exc:
        reason = openai_client.describe(exc)
        await answer.finish(error=reason)
        if openai_client.is_openai_error(exc):
            raise VoiceError(502, "openai_failed", reason) from exc
        raise
    await answer.finish()


@http_action
async def voice(ctx: ActionCtx, request: Any) -> Any:
    """``POST /voice``: transcribe (if audio), then stream the answer into ``messages``."""
    try:
        call_id, audio, text = _parse(await _read_json(request))
        state = await ctx.run_query("voice:call_state", {"call_id": call_id})
        if state["state"] == "invalid":
            raise VoiceError(400, "bad_call_id", f"callId {call_id!r} is not an id of calls")
        if state["state"] == "missing":
            raise VoiceError(404, "call_not_found", f"no call with id {call_id!r}")
        try:
            client = openai_client.client(ctx)
        except UserError as exc:
            raise VoiceError(503, "not_configured", "OpenAI is not configured") from exc
        async with client:
            if audio is not None:
                text = await _transcribe(ctx, client, audio)
            assert text is not None
            await ctx.run_mutation(
                "voice:add_user_message", {"call_id": state["call_id"], "text": text}
            )
            history = [*state["history"], {"role": "user", "text": text}]
            await _stream_answer(ctx, client, state["call_id"], history)
    except VoiceError as exc:
        return _error(exc)
    return PlainTextResponse("ok")
