"""The softphone: inbound intake and routing, answer/decline, click-to-dial, hold,
conference, hang-up and Twilio status callbacks.

Webhook-driven entry points (``on_incoming``, ``on_status``, ``attach_sid``,
``to_voicemail``) are internal mutations: the HTTP action that validates Twilio's
signature calls them with the normalised webhook fields and turns the returned decision
into TwiML.
"""

from __future__ import annotations

from typing import Any

from reactor import (
    MutationCtx,
    QueryCtx,
    UserError,
    internal_mutation,
    internal_query,
    mutation,
    query,
    v,
)

from .lib import compliance, core, outbox, stats
from .lib.access import handled_by, note_handler
from .lib.auth import is_supervisor, me, require_supervisor
from .lib.clock import day_of
from .lib.phone import caller_key, normalize_e164
from .lib.tabs import open_tab

SKILLS = v.record(v.string(), v.number())
DEFAULT_QUEUE = "general"
TWILIO_END = {
    "completed": "completed",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "no_answer",
    "canceled": "canceled",
}


def _customer_by_phone(ctx: QueryCtx, phone: str) -> dict[str, Any] | None:
    return ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first()


def _call_by_sid(ctx: QueryCtx, call_sid: str) -> dict[str, Any] | None:
    return ctx.db.query("calls").with_index("by_sid", lambda q: q.eq("call_sid", call_sid)).first()


def call_defaults(ctx: QueryCtx) -> dict[str, Any]:
    """Every field of a new call that says nothing has happened yet."""
    return {
        "call_sid": None,
        "customer_id": None,
        "campaign_id": None,
        "lead_id": None,
        "queue": None,
        "required_skills": {},
        "priority": 0.0,
        "agent_id": None,
        "participants": [],
        "created_at": ctx.now,
        "day": day_of(ctx, ctx.now),
        "enqueued_at": None,
        "answered_at": None,
        "ended_at": None,
        "wrap_up_ended_at": None,
        "hold_started_at": None,
        "hold_ms": 0.0,
        "offers": 0.0,
        "transfers": 0.0,
        "disposition": None,
        "notes": None,
        "recording_ids": [],
        "transcript_id": None,
        "last_sequence": -1.0,
    }


def new_call(ctx: MutationCtx, **fields: Any) -> dict[str, Any]:
    doc = {**call_defaults(ctx), **fields}
    doc["_id"] = ctx.db.insert("calls", dict(doc))
    return doc


def _decision(ctx: QueryCtx, call: dict[str, Any], offers: list[dict[str, Any]]) -> dict[str, Any]:
    entry = core.queue_entry(ctx, call["_id"])
    ringing = call["status"] == "ringing" and call["agent_id"] is not None
    return {
        "action": "ring" if ringing else "enqueue",
        "call_id": call["_id"],
        "agent_id": call["agent_id"] if ringing else None,
        "queue": call["queue"],
        "position": core.queue_position(ctx, entry) if entry is not None and not ringing else 0,
        "customer_id": call["customer_id"],
        "offers": offers,
    }


