"""The Twilio executor of the outbox: telephony commands become REST calls.

Registered at import for the telephony kinds (``offer.*``, ``call.*``, ``leg.*``,
``sms.send``, ``recording.start``/``stop``). Each handler reads the current state first
(``command_state:topology``) and skips what no longer applies, because a command may
run twice (at-least-once dispatch) or after the call moved on; Twilio's REST API has no
idempotency key. A 404 from Twilio for a leg we are ending means it already ended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twilio.base.exceptions import TwilioRestException

from reactor import ActionCtx, QueryCtx

from ..lib import outbox
from . import twiml
from .settings import RestClient, TwilioSettings, settings

Command = dict[str, Any]
Handler = Callable[[Any, TwilioSettings, Any, Command], Awaitable[dict[str, Any] | None]]

RING_EVENTS = ["initiated", "ringing", "answered", "completed"]
MIN_RING_S = 5
MAX_RING_S = 60
# Twilio's no-answer must come before reactor's own ring timeout (the backstop).
RING_MARGIN_S = 2
AGENT_ROLES = ("agent", "transfer_target", "browser")


class CommandSkipped(Exception):
    pass


async def _topology(
    ctx: ActionCtx, command: Command, agent_id: str | None = None
) -> dict[str, Any]:
    call_id = command.get("call_id")
    if call_id is None:
        raise ValueError(f"{command['kind']} command has no call_id")
    args: dict[str, Any] = {"call_id": call_id}
    if agent_id is not None:
        args["agent_id"] = agent_id
    topo = await ctx.run_query("twilio/command_state:topology", args)
    if topo is None:
        raise CommandSkipped("call_not_found")
    return dict(topo)


def _live(topo: dict[str, Any], *roles: str, agent_id: str | None = None) -> list[dict[str, Any]]:
    return [
        leg
        for leg in topo["legs"]
        if not leg["ended"]
        and (not roles or leg["role"] in roles)
        and (agent_id is None or leg["agent_id"] == agent_id)
    ]


def _customer_leg(topo: dict[str, Any]) -> str:
    role = "customer" if topo["call"]["direction"] == "inbound" else "outside"
    found = _live(topo, role)
    if not found:
        raise CommandSkipped("no_customer_leg")
    return str(found[0]["call_sid"])


async def _conference_sid(
    ctx: ActionCtx, client: Any, command: Command, topo: dict[str, Any]
) -> str:
    conf = topo["conference"]
    if conf is None:
        raise CommandSkipped("no_conference")
    if conf["sid"]:
        return str(conf["sid"])
    found = await client.conferences.list_async(
        friendly_name=conf["name"], status="in-progress", limit=1
    )
    if not found:
        raise CommandSkipped("conference_not_started")
    await ctx.run_mutation(
        "twilio/command_state:conference_found",
        {"call_id": command["call_id"], "conference_sid": found[0].sid},
    )
    return str(found[0].sid)


async def _end_leg(client: Any, call_sid: str, answered: bool) -> bool:
    """Hang up one leg; False when Twilio no longer knows it (it already ended)."""
    try:
        await client.calls(call_sid).update_async(status="completed" if answered else "canceled")
    except TwilioRestException as exc:
        if exc.status == 404:
            return False
        if not answered and exc.status == 400:
            # Answered meanwhile: canceling is only for queued or ringing calls.
            await client.calls(call_sid).update_async(status="completed")
            return True
        raise
    return True


def _status_url(s: TwilioSettings, command: Command, role: str, agent_id: str) -> str:
    return s.url(
        "/twilio/voice/status",
        callId=command["call_id"],
        role=role,
        agentId=agent_id,
        command=command["_id"],
    )


# -- offers --------------------------------------------------------------------------------


async def offer_ring(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    agent_id = command["agent_id"]
    topo = await _topology(ctx, command, agent_id)
    agent = topo["agent"]
    if not topo["call"]["live"]:
        return {"skipped": "call_ended"}
    if (
        agent is None
        or agent["status"] != "reserved"
        or agent["call_id"] != command["call_id"]
        or topo["latest_offer"] != command["_id"]
    ):
        return {"skipped": "offer_withdrawn"}
    if any(leg["command_id"] == command["_id"] for leg in topo["legs"]):
        return {"skipped": "already_rung"}
    args = command.get("args") or {}
    role = "transfer_target" if args.get("offer_kind") == "transfer" else "agent"
    timeout = int(float(args.get("ring_timeout_s") or 20)) - RING_MARGIN_S
    timeout = max(MIN_RING_S, min(MAX_RING_S, timeout))
    conf = topo["conference"]
    if conf is None:
        raise CommandSkipped("no_conference")
    participant = await client.conferences(conf["sid"] or conf["name"]).participants.create_async(
        from_=topo["call"]["phone"] if topo["call"]["direction"] == "inbound" else s.caller_id,
        to=f"client:{agent_id}",
        label=f"{role}:{agent_id}",
        timeout=timeout,
        early_media=True,
        beep="false",
        end_conference_on_exit=False,
        status_callback=_status_url(s, command, role, agent_id),
        status_callback_event=RING_EVENTS,
    )
    created = await ctx.run_mutation(
        "twilio/command_state:leg_created",
        {
            "call_sid": participant.call_sid,
            "call_id": command["call_id"],
            "role": role,
            "agent_id": agent_id,
            "command_id": command["_id"],
        },
    )
    return {"leg_sid": participant.call_sid, "timeout_s": timeout, **created}


async def offer_cancel(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    agent_id = command["agent_id"]
    topo = await _topology(ctx, command, agent_id)
    ended = []
    for leg in _live(topo, "agent", "transfer_target", agent_id=agent_id):
        if leg["answered"]:
            continue  # the agent is on the call through this leg: not ours to cancel
        await _end_leg(client, leg["call_sid"], answered=False)
        ended.append(leg["call_sid"])
    return {"canceled": ended}


# -- call control ---------------------------------------------------------------------------


async def call_hold(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    topo = await _topology(ctx, command)
    leg = _customer_leg(topo)
    conference = await _conference_sid(ctx, client, command, topo)
    hold = command["kind"] == "call.hold"
    fields: dict[str, Any] = {"hold": hold}
    if hold:
        fields.update(
            hold_url=s.url("/twilio/voice/hold", callId=command["call_id"]), hold_method="POST"
        )
    await client.conferences(conference).participants(leg).update_async(**fields)
    return {"hold": hold, "leg_sid": leg}


async def call_hangup(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """End the whole call: its conference (every participant with it), else each leg."""
    topo = await _topology(ctx, command)
    conf = topo["conference"]
    if conf is not None and conf["status"] != "completed":
        try:
            sid = await _conference_sid(ctx, client, command, topo)
        except CommandSkipped:
            sid = None
        if sid is not None:
            try:
                await client.conferences(sid).update_async(status="completed")
                return {"conference_sid": sid}
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
    ended = []
    for leg in _live(topo):
        answered = leg["answered"] or leg["role"] in ("customer", "browser")
        if await _end_leg(client, leg["call_sid"], answered=answered):
            ended.append(leg["call_sid"])
    return {"ended": ended}


async def leg_hangup(
    ctx: QueryCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    sid = (command.get("args") or {}).get("leg_sid")
    if not sid:
        raise ValueError("leg.hangup needs args.leg_sid")
    done = await _end_leg(client, sid, answered=True)
    return {"leg_sid": sid, "ended": done}


async def call_transfer(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """``accept`` (cold drops the transferring agent), ``complete`` (warm drops them) or
    ``to_queue`` (the customer is held for the queue, the agent dropped)."""
    args = command.get("args") or {}
    step, mode = args.get("step"), args.get("mode")
    if step == "accept" and mode == "warm":
        return {"step": step, "dropped": []}
    if step not in ("accept", "complete", "to_queue"):
        raise ValueError(f"call.transfer step must be accept, complete or to_queue, got {step!r}")
    topo = await _topology(ctx, command)
    held = None
    if step == "to_queue":
        # The customer waits for the queue's next agent with hold music, then the
        # transferring agent leaves; the answering agent's leg resumes the customer.
        held = _customer_leg(topo)
        conference = await _conference_sid(ctx, client, command, topo)
        await (
            client.conferences(conference)
            .participants(held)
            .update_async(
                hold=True,
                hold_url=s.url("/twilio/voice/hold", callId=command["call_id"]),
                hold_method="POST",
            )
        )
    dropped = []
    for leg in _live(topo, *AGENT_ROLES, agent_id=args.get("from_agent_id")):
        if await _end_leg(client, leg["call_sid"], answered=leg["answered"]):
            dropped.append(leg["call_sid"])
    return {"step": step, "dropped": dropped, "held": held}


async def call_leave(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """One agent leaves a call another agent stays on: drop only that agent's legs."""
    topo = await _topology(ctx, command)
    dropped = []
    for leg in _live(topo, *AGENT_ROLES, agent_id=command["agent_id"]):
        if await _end_leg(client, leg["call_sid"], answered=leg["answered"]):
            dropped.append(leg["call_sid"])
    return {"dropped": dropped}


