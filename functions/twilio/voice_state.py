"""The state changes behind the voice webhooks (internal mutations, one per callback).

Twilio's signed status callbacks are the source of truth for *answered* and *ended*:
an agent's leg answering connects the call (``core.answer``), a ring leg ending unanswered
is a missed offer (re-offered by ``core.release_call_reservation``), the customer's leg
ending ends the call. A leg that answers after its offer was withdrawn (the call was
re-offered to someone else meanwhile) is hung up again through the outbox.

Every callback is idempotent: a leg keeps the last ``SequenceNumber`` it applied, and a
replayed or out-of-order callback changes nothing.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, internal_mutation, internal_query, v

from .. import calls, recordings, transfer_out, transfers
from ..lib import core, outbox
from . import legs
from .twiml import conference_name

ROLES = ("customer", "agent", "transfer_target", "supervisor", "outside", "browser", "external")
ROLE = v.union(*(v.literal(r) for r in ROLES))
MISS_REASON = {"busy": "declined", "canceled": "canceled"}


class _Identity:
    def __init__(self, subject: str) -> None:
        self.subject = subject

    def get_user_identity(self) -> dict[str, Any]:
        return {"subject": self.subject, "role": "agent"}


class ActingAs:
    """A mutation context acting as the agent Twilio connected (their leg answered)."""

    def __init__(self, ctx: Any, agent_id: str) -> None:
        self._ctx = ctx
        self.auth = _Identity(agent_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


@internal_mutation(
    args={
        "call_sid": v.string(),
        "from_number": v.string(),
        "to_number": v.string(),
    }
)
def incoming(ctx: MutationCtx, call_sid: str, from_number: str, to_number: str) -> Any:
    """A call arrived: route it (``calls:on_incoming``) and note its customer leg.

    Replays of the same CallSid return the same call without creating anything.
    """
    decision = calls.on_incoming.handler(
        ctx, call_sid=call_sid, from_number=from_number, to_number=to_number
    )
    call_id = decision["call_id"]
    call = core.get_call(ctx, call_id)
    legs.ensure(ctx, call_sid, call_id, "customer")
    conf = legs.ensure_conference(ctx, call_id, conference_name(call_id))
    return {
        "call_id": call_id,
        "conference": conf["name"],
        "position": decision.get("position", 0),
        "action": decision.get("action"),
        "live": call["status"] not in core.TERMINAL_CALL,
    }


@internal_query(args={"call_id": v.id("calls")})
def hold_position(ctx: QueryCtx, call_id: str) -> Any:
    """The caller's queue position for the hold announcement (0 when not waiting)."""
    entry = core.queue_entry(ctx, call_id)
    return core.queue_position(ctx, entry) if entry is not None else 0


def _latest_offer_command(ctx: QueryCtx, call_id: str, agent_id: str) -> str | None:
    """The newest ``offer.ring`` of this agent for this call (a call has few commands)."""
    newest = (
        ctx.db.query("commands")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .order("desc")
        .filter(lambda c: c["kind"] == "offer.ring" and c["agent_id"] == agent_id)
        .first()
    )
    return str(newest["_id"]) if newest is not None else None


def _offer_is_current(ctx: QueryCtx, leg: dict[str, Any], agent: dict[str, Any] | None) -> bool:
    """This ring leg belongs to the agent's live reservation for this call."""
    if agent is None or agent["status"] != "reserved" or agent["call_id"] != leg["call_id"]:
        return False
    if leg["command_id"] is None:
        return True
    return bool(_latest_offer_command(ctx, leg["call_id"], leg["agent_id"]) == leg["command_id"])


def _resume_if_held(ctx: MutationCtx, call_id: str, agent_id: str) -> None:
    """The customer was left on hold for this agent (a transfer to a queue): resume."""
    call = core.get_call(ctx, call_id)
    if call["status"] != "in_progress":
        return
    last = (
        ctx.db.query("commands")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .order("desc")
        .filter(
            lambda c: (
                c["kind"] in ("call.hold", "call.resume")
                or (c["kind"] == "call.transfer" and (c["args"] or {}).get("step") == "to_queue")
            )
        )
        .first()
    )
    if last is None or last["kind"] == "call.resume":
        return
    outbox.enqueue(
        ctx,
        "call.resume",
        call_id=call_id,
        agent_id=agent_id,
        args={"call_sid": call["call_sid"], "reason": "answered_after_hold"},
    )