@internal_mutation(
    args={
        "call_sid": v.string(),
        "from_number": v.string(),
        "to_number": v.string(),
        "queue": v.optional(v.string()),
        "required_skills": v.optional(SKILLS),
        "priority": v.optional(v.number()),
    }
)
def on_incoming(
    ctx: MutationCtx,
    call_sid: str,
    from_number: str,
    to_number: str,
    queue: str | None = None,
    required_skills: Any = None,
    priority: float | None = None,
) -> Any:
    """A call arrived: look up the caller, pick an agent (reserve) or enqueue.

    Returns ``{"action": "ring", "agent_id", ...}`` (ring that agent's browser) or
    ``{"action": "enqueue", "position", ...}``. Replays of the same CallSid return the
    current decision without creating anything.
    """
    offers = core.expire_reservations(ctx)
    offers.extend(core.escalate_waiting(ctx))
    existing = _call_by_sid(ctx, call_sid)
    if existing is not None:
        return _decision(ctx, existing, offers)
    # A withheld caller id is routed like any call (it is never refused at intake).
    phone = caller_key(from_number, call_sid)
    our = normalize_e164(to_number)
    qdoc = None
    if queue is not None:
        qdoc = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", queue)).first()
    if qdoc is None:
        qdoc = ctx.db.query("queues").with_index("by_number", lambda q: q.eq("number", our)).first()
    queue_name = queue or (qdoc["name"] if qdoc is not None else DEFAULT_QUEUE)
    required: dict[str, float] = dict(qdoc["required_skills"]) if qdoc is not None else {}
    prio = (
        float(priority) if priority is not None else (qdoc["priority"] if qdoc is not None else 0.0)
    )
    customer = _customer_by_phone(ctx, phone) if phone.startswith("+") else None
    if customer is not None:
        if customer["tier"] == "vip" and priority is None:
            prio += 1.0
        lang = customer["preferred_language"]
        if lang and lang not in required:
            required[lang] = 1.0
    if required_skills is not None:
        required.update(required_skills)
    call = new_call(
        ctx,
        call_sid=call_sid,
        direction="inbound",
        phone=phone,
        our_number=our,
        customer_id=customer["_id"] if customer is not None else None,
        queue=queue_name,
        required_skills=required,
        priority=prio,
        status="queued",
        enqueued_at=ctx.now,
    )
    ctx.db.insert(
        "active_calls",
        {
            "call_id": call["_id"],
            "phone": phone,
            "agent_id": None,
            "direction": "inbound",
            "state": "queued",
            "queue": queue_name,
            "started_at": ctx.now,
            "answered_at": None,
        },
    )
    entry: dict[str, Any] = {
        "call_id": call["_id"],
        "phone": phone,
        "customer_id": call["customer_id"],
        "queue": queue_name,
        "required_skills": required,
        "priority": prio,
        "rank": -prio,
        "enqueued_at": ctx.now,
        "state": "waiting",
        "offered_agent_id": None,
        "skipped_agents": [],
    }
    if qdoc is not None and qdoc.get("escalate_after_s") is not None:
        entry["escalate_at"] = ctx.now + qdoc["escalate_after_s"] * 1000.0
        entry["relaxed_skills"] = qdoc.get("escalated_skills") or {}
    entry["_id"] = ctx.db.insert("incoming_call_queue", dict(entry))
    core.bump_queue(ctx, call, {"calls_in": 1, "queued": 1})
    offer = core.route_call(ctx, call, entry)
    if offer is not None:
        offers.append(offer)
        call.update(status="ringing", agent_id=offer["agent_id"])
    return _decision(ctx, call, offers)


@mutation(args={"call_id": v.id("calls")})
def answer(ctx: MutationCtx, call_id: str) -> Any:
    """The ringing agent picks up."""
    agent = core.require_agent(ctx, me(ctx))
    call = core.answer(ctx, agent, call_id)
    return {"call_id": call_id, "status": call["status"]}


@mutation(args={"call_id": v.id("calls")}, returns=v.object({"offers": v.array(v.any())}))
def decline(ctx: MutationCtx, call_id: str) -> Any:
    """The ringing agent rejects the offer; the call goes to the next agent."""
    agent = core.require_agent(ctx, me(ctx))
    if agent["status"] != "reserved" or agent["call_id"] != call_id:
        raise UserError({"code": "no_offer", "call_id": call_id})
    if agent["reservation_kind"] == "transfer":
        return {"offers": core.release_transfer_reservation(ctx, agent, "declined")}
    return {"offers": core.release_call_reservation(ctx, agent, "declined")}


def _participant(ctx: QueryCtx, call: dict[str, Any]) -> str:
    agent_id = me(ctx)
    if agent_id in handled_by(call):
        return agent_id
    if is_supervisor(ctx):
        return agent_id
    raise UserError({"code": "forbidden", "message": "not your call"})