async def call_monitor(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """Supervisor modes: listen (muted), whisper (coaching the agent), barge (unmuted)."""
    args = command.get("args") or {}
    mode = args.get("mode")
    supervisor = command["agent_id"]
    topo = await _topology(ctx, command)
    mine = _live(topo, "supervisor", agent_id=supervisor)
    if mode == "leave":
        for leg in mine:
            await _end_leg(client, leg["call_sid"], answered=leg["answered"])
        return {"mode": mode, "left": [leg["call_sid"] for leg in mine]}
    if mode not in ("listen", "whisper", "barge"):
        raise ValueError(f"call.monitor mode must be listen, whisper, barge or leave, got {mode!r}")
    if not topo["call"]["live"]:
        return {"skipped": "call_ended"}
    fields: dict[str, Any] = {"muted": mode == "listen", "coaching": mode == "whisper"}
    if mode == "whisper":
        coached = _live(
            topo, *AGENT_ROLES, agent_id=args.get("coach_agent_id") or topo["call"]["agent_id"]
        )
        if not coached:
            raise CommandSkipped("no_agent_leg_to_coach")
        fields["call_sid_to_coach"] = coached[0]["call_sid"]
    conference = await _conference_sid(ctx, client, command, topo)
    if mine:
        leg_sid = mine[0]["call_sid"]
        await client.conferences(conference).participants(leg_sid).update_async(**fields)
        return {"mode": mode, "leg_sid": leg_sid, "updated": True}
    participant = await client.conferences(conference).participants.create_async(
        from_=s.caller_id or topo["call"]["phone"],
        to=f"client:{supervisor}",
        label=f"supervisor:{supervisor}",
        beep="false",
        end_conference_on_exit=False,
        status_callback=_status_url(s, command, "supervisor", supervisor),
        status_callback_event=RING_EVENTS,
        **fields,
    )
    await ctx.run_mutation(
        "twilio/command_state:leg_created",
        {
            "call_sid": participant.call_sid,
            "call_id": command["call_id"],
            "role": "supervisor",
            "agent_id": supervisor,
            "command_id": command["_id"],
        },
    )
    return {"mode": mode, "leg_sid": participant.call_sid, "updated": False}


async def call_voicemail(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """Take the caller out of the conference into a recorded, transcribed message."""
    topo = await _topology(ctx, command)
    leg = _customer_leg(topo)
    await client.calls(leg).update_async(twiml=str(twiml.voicemail(s, command["call_id"])))
    return {"leg_sid": leg}


async def call_dial(
    ctx: QueryCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    # Click-to-dial is placed by the agent's browser (device.connect): the TwiML App's
    # /twilio/voice/outbound webhook validates it and ``leg.dial`` adds the customer.
    return {"placed_by": "browser"}


async def leg_dial(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """Add the dialled customer to an outbound call's conference."""
    args = command.get("args") or {}
    topo = await _topology(ctx, command)
    if not topo["call"]["live"]:
        return {"skipped": "call_ended"}
    if any(leg["role"] == "outside" for leg in topo["legs"]):
        return {"skipped": "already_dialled"}
    conf = topo["conference"]
    if conf is None:
        raise CommandSkipped("no_conference")
    participant = await client.conferences(conf["sid"] or conf["name"]).participants.create_async(
        from_=args["caller_id"],
        to=args["to"],
        label="customer",
        timeout=30,
        early_media=True,
        beep="false",
        end_conference_on_exit=True,
        status_callback=s.url("/twilio/voice/status", callId=command["call_id"], role="outside"),
        status_callback_event=RING_EVENTS,
    )
    await ctx.run_mutation(
        "twilio/command_state:leg_created",
        {"call_sid": participant.call_sid, "call_id": command["call_id"], "role": "outside"},
    )
    return {"leg_sid": participant.call_sid}


async def leg_external(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """Ring an outside number into the call's conference (a transfer out)."""
    args = command.get("args") or {}
    topo = await _topology(ctx, command)
    if not topo["call"]["live"]:
        return {"skipped": "call_ended"}
    if any(leg["command_id"] == command["_id"] for leg in topo["legs"]):
        return {"skipped": "already_dialled"}
    if not s.caller_id:
        raise CommandSkipped("no_caller_id")
    conference = await _conference_sid(ctx, client, command, topo)
    participant = await client.conferences(conference).participants.create_async(
        from_=s.caller_id,
        to=args["to"],
        label="external",
        timeout=30,
        early_media=True,
        beep="false",
        end_conference_on_exit=False,
        status_callback=s.url(
            "/twilio/voice/status",
            callId=command["call_id"],
            role="external",
            command=command["_id"],
        ),
        status_callback_event=RING_EVENTS,
    )
    await ctx.run_mutation(
        "twilio/command_state:leg_created",
        {
            "call_sid": participant.call_sid,
            "call_id": command["call_id"],
            "role": "external",
            "command_id": command["_id"],
        },
    )
    return {"leg_sid": participant.call_sid}


# -- recording ------------------------------------------------------------------------------


async def recording(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    """Start (or resume) a dual-channel recording of the customer's leg, or pause it."""
    topo = await _topology(ctx, command)
    leg = _customer_leg(topo)
    existing = await client.calls(leg).recordings.list_async(limit=20)
    active = [r for r in existing if r.status in ("in-progress", "paused")]
    if command["kind"] == "recording.stop":
        for rec in active:
            if rec.status == "in-progress":
                await client.calls(leg).recordings(rec.sid).update_async(status="paused")
        return {"paused": [r.sid for r in active]}
    if active:
        for rec in active:
            if rec.status == "paused":
                await client.calls(leg).recordings(rec.sid).update_async(status="in-progress")
        return {"recording_sid": active[0].sid, "resumed": True}
    rec = await client.calls(leg).recordings.create_async(
        recording_channels="dual",
        recording_status_callback=s.url("/twilio/voice/recording", callId=command["call_id"]),
        recording_status_callback_event=["completed", "absent"],
    )
    return {"recording_sid": rec.sid, "resumed": False}


# -- messaging ------------------------------------------------------------------------------


async def sms_send(
    ctx: ActionCtx, s: TwilioSettings, client: Any, command: Command
) -> dict[str, Any]:
    args = command.get("args") or {}
    message_id = args.get("message_id")
    if not message_id:
        raise ValueError("sms.send needs args.message_id")
    current = await ctx.run_query("twilio/sms_state:outgoing", {"message_id": message_id})
    if current is None:
        return {"skipped": "message_not_found"}
    if current["message_sid"] is not None or current["status"] not in ("queued",):
        return {"skipped": "already_sent", "message_sid": current["message_sid"]}
    if current["blocked"]:
        # A STOP arrived between the agent pressing send and this command running.
        await ctx.run_mutation(
            "twilio/sms_state:refused",
            {"message_id": message_id, "error_code": None, "reason": "blocked"},
        )
        return {"failed": "opted_out"}
    fields: dict[str, Any] = {
        "to": current["phone"],
        "body": args.get("body") or "",
        "status_callback": s.url("/twilio/sms/status"),
    }
    if s.messaging_service_sid:
        fields["messaging_service_sid"] = s.messaging_service_sid
    else:
        fields["from_"] = args.get("from") or current["our_number"]
    media = [u for u in args.get("media_urls") or [] if isinstance(u, str)]
    if media:
        fields["media_url"] = media
    try:
        message = await client.messages.create_async(**fields)
    except TwilioRestException as exc:
        if 400 <= exc.status < 500:
            # Refused for good (unsubscribed, invalid number, ...): never retried, since
            # Messages has no idempotency key and a retry could send twice.
            await ctx.run_mutation(
                "twilio/sms_state:refused",
                {
                    "message_id": message_id,
                    "error_code": float(exc.code) if exc.code is not None else None,
                    "reason": str(exc.msg)[:200],
                },
            )
            return {"failed": exc.code}
        raise
    await ctx.run_mutation(
        "twilio/sms_state:accepted",
        {"message_id": message_id, "message_sid": message.sid, "status": message.status},
    )
    return {"message_sid": message.sid, "status": message.status}


HANDLERS: dict[str, Handler] = {
    "offer.ring": offer_ring,
    "offer.cancel": offer_cancel,
    "call.hold": call_hold,
    "call.resume": call_hold,
    "call.hangup": call_hangup,
    "call.transfer": call_transfer,
    "call.leave": call_leave,
    "call.monitor": call_monitor,
    "call.voicemail": call_voicemail,
    "call.dial": call_dial,
    "leg.hangup": leg_hangup,
    "leg.dial": leg_dial,
    "leg.external": leg_external,
    "recording.start": recording,
    "recording.stop": recording,
    "sms.send": sms_send,
}
PREFIXES = ("offer", "call", "leg", "sms.send", "recording.start", "recording.stop")


async def execute(ctx: ActionCtx, command: Command) -> dict[str, Any] | None:
    """Run one telephony command against Twilio's REST API."""
    handler = HANDLERS.get(command["kind"])
    if handler is None:
        raise ValueError(f"the Twilio executor does not handle {command['kind']!r}")
    async with RestClient(settings(ctx)) as client:
        try:
            return await handler(ctx, settings(ctx), client, command)
        except CommandSkipped as skipped:
            return {"skipped": str(skipped)}


for _prefix in PREFIXES:
    outbox.register_executor(_prefix, execute)