def hang_up_leg(ctx: MutationCtx, leg: dict[str, Any], reason: str) -> str:
    return outbox.enqueue(
        ctx,
        "leg.hangup",
        call_id=leg["call_id"],
        agent_id=leg["agent_id"],
        args={"leg_sid": leg["call_sid"], "reason": reason},
        idempotency_key=f"leg.hangup:{leg['call_sid']}",
    )


def _agent_leg(ctx: MutationCtx, leg: dict[str, Any], status: str) -> dict[str, Any]:
    agent = core.get_agent(ctx, leg["agent_id"]) if leg["agent_id"] else None
    call = core.get_call(ctx, leg["call_id"])
    if status in legs.ANSWERED:
        ctx.db.patch(leg["_id"], {"answered_at": ctx.now})
        leg["answered_at"] = ctx.now
        if call["status"] in core.TERMINAL_CALL:
            hang_up_leg(ctx, leg, "call_ended")
            return {"outcome": "late_answer"}
        if _offer_is_current(ctx, leg, agent):
            assert agent is not None
            if agent["reservation_kind"] == "transfer":
                pending = transfers._pending_for(ctx, agent["agent_id"])
                if pending is not None and pending["call_id"] == call["_id"]:
                    transfers.accept.handler(
                        ActingAs(ctx, agent["agent_id"]), transfer_id=pending["_id"]
                    )
                return {"outcome": "transfer_accepted"}
            core.answer(ctx, agent, call["_id"])
            _resume_if_held(ctx, call["_id"], agent["agent_id"])
            return {"outcome": "answered"}
        if (
            agent is not None
            and agent["status"] == "on_call"
            and agent["call_id"] == call["_id"]
            and (
                leg["command_id"] is None
                or _latest_offer_command(ctx, call["_id"], agent["agent_id"]) == leg["command_id"]
            )
        ):
            _resume_if_held(ctx, call["_id"], agent["agent_id"])
            return {"outcome": "already_answered"}
        hang_up_leg(ctx, leg, "offer_withdrawn")
        return {"outcome": "late_answer"}
    if status not in legs.ENDED:
        return {"outcome": "progress"}
    # The leg ended.
    if leg["answered_at"] is None:
        if _offer_is_current(ctx, leg, agent):
            assert agent is not None
            reason = MISS_REASON.get(status, "timeout")
            if agent["reservation_kind"] == "transfer":
                core.release_transfer_reservation(
                    ctx, agent, "declined" if reason == "declined" else "expired"
                )
            else:
                core.release_call_reservation(ctx, agent, reason)
            return {"outcome": "missed", "reason": reason}
        return {"outcome": "ended_unanswered"}
    if call["status"] in core.TERMINAL_CALL:
        return {"outcome": "left"}
    agent_id = leg["agent_id"]
    on_call = any(
        p["agent_id"] == agent_id and p["role"] != "supervisor" for p in call["participants"]
    )
    if on_call and calls._other_agents(call, agent_id):
        # A three-party call: this agent hung up their softphone, the others stay.
        calls.leave_agent_leg(ctx, call, agent_id)
        return {"outcome": "left_three_party"}
    if call["agent_id"] == agent_id:
        # The agent who owns the call hung up their softphone: the call is over.
        _end_for_everyone(ctx, call, agent_id, "agent_leg_ended")
        return {"outcome": "call_ended"}
    return {"outcome": "left"}


def _end_for_everyone(
    ctx: MutationCtx, call: dict[str, Any], agent_id: str | None, reason: str
) -> None:
    core.end_call(ctx, call, "completed")
    outbox.enqueue(
        ctx,
        "call.hangup",
        call_id=call["_id"],
        agent_id=agent_id,
        args={"call_sid": call["call_sid"], "reason": reason},
        idempotency_key=f"call.hangup:{call['_id']}",
    )


def _browser_leg(ctx: MutationCtx, leg: dict[str, Any], status: str) -> dict[str, Any]:
    """The agent's own leg of a browser-originated call: it ending ends the call."""
    if status in legs.ANSWERED:
        if leg["answered_at"] is None:
            ctx.db.patch(leg["_id"], {"answered_at": ctx.now})
        return {"outcome": "progress"}
    if status not in legs.ENDED:
        return {"outcome": "progress"}
    call = core.get_call(ctx, leg["call_id"])
    if call["status"] in core.TERMINAL_CALL or call["agent_id"] != leg["agent_id"]:
        return {"outcome": "left"}
    _end_for_everyone(ctx, call, leg["agent_id"], "agent_leg_ended")
    return {"outcome": "call_ended"}