@mutation(args={"call_id": v.id("calls")}, returns=v.object({"offers": v.array(v.any())}))
def hangup(ctx: MutationCtx, call_id: str) -> Any:
    """An agent on the call (or a supervisor) ends it; agents go to wrap-up.

    In a three-party call (a warm transfer) an agent hanging up only leaves: the
    customer stays with the other agent (see ``leave``).
    """
    call = core.get_call(ctx, call_id)
    agent_id = _participant(ctx, call)
    if call["status"] in ("in_progress", "on_hold") and _other_agents(call, agent_id):
        return {"offers": leave_agent_leg(ctx, call, agent_id)}
    live = call["status"] not in core.TERMINAL_CALL
    offers = core.end_call(ctx, call, "completed")
    if live:
        outbox.enqueue(
            ctx,
            "call.hangup",
            call_id=call_id,
            agent_id=agent_id,
            args={"call_sid": call["call_sid"], "reason": "agent_hangup"},
        )
    return {"offers": offers}


def _other_agents(call: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    return [
        p for p in call["participants"] if p["role"] != "supervisor" and p["agent_id"] != agent_id
    ]


def leave_agent_leg(ctx: MutationCtx, call: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    """Drop one agent's leg from a call that another agent stays on."""
    others = _other_agents(call, agent_id)
    mine = [p for p in call["participants"] if p["agent_id"] == agent_id]
    if not mine or not others:
        raise UserError({"code": "not_in_conference", "call_id": call["_id"]})
    for p in mine:
        core.credit_leg(ctx, call, p)
    patch: dict[str, Any] = {
        "participants": [p for p in call["participants"] if p["agent_id"] != agent_id]
    }
    if call["agent_id"] == agent_id:
        patch["agent_id"] = others[0]["agent_id"]  # the customer stays with the other agent
        row = core.active_row(ctx, call["_id"])
        if row is not None:
            ctx.db.patch(row["_id"], {"agent_id": others[0]["agent_id"]})
    ctx.db.patch(call["_id"], patch)
    # A warm transfer the target backs out of (or the source completes by leaving) ends.
    for transfer in (
        ctx.db.query("transfer_queue")
        .with_index(
            "by_call_status", lambda q: q.eq("call_id", call["_id"]).eq("status", "accepted")
        )
        .take(5)
    ):
        leaving_target = transfer["to_agent_id"] == agent_id
        ctx.db.patch(
            transfer["_id"],
            {"status": "canceled" if leaving_target else "done", "resolved_at": ctx.now},
        )
    agent = core.get_agent(ctx, agent_id)
    if agent is not None and agent["status"] == "on_call" and agent["call_id"] == call["_id"]:
        core.set_status(ctx, agent, "wrap_up", call_id=call["_id"])
    outbox.enqueue(
        ctx,
        "call.leave",
        call_id=call["_id"],
        agent_id=agent_id,
        args={"call_sid": call["call_sid"], "reason": "agent_left"},
    )
    return []


@mutation(args={"call_id": v.id("calls")})
def leave_call(ctx: MutationCtx, call_id: str) -> Any:
    """Leave a three-party call (e.g. after a warm-transfer consult); the customer stays
    connected to the other agent. Refused when no other agent is on the call."""
    call = core.get_call(ctx, call_id)
    agent_id = _participant(ctx, call)
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_in_progress", "status": call["status"]})
    return {"offers": leave_agent_leg(ctx, call, agent_id)}


@internal_mutation(
    args={
        "call_sid": v.optional(v.string()),
        "call_id": v.optional(v.id("calls")),
        "status": v.string(),
        "sequence_number": v.optional(v.number()),
        "payload": v.optional(v.any()),
        "parent_call_sid": v.optional(v.string()),
    }
)
def on_status(
    ctx: MutationCtx,
    status: str,
    call_sid: str | None = None,
    call_id: str | None = None,
    sequence_number: float | None = None,
    payload: Any = None,
    parent_call_sid: str | None = None,
) -> Any:
    """A Twilio status callback (``CallStatus``); idempotent on (CallSid, SequenceNumber).

    Click-to-dial has two legs: the agent's browser leg (the *parent*, ``in-progress``
    as soon as the app answers it, ``completed`` even when the customer never picked up)
    and the customer's PSTN leg (the *child*, with ``ParentCallSid``). Only the customer
    leg drives the call's state; the agent leg only ends a call that never got one.
    """
    call = ctx.db.get(call_id) if call_id is not None else None
    if call is None and call_sid is not None:
        call = _call_by_sid(ctx, call_sid)
    if call is None and call_sid is not None:
        agent_leg = _call_by_agent_leg(ctx, call_sid)
        if agent_leg is not None:
            return _agent_leg_status(ctx, agent_leg, status)
    if call is None and call_sid is not None and parent_call_sid is not None:
        call = _adopt_child_leg(ctx, call_sid, parent_call_sid)
    if call is None:
        raise UserError({"code": "call_not_found", "call_sid": call_sid, "call_id": call_id})
    sid = call_sid or call["call_sid"] or call["_id"]
    if sequence_number is not None:
        seen = (
            ctx.db.query("call_events")
            .with_index(
                "by_sid_kind_seq",
                lambda q: (
                    q.eq("call_sid", sid).eq("kind", "status").eq("sequence", sequence_number)
                ),
            )
            .first()
        )
        if seen is not None:
            return {"duplicate": True, "status": call["status"], "offers": []}
        ctx.db.insert(
            "call_events",
            {
                "call_sid": sid,
                "kind": "status",
                "sequence": sequence_number,
                "status": status,
                "payload": payload,
                "received_at": ctx.now,
            },
        )
        if sequence_number <= call["last_sequence"]:
            # Out of order: never move a call backwards.
            return {"duplicate": False, "status": call["status"], "offers": []}
        ctx.db.patch(call["_id"], {"last_sequence": sequence_number})
    offers: list[dict[str, Any]] = []
    if status in ("in-progress", "answered"):
        if call["direction"] == "outbound" and call["status"] == "ringing":
            now = ctx.now
            parts = [core.leg(call["agent_id"], "agent", call, now)]
            note_handler(ctx, call, call["agent_id"])
            ctx.db.patch(
                call["_id"], {"status": "in_progress", "answered_at": now, "participants": parts}
            )
            row = core.active_row(ctx, call["_id"])
            if row is not None:
                ctx.db.patch(row["_id"], {"state": "talking", "answered_at": now})
            core.start_recording(ctx, call, call["agent_id"])
            stats.bump(
                ctx,
                call["day"],
                {"outbound_connected": 1},
                call["agent_id"],
                {"outbound_connected": 1},
            )
            call["status"] = "in_progress"
    elif status in TWILIO_END:
        offers = core.end_call(ctx, call, TWILIO_END[status])
    return {"duplicate": False, "status": call["status"], "offers": offers}


def _call_by_agent_leg(ctx: QueryCtx, sid: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("calls")
        .with_index("by_agent_leg", lambda q: q.eq("agent_leg_sid", sid))
        .first()
    )


def _adopt_child_leg(ctx: MutationCtx, child_sid: str, parent_sid: str) -> dict[str, Any] | None:
    """The first callback of a customer leg dialled from an agent's browser leg."""
    call = _call_by_agent_leg(ctx, parent_sid)
    if call is None:
        call = _call_by_sid(ctx, parent_sid)
        if call is None or call["direction"] != "outbound":
            return None
        # The parent was recorded as the call's sid: it is the agent leg.
        ctx.db.patch(call["_id"], {"agent_leg_sid": parent_sid})
        call["agent_leg_sid"] = parent_sid
    elif call["call_sid"] not in (None, parent_sid):
        return None  # a second child of the same browser leg: not this call's customer
    ctx.db.patch(call["_id"], {"call_sid": child_sid, "last_sequence": -1.0})
    call.update(call_sid=child_sid, last_sequence=-1.0)
    return call


def _agent_leg_status(ctx: MutationCtx, call: dict[str, Any], status: str) -> dict[str, Any]:
    offers: list[dict[str, Any]] = []
    no_customer_leg = call["call_sid"] in (None, call.get("agent_leg_sid"))
    if status in TWILIO_END and call["status"] == "ringing" and no_customer_leg:
        offers = core.end_call(ctx, call, "canceled")  # the browser gave up before dialling
    return {"duplicate": False, "status": call["status"], "offers": offers, "leg": "agent"}


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "call_sid": v.string(),
        "leg": v.optional(v.union(v.literal("customer"), v.literal("agent"))),
    }
)
def attach_sid(ctx: MutationCtx, call_id: str, call_sid: str, leg: str = "customer") -> None:
    """Record a CallSid Twilio assigned to an outbound call: the customer's PSTN leg
    (the default) or the agent's browser leg."""
    if leg == "agent":
        ctx.db.patch(call_id, {"agent_leg_sid": call_sid})
    else:
        ctx.db.patch(call_id, {"call_sid": call_sid})


