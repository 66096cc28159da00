"""The Twilio webhook routes (HTTP actions), served under ``/http`` and on the site origin.

Each handler verifies the request (``webhook.receive``), reads the fields it needs,
runs one internal mutation and answers the way Twilio expects: TwiML for voice and
messaging webhooks, ``204`` for status callbacks. Anything refused before the mutation
commits changes nothing: a bad or missing signature is a 403, a missing or malformed
field a 400 naming it, a state the callback does not fit (an unknown call) a 4xx too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import PlainTextResponse, Response

from reactor import ActionCtx, HttpRouter, UserError, http_action
from reactor.errors import ValidationError

from . import twiml
from .webhook import Rejected, Webhook, receive

logger = logging.getLogger("callcenter.twilio")

Handler = Callable[[Any, Webhook], Awaitable[Response]]
MAX_MEDIA = 10
NOT_FOUND_CODES = {"call_not_found", "no_voicemail", "thread_not_found"}


def _user_error(exc: UserError) -> Response:
    data = exc.data if isinstance(exc.data, dict) else {"message": str(exc.data)}
    code = str(data.get("code", "invalid"))
    message = str(data.get("message") or code.replace("_", " "))
    status = 404 if code in NOT_FOUND_CODES else (503 if code == "twilio_not_configured" else 400)
    return PlainTextResponse(f"{code}: {message}", status)


def webhook(handler: Handler) -> Any:
    """Verify, run, and turn refusals into clear 4xx answers."""

    async def run(ctx: ActionCtx, request: Any) -> Response:
        try:
            hook = await receive(ctx, request)
            return await handler(ctx, hook)
        except Rejected as exc:
            return exc.response()
        except UserError as exc:
            return _user_error(exc)
        except ValidationError as exc:
            return PlainTextResponse(f"invalid webhook parameters: {exc}", 400)

    run.__name__ = handler.__name__
    return http_action(run)


def no_content() -> Response:
    return Response(status_code=204)


# -- voice --------------------------------------------------------------------------------


async def voice_incoming(ctx: ActionCtx, hook: Webhook) -> Response:
    call_sid, from_number, to_number = hook.require("CallSid", "From", "To")
    result = await ctx.run_mutation(
        "twilio/voice_state:incoming",
        {"call_sid": call_sid, "from_number": from_number, "to_number": to_number},
    )
    if not result["live"]:
        return twiml.xml(twiml.hang_up())
    return twiml.xml(
        twiml.customer_conference(hook.settings, result["call_id"], result["position"])
    )


async def voice_hold(ctx: ActionCtx, hook: Webhook) -> Response:
    call_id = hook.param("callId")
    position = 0
    if call_id is not None:
        position = await ctx.run_query("twilio/voice_state:hold_position", {"call_id": call_id})
    return twiml.xml(twiml.hold_music(hook.settings, int(position)))


async def voice_outbound(ctx: ActionCtx, hook: Webhook) -> Response:
    call_sid, from_identity, to = hook.require("CallSid", "From", "To")
    call_id = hook.get("callId") or hook.get("call_id")
    if not call_id:
        raise Rejected(400, "missing custom parameter callId")
    args: dict[str, Any] = {
        "call_sid": call_sid,
        "from_identity": from_identity,
        "to": to,
        "call_id": call_id,
    }
    lead_id = hook.get("leadId") or hook.get("lead_id")
    if lead_id:
        args["lead_id"] = lead_id
    if hook.settings.caller_id:
        args["default_caller_id"] = hook.settings.caller_id
    result = await ctx.run_mutation("twilio/outbound:start_leg", args)
    if not result["ok"]:
        return twiml.xml(twiml.say_and_hang_up(result["say"]))
    return twiml.xml(twiml.agent_conference(hook.settings, result["call_id"]))


async def voice_status(ctx: ActionCtx, hook: Webhook) -> Response:
    call_sid, status = hook.require("CallSid", "CallStatus")
    args: dict[str, Any] = {"call_sid": call_sid, "status": status}
    for field, param in (
        ("call_id", "callId"),
        ("role", "role"),
        ("agent_id", "agentId"),
        ("command_id", "command"),
    ):
        value = hook.param(param)
        if value is not None:
            args[field] = value
    sequence = hook.number("SequenceNumber")
    if sequence is not None:
        args["sequence"] = sequence
    args["payload"] = {
        k: hook.get(k)
        for k in ("CallDuration", "Timestamp", "ParentCallSid", "SipResponseCode")
        if hook.get(k)
    }
    await ctx.run_mutation("twilio/voice_state:leg_status", args)
    return no_content()


async def voice_conference(ctx: ActionCtx, hook: Webhook) -> Response:
    event, conference_sid = hook.require("StatusCallbackEvent", "ConferenceSid")
    call_id = hook.param("callId")
    if call_id is None:
        raise Rejected(400, "conference callback URL lacks callId")
    args: dict[str, Any] = {"call_id": call_id, "event": event, "conference_sid": conference_sid}
    if hook.get("CallSid"):
        args["call_sid"] = hook.get("CallSid")
    sequence = hook.number("SequenceNumber")
    if sequence is not None:
        args["sequence"] = sequence
    await ctx.run_mutation("twilio/voice_state:conference_event", args)
    return no_content()


async def voice_recording(ctx: ActionCtx, hook: Webhook) -> Response:
    (recording_sid,) = hook.require("RecordingSid")
    args: dict[str, Any] = {
        "recording_sid": recording_sid,
        "status": hook.get("RecordingStatus") or "completed",
        "duration_s": hook.number("RecordingDuration") or 0.0,
    }
    if hook.get("RecordingUrl"):
        args["url"] = hook.get("RecordingUrl")
    for field, name in (("call_sid", "CallSid"), ("conference_sid", "ConferenceSid")):
        if hook.get(name):
            args[field] = hook.get(name)
    if hook.param("callId"):
        args["call_id"] = hook.param("callId")
    await ctx.run_mutation("twilio/voice_state:recording", args)
    return no_content()


async def voice_voicemail(ctx: ActionCtx, hook: Webhook) -> Response:
    call_id = hook.param("callId")
    if call_id is None:
        raise Rejected(400, "voicemail callback URL lacks callId")
    event = hook.param("event") or "recorded"
    if event == "transcribed":
        status = hook.get("TranscriptionStatus") or "completed"
        text = hook.get("TranscriptionText") or ""
        await ctx.run_mutation(
            "twilio/voice_state:voicemail_transcribed",
            {"call_id": call_id, "text": text, "status": status},
        )
        return no_content()
    if event != "recorded":
        raise Rejected(400, f"unknown voicemail event {event!r}")
    recording_sid, url = hook.require("RecordingSid", "RecordingUrl")
    await ctx.run_mutation(
        "twilio/voice_state:voicemail_recorded",
        {
            "call_id": call_id,
            "recording_sid": recording_sid,
            "url": url,
            "duration_s": hook.number("RecordingDuration") or 0.0,
        },
    )
    return twiml.xml(twiml.say_and_hang_up("Thank you. Your message was recorded. Goodbye."))


# -- messaging ----------------------------------------------------------------------------


def _media(hook: Webhook) -> list[dict[str, str]]:
    count = int(hook.number("NumMedia") or 0)
    if count < 0 or count > MAX_MEDIA:
        raise Rejected(400, f"NumMedia must be between 0 and {MAX_MEDIA}")
    media = []
    for i in range(count):
        url = hook.get(f"MediaUrl{i}")
        if not url:
            raise Rejected(400, f"missing form field MediaUrl{i}")
        media.append({"url": url, "content_type": hook.get(f"MediaContentType{i}") or ""})
    return media


async def sms_incoming(ctx: ActionCtx, hook: Webhook) -> Response:
    message_sid, from_number, to_number = hook.require("MessageSid", "From", "To")
    args: dict[str, Any] = {
        "message_sid": message_sid,
        "from_number": from_number,
        "to_number": to_number,
        "body": hook.get("Body") or "",
        "media": _media(hook),
    }
    if hook.get("OptOutType"):
        args["opt_out_type"] = hook.get("OptOutType")
    result = await ctx.run_mutation("twilio/sms_state:incoming", args)
    help_text = None
    if result["reply_help"]:
        help_text = hook.settings.sms_help_text or (
            "Reply STOP to unsubscribe. Msg&data rates may apply."
        )
    return twiml.xml(twiml.sms_reply(help_text))


async def sms_status(ctx: ActionCtx, hook: Webhook) -> Response:
    message_sid = hook.require("MessageSid")[0]
    status = hook.get("MessageStatus") or hook.get("SmsStatus")
    if not status:
        raise Rejected(400, "missing form field MessageStatus")
    args: dict[str, Any] = {"message_sid": message_sid, "status": status}
    code = hook.number("ErrorCode")
    if code is not None:
        args["error_code"] = code
    await ctx.run_mutation("twilio/sms_state:status", args)
    return no_content()


ROUTES: dict[str, Handler] = {
    "/twilio/voice/incoming": voice_incoming,
    "/twilio/voice/outbound": voice_outbound,
    "/twilio/voice/status": voice_status,
    "/twilio/voice/conference": voice_conference,
    "/twilio/voice/recording": voice_recording,
    "/twilio/voice/voicemail": voice_voicemail,
    "/twilio/voice/hold": voice_hold,
    "/twilio/sms/incoming": sms_incoming,
    "/twilio/sms/status": sms_status,
}


def add_routes(http: HttpRouter) -> None:
    for path, handler in ROUTES.items():
        http.route(path=path, method="POST", handler=webhook(handler))