def _external_leg(ctx: MutationCtx, leg: dict[str, Any], status: str) -> dict[str, Any]:
    """An outside number the call is being transferred to (``transfer_out``)."""
    if status not in legs.ANSWERED:
        return {"outcome": "ended" if status in legs.ENDED else "progress"}
    ctx.db.patch(leg["_id"], {"answered_at": ctx.now})
    call = core.get_call(ctx, leg["call_id"])
    command = ctx.db.get(leg["command_id"]) if leg["command_id"] else None
    mode = (command or {}).get("args", {}).get("mode")
    if call["status"] in core.TERMINAL_CALL:
        hang_up_leg(ctx, leg, "call_ended")
        return {"outcome": "late_answer"}
    if mode == "cold" and call["agent_id"] is not None:
        transfer_out.hand_over(ctx, call, call["agent_id"])
        return {"outcome": "handed_over"}
    return {"outcome": "consulting"}


def _outside_leg(
    ctx: MutationCtx, leg: dict[str, Any], status: str, sequence: float | None
) -> dict[str, Any]:
    """The dialled customer of an outbound call: its answer and outcome are the call's."""
    call = core.get_call(ctx, leg["call_id"])
    if status in legs.ANSWERED:
        if call["direction"] == "outbound" and call["status"] == "ringing":
            calls.on_status.handler(ctx, status="in-progress", call_id=call["_id"])
            core.start_recording(ctx, core.get_call(ctx, call["_id"]), call["agent_id"])
        ctx.db.patch(leg["_id"], {"answered_at": ctx.now})
        return {"outcome": "answered"}
    if status in legs.ENDED:
        calls.on_status.handler(ctx, status=status, call_id=call["_id"])
        return {"outcome": "ended"}
    return {"outcome": "progress"}


@internal_mutation(
    args={
        "call_sid": v.string(),
        "status": v.string(),
        "call_id": v.optional(v.id("calls")),
        "role": v.optional(ROLE),
        "agent_id": v.optional(v.string()),
        "command_id": v.optional(v.string()),
        "sequence": v.optional(v.number()),
        "payload": v.optional(v.any()),
    }
)
def leg_status(
    ctx: MutationCtx,
    call_sid: str,
    status: str,
    call_id: str | None = None,
    role: Any = None,
    agent_id: str | None = None,
    command_id: str | None = None,
    sequence: float | None = None,
    payload: Any = None,
) -> Any:
    """A call-progress callback for one leg (``CallStatus``, ``SequenceNumber``)."""
    leg = legs.by_sid(ctx, call_sid)
    if leg is None:
        if call_id is not None and role is not None:
            leg = legs.ensure(ctx, call_sid, call_id, role, agent_id, command_id)
        else:
            call = calls._call_by_sid(ctx, call_sid)
            if call is None:
                raise UserError({"code": "call_not_found", "call_sid": call_sid})
            leg = legs.ensure(ctx, call_sid, call["_id"], "customer")
    if sequence is not None:
        if sequence <= leg["sequence"]:
            return {"duplicate": True, "outcome": None}
        seen = sequence
    else:
        # No SequenceNumber (e.g. the number's own status callback): a status is applied once.
        if status == leg["status"] or leg["ended_at"] is not None:
            return {"duplicate": True, "outcome": None}
        seen = leg["sequence"]
    fields: dict[str, Any] = {"status": status, "sequence": seen}
    if status in legs.ENDED:
        fields["ended_at"] = ctx.now
    ctx.db.patch(leg["_id"], fields)
    leg.update(fields)
    role = leg["role"]
    if role == "customer":
        if status in legs.ENDED:
            calls.on_status.handler(
                ctx,
                status=status,
                call_id=leg["call_id"],
                call_sid=call_sid,
                sequence_number=sequence,
                payload=payload,
            )
        return {"duplicate": False, "outcome": "customer_" + status}
    if role in ("agent", "transfer_target"):
        return {"duplicate": False, **_agent_leg(ctx, leg, status)}
    if role == "outside":
        return {"duplicate": False, **_outside_leg(ctx, leg, status, sequence)}
    if role == "browser":
        return {"duplicate": False, **_browser_leg(ctx, leg, status)}
    if role == "external":
        return {"duplicate": False, **_external_leg(ctx, leg, status)}
    return {"duplicate": False, "outcome": "noted"}


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "event": v.string(),
        "conference_sid": v.string(),
        "call_sid": v.optional(v.string()),
        "sequence": v.optional(v.number()),
    }
)
def conference_event(
    ctx: MutationCtx,
    call_id: str,
    event: str,
    conference_sid: str,
    call_sid: str | None = None,
    sequence: float | None = None,
) -> Any:
    """Conference status callback: remember its sid; its end ends the call."""
    core.get_call(ctx, call_id)  # call_not_found before anything is written
    conf = legs.ensure_conference(ctx, call_id, conference_name(call_id))
    patch: dict[str, Any] = {"updated_at": ctx.now}
    if conf["conference_sid"] is None:
        patch["conference_sid"] = conference_sid
    elif conf["conference_sid"] != conference_sid:
        raise UserError({"code": "conference_mismatch", "conference_sid": conference_sid})
    if event == "conference-start" and conf["status"] == "pending":
        patch["status"] = "in_progress"
    ended = event == "conference-end" and conf["status"] != "completed"
    if ended:
        patch["status"] = "completed"
    ctx.db.patch(conf["_id"], patch)
    if ended:
        call = core.get_call(ctx, call_id)
        # An outbound call still ringing takes its outcome (no-answer, busy) from the
        # customer's leg, not from the conference closing.
        if call["direction"] == "inbound" or call["status"] not in ("queued", "ringing"):
            core.end_call(ctx, call, "completed")
    return {"event": event, "status": patch.get("status", conf["status"])}