def start_outbound(
    ctx: MutationCtx,
    agent_id: str,
    phone: str,
    *,
    customer_id: str | None = None,
    campaign_id: str | None = None,
    lead_id: str | None = None,
    our_number: str = "",
) -> dict[str, Any]:
    """Click-to-dial core; refuses double-dial, returns a blocked result for DNC numbers."""
    agent = core.require_agent(ctx, agent_id)
    if agent["status"] not in ("available", "away") or agent["call_id"] is not None:
        raise UserError({"code": "agent_busy", "status": agent["status"]})
    mine = (
        ctx.db.query("active_calls")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .first()
    )
    if mine is not None:
        raise UserError({"code": "agent_busy", "call_id": mine["call_id"]})
    busy = (
        ctx.db.query("active_calls").with_index("by_phone", lambda q: q.eq("phone", phone)).first()
    )
    if busy is not None:
        raise UserError({"code": "number_busy", "phone": phone, "call_id": busy["call_id"]})
    if compliance.is_blocked(ctx, phone, "voice"):
        audit_id = compliance.audit(
            ctx, phone, "voice", "blocked_send", "agent", actor_id=agent_id, reason="dnc"
        )
        return {"ok": False, "code": "dnc", "phone": phone, "audit_id": audit_id}
    if customer_id is None:
        customer = _customer_by_phone(ctx, phone)
        customer_id = customer["_id"] if customer is not None else None
    source = "campaign" if campaign_id is not None else "agent"
    refused = compliance.refuse_quiet_hours(
        ctx, phone, "voice", source, customer_id, actor_id=agent_id
    )
    if refused is not None:
        return refused
    call = new_call(
        ctx,
        direction="outbound",
        phone=phone,
        our_number=our_number,
        customer_id=customer_id,
        campaign_id=campaign_id,
        lead_id=lead_id,
        agent_id=agent_id,
        status="ringing",
    )
    ctx.db.insert(
        "active_calls",
        {
            "call_id": call["_id"],
            "phone": phone,
            "agent_id": agent_id,
            "direction": "outbound",
            "state": "ringing",
            "queue": None,
            "started_at": ctx.now,
            "answered_at": None,
        },
    )
    core.set_status(ctx, agent, "on_call", call_id=call["_id"])
    outbox.enqueue(
        ctx,
        "call.dial",
        call_id=call["_id"],
        agent_id=agent_id,
        args={"to": phone, "from": our_number, "campaign_id": campaign_id, "lead_id": lead_id},
    )
    stats.bump(ctx, call["day"], {"calls_out": 1}, agent_id, {"calls_out": 1})
    if customer_id is not None:
        customer = ctx.db.get(customer_id)
        open_tab(ctx, agent_id, "customer", customer_id, customer["name"] if customer else phone)
    else:
        open_tab(ctx, agent_id, "phone", phone, phone)
    return {"ok": True, "call_id": call["_id"], "phone": phone}


@mutation(args={"to": v.string(), "customer_id": v.optional(v.id("customers"))})
def dial(ctx: MutationCtx, to: str, customer_id: str | None = None) -> Any:
    """Click-to-dial. ``{"ok": True, "call_id"}``, or ``{"ok": False, "code": "dnc"}``
    (audited) for a do-not-call number; raises ``number_busy`` / ``agent_busy``."""
    phone = normalize_e164(to)
    return start_outbound(ctx, me(ctx), phone, customer_id=customer_id)


def _sid(call: dict[str, Any]) -> dict[str, Any]:
    return {"call_sid": call["call_sid"]}


# The conference modes of supervisors, as the telephony command names them.
MONITOR_MODE = {"monitor": "listen", "whisper": "whisper", "barge": "barge"}


def _own_connected_call(ctx: QueryCtx, call_id: str) -> dict[str, Any]:
    call = core.get_call(ctx, call_id)
    if call["agent_id"] != me(ctx):
        raise UserError({"code": "forbidden", "message": "not your call"})
    return call


@mutation(args={"call_id": v.id("calls")})
def hold(ctx: MutationCtx, call_id: str) -> Any:
    call = _own_connected_call(ctx, call_id)
    if call["status"] != "in_progress":
        raise UserError({"code": "not_in_progress", "status": call["status"]})
    ctx.db.patch(call_id, {"status": "on_hold", "hold_started_at": ctx.now})
    row = core.active_row(ctx, call_id)
    if row is not None:
        ctx.db.patch(row["_id"], {"state": "on_hold"})
    stats.bump(ctx, call["day"], {"holds": 1}, call["agent_id"], {"holds": 1})
    outbox.enqueue(ctx, "call.hold", call_id=call_id, agent_id=call["agent_id"], args=_sid(call))
    return {"status": "on_hold"}