@internal_mutation(
    args={
        "recording_sid": v.string(),
        "duration_s": v.number(),
        "status": v.string(),
        "url": v.optional(v.string()),
        "call_id": v.optional(v.id("calls")),
        "call_sid": v.optional(v.string()),
        "conference_sid": v.optional(v.string()),
    }
)
def recording(
    ctx: MutationCtx,
    recording_sid: str,
    duration_s: float,
    status: str,
    url: str | None = None,
    call_id: str | None = None,
    call_sid: str | None = None,
    conference_sid: str | None = None,
) -> Any:
    """A recording is ready (or failed): link it to its call, idempotent on RecordingSid."""
    call = ctx.db.get(call_id) if call_id is not None else None
    if call is None and conference_sid is not None:
        conf = legs.conference_by_sid(ctx, conference_sid)
        call = ctx.db.get(conf["call_id"]) if conf is not None else None
    if call is None and call_sid is not None:
        leg = legs.by_sid(ctx, call_sid)
        call = ctx.db.get(leg["call_id"]) if leg is not None else None
    if call is None:
        raise UserError({"code": "call_not_found", "recording_sid": recording_sid})
    if call["call_sid"] is None:
        raise UserError({"code": "call_has_no_sid", "call_id": call["_id"]})
    rec = calls_recording_attach(ctx, call, recording_sid, url, duration_s, status)
    return {"recording_id": rec, "call_id": call["_id"]}


def calls_recording_attach(
    ctx: QueryCtx,
    call: dict[str, Any],
    recording_sid: str,
    url: str | None,
    duration_s: float,
    status: str,
) -> Any:
    fields: dict[str, Any] = {
        "call_sid": call["call_sid"],
        "recording_sid": recording_sid,
        "duration_s": duration_s,
        "status": status,
    }
    if url is not None:
        fields["url"] = url
    return recordings.attach.handler(ctx, **fields)


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "recording_sid": v.string(),
        "url": v.string(),
        "duration_s": v.number(),
    }
)
def voicemail_recorded(
    ctx: MutationCtx, call_id: str, recording_sid: str, url: str, duration_s: float
) -> Any:
    """The caller finished a voicemail (``<Record action>``): link the recording."""
    call = core.get_call(ctx, call_id)
    vm = (
        ctx.db.query("voicemails").with_index("by_call", lambda q: q.eq("call_id", call_id)).first()
    )
    if vm is None:
        raise UserError({"code": "no_voicemail", "call_id": call_id})
    rec = calls_recording_attach(ctx, call, recording_sid, url, duration_s, "completed")
    if vm["recording_id"] is None and rec is not None:
        ctx.db.patch(vm["_id"], {"recording_id": rec})
    return {"voicemail_id": vm["_id"], "recording_id": rec}


@internal_mutation(args={"call_id": v.id("calls"), "text": v.string(), "status": v.string()})
def voicemail_transcribed(ctx: MutationCtx, call_id: str, text: str, status: str) -> Any:
    """Twilio's transcription of a voicemail (``transcribeCallback``)."""
    vm = (
        ctx.db.query("voicemails").with_index("by_call", lambda q: q.eq("call_id", call_id)).first()
    )
    if vm is None:
        raise UserError({"code": "no_voicemail", "call_id": call_id})
    if status == "completed" and vm["transcription"] != text:
        ctx.db.patch(vm["_id"], {"transcription": text})
    return {"voicemail_id": vm["_id"]}