@mutation(args={"call_id": v.id("calls")})
def resume(ctx: MutationCtx, call_id: str) -> Any:
    call = _own_connected_call(ctx, call_id)
    if call["status"] != "on_hold":
        raise UserError({"code": "not_on_hold", "status": call["status"]})
    held = max(0.0, ctx.now - (call["hold_started_at"] or ctx.now))
    ctx.db.patch(
        call_id,
        {"status": "in_progress", "hold_started_at": None, "hold_ms": call["hold_ms"] + held},
    )
    row = core.active_row(ctx, call_id)
    if row is not None:
        ctx.db.patch(row["_id"], {"state": "talking"})
    outbox.enqueue(ctx, "call.resume", call_id=call_id, agent_id=call["agent_id"], args=_sid(call))
    return {"status": "in_progress", "hold_ms": call["hold_ms"] + held}


@mutation(args={"call_id": v.id("calls"), "recording": v.boolean()})
def set_recording(ctx: MutationCtx, call_id: str, recording: bool) -> Any:
    """Pause (``False``, e.g. while a card number is read out) or resume the recording."""
    call = _own_connected_call(ctx, call_id)
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_in_progress", "status": call["status"]})
    kind = "recording.start" if recording else "recording.stop"
    outbox.enqueue(
        ctx,
        kind,
        call_id=call_id,
        agent_id=call["agent_id"],
        args={**_sid(call), "reason": "agent"},
    )
    return {"recording": recording}


@mutation(
    args={
        "call_id": v.id("calls"),
        "mode": v.union(v.literal("monitor"), v.literal("whisper"), v.literal("barge")),
    }
)
def join(ctx: MutationCtx, call_id: str, mode: str) -> Any:
    """Supervisor joins a live call's conference (monitor, whisper or barge)."""
    supervisor = require_supervisor(ctx)
    call = core.get_call(ctx, call_id)
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_in_progress", "status": call["status"]})
    parts = [p for p in call["participants"] if p["agent_id"] != supervisor]
    parts.append({"agent_id": supervisor, "role": "supervisor", "mode": mode, "joined_at": ctx.now})
    ctx.db.patch(call_id, {"participants": parts})
    outbox.enqueue(
        ctx,
        "call.monitor",
        call_id=call_id,
        agent_id=supervisor,
        args={**_sid(call), "mode": MONITOR_MODE[mode], "coach_agent_id": call["agent_id"]},
    )
    return {"participants": parts}


@mutation(args={"call_id": v.id("calls")})
def leave(ctx: MutationCtx, call_id: str) -> Any:
    """A supervisor leaves a conference."""
    supervisor = require_supervisor(ctx)
    call = core.get_call(ctx, call_id)
    was_in = any(p["agent_id"] == supervisor for p in call["participants"])
    parts = [p for p in call["participants"] if p["agent_id"] != supervisor]
    ctx.db.patch(call_id, {"participants": parts})
    if was_in and call["status"] not in core.TERMINAL_CALL:
        outbox.enqueue(
            ctx,
            "call.monitor",
            call_id=call_id,
            agent_id=supervisor,
            args={**_sid(call), "mode": "leave"},
        )
    return {"participants": parts}


@internal_mutation(args={"call_id": v.id("calls")})
def to_voicemail(ctx: MutationCtx, call_id: str) -> Any:
    """Send a waiting caller to voicemail (e.g. after the queue's maximum wait)."""
    call = core.get_call(ctx, call_id)
    if call["status"] not in ("queued", "ringing"):
        raise UserError({"code": "not_queued", "status": call["status"]})
    offers = core.end_call(ctx, call, "voicemail")
    vm = ctx.db.insert(
        "voicemails",
        {
            "call_id": call_id,
            "phone": call["phone"],
            "customer_id": call["customer_id"],
            "queue": call["queue"],
            "recording_id": None,
            "transcription": None,
            "assigned_to": None,
            "status": "new",
            "created_at": ctx.now,
        },
    )
    outbox.enqueue(
        ctx,
        "call.voicemail",
        call_id=call_id,
        args={**_sid(call), "voicemail_id": vm, "queue": call["queue"]},
    )
    return {"voicemail_id": vm, "offers": offers}


@query(args={"call_id": v.id("calls")})
def get(ctx: QueryCtx, call_id: str) -> Any:
    """A call, for its participants and supervisors."""
    call = ctx.db.get(call_id)
    if call is None:
        return None
    _participant(ctx, call)
    return call


@query(args={"call_id": v.id("calls")})
def position(ctx: QueryCtx, call_id: str) -> Any:
    """Queue position and wait so far of an inbound call (0 when not waiting)."""
    me(ctx)
    entry = core.queue_entry(ctx, call_id)
    if entry is None:
        return {"position": 0, "waiting_ms": 0.0}
    return {
        "position": core.queue_position(ctx, entry),
        "waiting_ms": max(0.0, ctx.now - entry["enqueued_at"]),
    }


@query(args={"limit": v.optional(v.number())})
def my_recent(ctx: QueryCtx, limit: float = 20) -> Any:
    """The calling agent's most recent calls."""
    agent_id = me(ctx)
    return (
        ctx.db.query("calls")
        .with_index("by_agent_created", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .take(int(limit))
    )


@internal_query(args={"cursor": v.nullable(v.string()), "num_items": v.optional(v.number())})
def page(ctx: QueryCtx, cursor: str | None, num_items: float = 500) -> Any:
    """All calls in creation order, a page at a time (for the archive export)."""
    return ctx.db.query("calls").paginate(num_items=int(num_items), cursor=cursor)
