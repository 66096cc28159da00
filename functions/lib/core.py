"""The contact-center state machine shared by the agent, routing, call and transfer functions.

Everything here runs inside one mutation, so each step is atomic: an agent is reserved
for a call only if the same transaction saw them ``available`` (optimistic concurrency
makes a concurrent reservation of the same agent conflict and retry).

Agent states: ``offline | available | reserved | on_call | wrap_up | away``.
Call states: ``queued | ringing | in_progress | on_hold | completed | abandoned |
no_answer | busy | failed | canceled | voicemail``.

Every offer made or withdrawn here also writes an outbox command in the same
transaction (``offer.ring`` / ``offer.cancel``, see ``outbox.py``): telephony rings the
agent because the command exists, never because a caller relayed a return value. The
functions still return the offers they made (``{"agent_id", "call_id", "kind",
"expires_at"}``) for callers that want to show them.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError

from . import outbox, settings, stats
from .access import note_handler
from .clock import day_of, split_by_day
from .tabs import open_tab

RING_TIMEOUT_MS = 20_000.0
TRANSFER_TIMEOUT_MS = 30_000.0
PRESENCE_TIMEOUT_MS = 120_000.0
HEARTBEAT_WRITE_MS = 30_000.0
MAX_MISSED_IN_ROW = 2
AGENT_SCAN_LIMIT = 500
QUEUE_SCAN_LIMIT = 500

LIVE_CALL = ("queued", "ringing", "in_progress", "on_hold", "transferring")
TERMINAL_CALL = ("completed", "abandoned", "no_answer", "busy", "failed", "canceled", "voicemail")

Doc = dict[str, Any]
Offer = dict[str, Any]


# -- agents -----------------------------------------------------------------------------


def get_agent(ctx: QueryCtx, agent_id: str) -> Doc | None:
    return (
        ctx.db.query("agent_status")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .unique()
    )


def require_agent(ctx: QueryCtx, agent_id: str) -> Doc:
    agent = get_agent(ctx, agent_id)
    if agent is None or agent["status"] == "offline":
        raise UserError({"code": "not_signed_in", "agent_id": agent_id})
    return agent


def is_live(agent: Doc, now: float) -> bool:
    """The agent's softphone sent a heartbeat recently."""
    return bool(now - agent["heartbeat_at"] <= PRESENCE_TIMEOUT_MS)


def skills_match(skills: dict[str, float], required: dict[str, float]) -> bool:
    return all(skills.get(name, 0.0) >= level for name, level in required.items())


def set_status(
    ctx: MutationCtx, agent: Doc, to: str, *, reason: str | None = None, **fields: Any
) -> Doc:
    """Move an agent to ``to``: log the event, add the time spent to the daily stats."""
    now = ctx.now
    frm = agent["status"]
    spent = max(0.0, now - agent["status_since"])
    patch: Doc = {"status": to, "status_since": now, "reason": reason, **fields}
    if to == "available":
        patch.setdefault("available_since", now)
        patch.setdefault("call_id", None)
    else:
        patch["available_since"] = None
    if to != "reserved":
        patch["reservation_kind"] = None
        patch["reservation_expires_at"] = None
    ctx.db.patch(agent["_id"], patch)
    ctx.db.insert(
        "agent_state_events",
        {
            "agent_id": agent["agent_id"],
            "from_status": frm,
            "to_status": to,
            "reason": reason,
            "call_id": patch.get("call_id", agent["call_id"]),
            "at": now,
            "duration_ms": spent,
        },
    )
    if spent > 0 and frm != "offline":
        # A status that spans midnight is credited to each day it covered.
        for day, part in split_by_day(ctx, agent["status_since"], now):
            key = {f"status_ms_{frm}": part}
            stats.bump(ctx, day, key, agent["agent_id"], key)
    agent.update(patch)
    return agent


def first_match(query: Any, predicate: Any, limit: int) -> Doc | None:
    """The first document of ``query`` matching ``predicate``, examining at most ``limit``.

    Routing must stay bounded however many agents or calls a range holds: past the limit
    the scan stops (the document it stopped at is returned only if it matches).
    """
    examined = [0]

    def stop_or_match(doc: Doc) -> bool:
        examined[0] += 1
        return bool(predicate(doc)) or examined[0] >= limit

    doc = query.filter(stop_or_match).first()
    return doc if doc is not None and predicate(doc) else None


def find_agent(
    ctx: QueryCtx, required: dict[str, float], exclude: list[str] | set[str] | tuple[str, ...] = ()
) -> Doc | None:
    """The longest-idle live available agent with every required skill at its level."""
    now = ctx.now
    skip = set(exclude)
    return first_match(
        ctx.db.query("agent_status").with_index(
            "by_status_idle", lambda q: q.eq("status", "available")
        ),
        lambda a: (
            a["agent_id"] not in skip and is_live(a, now) and skills_match(a["skills"], required)
        ),
        AGENT_SCAN_LIMIT,
    )


# -- calls and the queue ------------------------------------------------------------------


def queue_entry(ctx: QueryCtx, call_id: str) -> Doc | None:
    return (
        ctx.db.query("incoming_call_queue")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .unique()
    )


def active_row(ctx: QueryCtx, call_id: str) -> Doc | None:
    return (
        ctx.db.query("active_calls")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .unique()
    )


def get_call(ctx: QueryCtx, call_id: str) -> Doc:
    call = ctx.db.get(call_id)
    if call is None:
        raise UserError({"code": "call_not_found", "call_id": call_id})
    return call


def reserve(ctx: MutationCtx, agent: Doc, call: Doc, entry: Doc | None) -> Offer:
    """Reserve ``agent`` for an inbound call and ring them."""
    expires = ctx.now + RING_TIMEOUT_MS
    idle_from = agent["available_since"]
    set_status(
        ctx,
        agent,
        "reserved",
        call_id=call["_id"],
        reservation_kind="call",
        reservation_expires_at=expires,
        idle_before_offer=idle_from,
    )
    ctx.db.patch(
        call["_id"],
        {"status": "ringing", "agent_id": agent["agent_id"], "offers": call["offers"] + 1},
    )
    row = active_row(ctx, call["_id"])
    if row is not None:
        ctx.db.patch(row["_id"], {"agent_id": agent["agent_id"], "state": "ringing"})
    if entry is not None:
        ctx.db.patch(entry["_id"], {"state": "offered", "offered_agent_id": agent["agent_id"]})
    ring_offer(ctx, agent["agent_id"], call, "call", expires)
    return {
        "agent_id": agent["agent_id"],
        "call_id": call["_id"],
        "kind": "call",
        "expires_at": expires,
    }


def ring_offer(
    ctx: MutationCtx, agent_id: str, call: Doc, offer_kind: str, expires: float, **extra: Any
) -> str:
    """The ``offer.ring`` command: add the agent's leg to the call's conference."""
    return outbox.enqueue(
        ctx,
        "offer.ring",
        call_id=call["_id"],
        agent_id=agent_id,
        args={
            "offer_kind": offer_kind,
            "ring_timeout_s": max(1.0, (expires - ctx.now) / 1000.0),
            "expires_at": expires,
            "call_sid": call["call_sid"],
            "phone": call["phone"],
            "queue": call["queue"],
            **extra,
        },
    )


def cancel_offer(
    ctx: MutationCtx, agent_id: str, call_id: str, offer_kind: str, reason: str
) -> str:
    """The ``offer.cancel`` command: stop ringing the agent's leg."""
    return outbox.enqueue(
        ctx,
        "offer.cancel",
        call_id=call_id,
        agent_id=agent_id,
        args={"offer_kind": offer_kind, "reason": reason},
    )


def effective_skills(entry: Doc, now: float) -> dict[str, float]:
    """A queue entry's skill requirement now: relaxed once its escalation time passed."""
    at = entry.get("escalate_at")
    if at is not None and at <= now and entry.get("relaxed_skills") is not None:
        return dict(entry["relaxed_skills"])
    return dict(entry["required_skills"])


def route_call(
    ctx: MutationCtx, call: Doc, entry: Doc, also_exclude: tuple[str, ...] = ()
) -> Offer | None:
    """Offer a queued call to the best agent, or leave it waiting."""
    agent = find_agent(
        ctx, effective_skills(entry, ctx.now), [*entry["skipped_agents"], *also_exclude]
    )
    if agent is not None:
        return reserve(ctx, agent, call, entry)
    if entry["state"] != "waiting":
        ctx.db.patch(entry["_id"], {"state": "waiting", "offered_agent_id": None})
    if call["status"] != "queued" or call["agent_id"] is not None:
        ctx.db.patch(call["_id"], {"status": "queued", "agent_id": None})
    row = active_row(ctx, call["_id"])
    if row is not None and (row["state"] != "queued" or row["agent_id"] is not None):
        ctx.db.patch(row["_id"], {"state": "queued", "agent_id": None})
    return None


def offer_next_for_agent(
    ctx: MutationCtx, agent: Doc, exclude_call: str | None = None
) -> Offer | None:
    """Offer an available agent the oldest highest-priority waiting call they can serve.

    Calls the agent declined or missed come last: they are offered to this agent again
    only when nothing else fits (and never in the mutation that released them).
    """
    if agent["status"] != "available" or not is_live(agent, ctx.now):
        return None
    agent_id = agent["agent_id"]
    now = ctx.now

    def waiting() -> Any:
        return ctx.db.query("incoming_call_queue").with_index(
            "by_state_rank", lambda q: q.eq("state", "waiting")
        )

    entry = first_match(
        waiting(),
        lambda e: (
            agent_id not in e["skipped_agents"]
            and skills_match(agent["skills"], effective_skills(e, now))
        ),
        QUEUE_SCAN_LIMIT,
    )
    if entry is None:
        entry = first_match(
            waiting(),
            lambda e: (
                e["call_id"] != exclude_call
                and agent_id in e["skipped_agents"]
                and skills_match(agent["skills"], effective_skills(e, now))
            ),
            QUEUE_SCAN_LIMIT,
        )
    if entry is None:
        return None
    call = ctx.db.get(entry["call_id"])
    if call is None:  # pragma: no cover - entries are removed with their call
        ctx.db.delete(entry["_id"])
        return None
    return reserve(ctx, agent, call, entry)


def queue_position(ctx: QueryCtx, entry: Doc) -> int:
    """1-based position among the calls waiting in the same queue (priority, then arrival).

    Callers of other queues are served by other agents and do not count. Reads only the
    entries ahead: higher-priority waiting calls of the queue, and same-priority calls
    that arrived no later, so arrivals behind this caller do not change what it read.
    """
    if entry["state"] != "waiting":
        return 0
    queue = entry["queue"]
    higher = (
        ctx.db.query("incoming_call_queue")
        .with_index(
            "by_state_queue_rank",
            lambda q: q.eq("state", "waiting").eq("queue", queue).lt("rank", entry["rank"]),
        )
        .take(QUEUE_SCAN_LIMIT)
    )
    same = (
        ctx.db.query("incoming_call_queue")
        .with_index(
            "by_state_queue_rank",
            lambda q: (
                q.eq("state", "waiting")
                .eq("queue", queue)
                .eq("rank", entry["rank"])
                .lte("enqueued_at", entry["enqueued_at"])
            ),
        )
        .take(QUEUE_SCAN_LIMIT)
    )
    ahead = [e for e in same if e["_creation_time"] < entry["_creation_time"]]
    return len(higher) + len(ahead) + 1


def escalate_waiting(ctx: MutationCtx, limit: int = 50) -> list[Offer]:
    """Relax waiting calls whose escalation time passed and route them again."""
    now = ctx.now
    due = (
        ctx.db.query("incoming_call_queue")
        .with_index(
            "by_state_escalation",
            lambda q: q.eq("state", "waiting").gte("escalate_at", 0.0).lte("escalate_at", now),
        )
        .take(limit)
    )
    offers: list[Offer] = []
    for entry in due:
        relaxed = entry.get("relaxed_skills") or {}
        ctx.db.patch(
            entry["_id"], {"required_skills": relaxed, "escalate_at": None, "relaxed_skills": None}
        )
        entry = {**entry, "required_skills": relaxed, "escalate_at": None, "relaxed_skills": None}
        call = ctx.db.get(entry["call_id"])
        if call is not None:
            offer = route_call(ctx, call, entry)
            if offer is not None:
                offers.append(offer)
    return offers


# -- reservations: answer, decline, expire --------------------------------------------------


def release_call_reservation(
    ctx: MutationCtx, agent: Doc, reason: str, *, reoffer: bool = True
) -> list[Offer]:
    """Undo an agent's call reservation: ``declined``/``timeout`` (a miss) or ``canceled``."""
    offers: list[Offer] = []
    agent_call_id = agent["call_id"]
    call = ctx.db.get(agent_call_id) if agent_call_id is not None else None
    if agent_call_id is not None:
        cancel_offer(ctx, agent["agent_id"], agent_call_id, "call", reason)
    missed = reason in ("declined", "timeout")
    if missed:
        agent["missed_in_row"] = agent["missed_in_row"] + 1
        day = call["day"] if call is not None else day_of(ctx, ctx.now)
        stats.bump(ctx, day, {"missed_offers": 1}, agent["agent_id"], {"missed_offers": 1})
    if missed and agent["missed_in_row"] >= MAX_MISSED_IN_ROW:
        set_status(
            ctx,
            agent,
            "away",
            reason="missed_offers",
            call_id=None,
            missed_in_row=agent["missed_in_row"],
        )
    else:
        keep: Doc = {}
        if reason == "canceled" and agent.get("idle_before_offer") is not None:
            # The caller hung up while it rang: no fault of the agent, who keeps their
            # place in the longest-idle order.
            keep["available_since"] = agent["idle_before_offer"]
        set_status(
            ctx,
            agent,
            "available",
            reason=None,
            call_id=None,
            missed_in_row=agent["missed_in_row"],
            **keep,
        )
    if call is not None and call["status"] == "ringing" and call["agent_id"] == agent["agent_id"]:
        entry = queue_entry(ctx, call["_id"])
        if entry is not None:
            skipped = entry["skipped_agents"]
            if missed and agent["agent_id"] not in skipped:
                skipped = [*skipped, agent["agent_id"]]
            entry = {
                **entry,
                "skipped_agents": skipped,
                "state": "waiting",
                "offered_agent_id": None,
            }
            ctx.db.patch(
                entry["_id"],
                {"skipped_agents": skipped, "state": "waiting", "offered_agent_id": None},
            )
            call = {**call, "status": "queued", "agent_id": None}
            ctx.db.patch(call["_id"], {"status": "queued", "agent_id": None})
            # A released agent (not reoffer) is not offered the same call right back.
            keep_out = () if reoffer else (agent["agent_id"],)
            offer = route_call(ctx, call, entry, keep_out)
            if offer is not None:
                offers.append(offer)
    offer = offer_next_for_agent(ctx, agent, exclude_call=agent_call_id) if reoffer else None
    if offer is not None:
        offers.append(offer)
    return offers


def release_transfer_reservation(
    ctx: MutationCtx, agent: Doc, status: str, *, reoffer: bool = True
) -> list[Offer]:
    """Undo a transfer reservation (``declined``, ``canceled`` or ``expired``)."""
    transfer = (
        ctx.db.query("transfer_queue")
        .with_index(
            "by_to_status", lambda q: q.eq("to_agent_id", agent["agent_id"]).eq("status", "pending")
        )
        .first()
    )
    if transfer is not None:
        ctx.db.patch(transfer["_id"], {"status": status, "resolved_at": ctx.now})
        cancel_offer(ctx, agent["agent_id"], transfer["call_id"], "transfer", status)
        row = active_row(ctx, transfer["call_id"])
        call = ctx.db.get(transfer["call_id"])
        if row is not None and call is not None:
            state = "on_hold" if call["status"] == "on_hold" else "talking"
            ctx.db.patch(row["_id"], {"state": state})
    set_status(ctx, agent, "available", reason=None, call_id=None)
    offer = offer_next_for_agent(ctx, agent) if reoffer else None
    return [offer] if offer is not None else []


def expire_reservations(ctx: MutationCtx, limit: int = 50) -> list[Offer]:
    """Release every reservation whose ring timeout passed; returns the new offers."""
    now = ctx.now
    expired = (
        ctx.db.query("agent_status")
        .with_index(
            "by_status_expiry",
            lambda q: q.eq("status", "reserved").lt("reservation_expires_at", now),
        )
        .take(limit)
    )
    offers: list[Offer] = []
    for agent in expired:
        agent = get_agent(ctx, agent["agent_id"]) or agent  # may have changed in this loop
        if agent["status"] != "reserved":
            continue
        if agent["reservation_kind"] == "transfer":
            offers.extend(release_transfer_reservation(ctx, agent, "expired"))
        else:
            offers.extend(release_call_reservation(ctx, agent, "timeout"))
    return offers


def answer(ctx: MutationCtx, agent: Doc, call_id: str) -> Doc:
    """The reserved agent picks up an inbound call."""
    if (
        agent["status"] != "reserved"
        or agent["call_id"] != call_id
        or agent["reservation_kind"] != "call"
    ):
        raise UserError({"code": "no_offer", "call_id": call_id})
    call = get_call(ctx, call_id)
    if call["status"] != "ringing":
        raise UserError({"code": "call_not_ringing", "call_id": call_id, "status": call["status"]})
    now = ctx.now
    set_status(ctx, agent, "on_call", call_id=call_id, missed_in_row=0)
    entry = queue_entry(ctx, call_id)
    if entry is not None:
        ctx.db.delete(entry["_id"])
    if entry is not None and entry.get("transferred"):
        # A call transferred to a queue: already answered once (and counted then). Its
        # wait in the queue was hold time for the customer.
        held = call["hold_ms"] + max(0.0, now - (call["hold_started_at"] or now))
        call.update(hold_ms=held, hold_started_at=None)
        ctx.db.patch(
            call_id,
            {
                "status": "in_progress",
                "hold_ms": held,
                "hold_started_at": None,
                "participants": [leg(agent["agent_id"], "agent", call, now)],
            },
        )
        stats.bump(ctx, call["day"], None, agent["agent_id"], {"transfers_in": 1})
    else:
        ctx.db.patch(
            call_id,
            {
                "status": "in_progress",
                "answered_at": now,
                "participants": [leg(agent["agent_id"], "agent", call, now)],
            },
        )
        enq = call["enqueued_at"] if call["enqueued_at"] is not None else call["created_at"]
        wait = max(0.0, now - enq)
        bump_queue(
            ctx,
            call,
            stats.queue_exit_counters("answered", wait, queue_sla_s(ctx, call["queue"])),
            agent["agent_id"],
            {"answered": 1},
        )
    note_handler(ctx, call, agent["agent_id"])
    row = active_row(ctx, call_id)
    if row is not None:
        ctx.db.patch(
            row["_id"], {"state": "talking", "answered_at": now, "agent_id": agent["agent_id"]}
        )
    start_recording(ctx, call, agent["agent_id"])
    _touch_customer(ctx, call, agent["agent_id"])
    _open_call_tab(ctx, agent["agent_id"], call)
    call.update(status="in_progress", answered_at=now)
    return call


def start_recording(ctx: MutationCtx, call: Doc, agent_id: str | None) -> None:
    """Connected calls are recorded from the moment they connect (once per call)."""
    outbox.enqueue(
        ctx,
        "recording.start",
        call_id=call["_id"],
        agent_id=agent_id,
        args={"call_sid": call["call_sid"], "reason": "connected"},
        idempotency_key=f"recording.start:{call['_id']}",
    )


DEFAULT_SLA_S = 20.0


def queue_sla_s(ctx: QueryCtx, queue: str | None) -> float:
    """The service-level threshold of a queue (``queues.sla_seconds``)."""
    if queue is None:
        return DEFAULT_SLA_S
    doc = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", queue)).first()
    return float(doc["sla_seconds"]) if doc is not None else DEFAULT_SLA_S


def bump_queue(
    ctx: MutationCtx,
    call: Doc,
    counters: dict[str, float],
    agent_id: str | None = None,
    agent_counters: dict[str, float] | None = None,
) -> None:
    """Queue counters go to the centre, the agent, and the call's own queue scope."""
    stats.bump(ctx, call["day"], counters, agent_id, agent_counters)
    if call["queue"] is not None:
        stats.bump(ctx, call["day"], counters, scope=stats.queue_scope(call["queue"]))


def hold_so_far(call: Doc, now: float) -> float:
    held = call["hold_ms"]
    if call["hold_started_at"] is not None:
        held += max(0.0, now - call["hold_started_at"])
    return float(held)


def leg(agent_id: str, role: str, call: Doc, now: float) -> Doc:
    """A participant entry; remembers the call's hold total so the leg's own is known."""
    return {
        "agent_id": agent_id,
        "role": role,
        "joined_at": now,
        "hold_ms_at_join": hold_so_far(call, now),
    }


def credit_leg(ctx: MutationCtx, call: Doc, participant: Doc) -> None:
    """Credit one agent's segment of a connected call: handled, their talk and hold.

    With transfers every agent who was connected handled the contact (as in Amazon
    Connect's "contacts handled ... including transferred contacts"), and talk and hold
    time go to whoever was on the call at the time.
    """
    now = ctx.now
    hold = max(0.0, hold_so_far(call, now) - participant.get("hold_ms_at_join", 0.0))
    talk = max(0.0, now - participant["joined_at"] - hold)
    counters = {"handled": 1.0, "talk_ms": talk, "hold_ms": hold}
    stats.bump(ctx, call["day"], None, participant["agent_id"], counters)


def _touch_customer(ctx: MutationCtx, call: Doc, agent_id: str | None) -> None:
    if call["customer_id"] is not None and ctx.db.get(call["customer_id"]) is not None:
        fields: Doc = {"last_contact_at": ctx.now}
        if agent_id is not None:
            fields["last_agent_id"] = agent_id
        ctx.db.patch(call["customer_id"], fields)


def _open_call_tab(ctx: MutationCtx, agent_id: str, call: Doc) -> None:
    if call["customer_id"] is not None:
        customer = ctx.db.get(call["customer_id"])
        title = customer["name"] if customer is not None else call["phone"]
        open_tab(ctx, agent_id, "customer", call["customer_id"], title)
    else:
        open_tab(ctx, agent_id, "phone", call["phone"], call["phone"])


# -- ending calls ---------------------------------------------------------------------------


def end_call(ctx: MutationCtx, call: Doc, status: str = "completed") -> list[Offer]:
    """End a call in any live state. Idempotent for calls that already ended.

    A caller hanging up while queued or ringing is an *abandon* (for inbound calls); a
    connected call becomes ``completed`` and its agents go to wrap-up.
    """
    if call["status"] in TERMINAL_CALL:
        return []
    now = ctx.now
    offers: list[Offer] = []
    before = call["status"]
    # A call transferred back to a queue was answered already: ending it is not an abandon.
    requeued = before in ("queued", "ringing") and call["answered_at"] is not None
    connected = before in ("in_progress", "on_hold", "transferring") or requeued
    patch: Doc = {"ended_at": now}
    enq = call["enqueued_at"] if call["enqueued_at"] is not None else call["created_at"]
    entry = queue_entry(ctx, call["_id"])
    if entry is not None:
        ctx.db.delete(entry["_id"])

    if connected:
        hold_ms = call["hold_ms"]
        if call["hold_started_at"] is not None:
            hold_ms += max(0.0, now - call["hold_started_at"])
        answered = call["answered_at"] if call["answered_at"] is not None else now
        talk = max(0.0, now - answered - hold_ms)
        patch.update(status="completed", hold_ms=hold_ms, hold_started_at=None)
        counters = {"handled": 1, "talk_ms": talk, "hold_ms": hold_ms}
        stats.bump(ctx, call["day"], counters)
        if requeued and call["agent_id"] is not None:
            ringing = get_agent(ctx, call["agent_id"])
            if (
                ringing is not None
                and ringing["status"] == "reserved"
                and ringing["call_id"] == call["_id"]
            ):
                offers.extend(release_call_reservation(ctx, ringing, "canceled"))
        # Each agent still connected is credited their own leg (transfers: see credit_leg).
        for p in call["participants"]:
            if p["role"] != "supervisor":
                credit_leg(ctx, call, p)
        # Pending transfers die with the call; their targets are released.
        for transfer in (
            ctx.db.query("transfer_queue")
            .with_index(
                "by_call_status", lambda q: q.eq("call_id", call["_id"]).eq("status", "pending")
            )
            .collect()
        ):
            target = get_agent(ctx, transfer["to_agent_id"])
            if (
                target is not None
                and target["status"] == "reserved"
                and target["call_id"] == call["_id"]
            ):
                offers.extend(release_transfer_reservation(ctx, target, "canceled"))
            else:
                ctx.db.patch(transfer["_id"], {"status": "canceled", "resolved_at": now})
        for p in call["participants"]:
            if p["role"] == "supervisor":
                continue
            agent = get_agent(ctx, p["agent_id"])
            if (
                agent is not None
                and agent["call_id"] == call["_id"]
                and agent["status"] == "on_call"
            ):
                set_status(ctx, agent, "wrap_up", call_id=call["_id"])
    else:
        final = status
        if call["direction"] == "inbound" and status in (
            "completed",
            "canceled",
            "no_answer",
            "busy",
        ):
            final = "abandoned"
        elif call["direction"] == "outbound" and status == "completed":
            final = "canceled"  # hung up before the customer answered
        patch["status"] = final
        if call["direction"] == "inbound" and final in ("abandoned", "voicemail"):
            wait = max(0.0, now - enq)
            bump_queue(
                ctx, call, stats.queue_exit_counters(final, wait, queue_sla_s(ctx, call["queue"]))
            )
        if call["agent_id"] is not None:
            agent = get_agent(ctx, call["agent_id"])
            if agent is not None and agent["call_id"] == call["_id"]:
                if agent["status"] == "reserved":
                    offers.extend(release_call_reservation(ctx, agent, "canceled"))
                elif agent["status"] == "on_call":
                    # An outbound call that never connected: the agent dispositions it.
                    set_status(ctx, agent, "wrap_up", call_id=call["_id"])
    ctx.db.patch(call["_id"], patch)
    row = active_row(ctx, call["_id"])
    if row is not None:
        ctx.db.delete(row["_id"])
    _touch_customer(ctx, call, None)
    if call["lead_id"] is not None:
        _finish_lead(ctx, call, patch["status"])
    call.update(patch)
    return offers


def _finish_lead(ctx: MutationCtx, call: Doc, status: str) -> None:
    lead = ctx.db.get(call["lead_id"])
    if lead is None or lead["status"] != "dialing":
        return
    campaign = ctx.db.get(lead["campaign_id"])
    retry = status in ("no_answer", "busy", "failed")
    if retry and campaign is not None and lead["attempts"] < campaign["max_attempts"]:
        ctx.db.patch(
            lead["_id"],
            {
                "status": "pending",
                "next_attempt_at": ctx.now + campaign["retry_after_ms"],
                "outcome": status,
                "agent_id": None,
            },
        )
    else:
        ctx.db.patch(lead["_id"], {"status": "done", "outcome": status})


def finish_wrap_up(
    ctx: MutationCtx,
    agent: Doc,
    disposition: str | None,
    notes: str | None,
    next_status: str = "available",
    reason: str | None = None,
    *,
    reoffer: bool = True,
) -> list[Offer]:
    """End after-call work; the agent becomes available (and is offered waiting work)."""
    if agent["status"] != "wrap_up":
        raise UserError({"code": "not_in_wrap_up", "status": agent["status"]})
    call = ctx.db.get(agent["call_id"]) if agent["call_id"] is not None else None
    spent = max(0.0, ctx.now - agent["status_since"])
    if call is not None:
        if call["agent_id"] == agent["agent_id"]:
            patch: Doc = {"wrap_up_ended_at": ctx.now}
            if disposition is not None:
                patch["disposition"] = disposition
            if notes is not None:
                patch["notes"] = notes
            ctx.db.patch(call["_id"], patch)
            if call["lead_id"] is not None and disposition is not None:
                lead = ctx.db.get(call["lead_id"])
                if lead is not None and lead["status"] == "done":
                    ctx.db.patch(lead["_id"], {"outcome": disposition})
        if call["answered_at"] is not None:
            counters = {"wrap_ms": spent, "wrapups": 1}
        else:
            # After-call work of a contact that never connected (an unanswered dial) is
            # reported on its own: it is not part of AHT, whose denominator is handled.
            counters = {"attempt_wrap_ms": spent, "attempt_wrapups": 1}
        stats.bump(ctx, call["day"], counters, agent["agent_id"], counters)
    set_status(ctx, agent, next_status, reason=reason, call_id=None)
    offer = offer_next_for_agent(ctx, agent) if reoffer else None
    return [offer] if offer is not None else []


# -- recovery: nothing stays stuck ----------------------------------------------------------


def expire_dials(ctx: MutationCtx, limit: int = 50) -> list[Offer]:
    """Fail outbound calls that never connected within the dial timeout.

    The agent goes to wrap-up (and on from there), the number is free to dial again, and
    a ``call.hangup`` command tears down any leg that telephony did create.
    """
    now = ctx.now
    cutoff = now - settings.current(ctx)["dial_timeout_s"] * 1000.0
    stuck = (
        ctx.db.query("active_calls")
        .with_index("by_state_started", lambda q: q.eq("state", "ringing").lt("started_at", cutoff))
        .take(limit)
    )
    offers: list[Offer] = []
    for row in stuck:
        if row["direction"] != "outbound":
            continue  # inbound offers are released by their ring timeout
        call = ctx.db.get(row["call_id"])
        if call is None:
            ctx.db.delete(row["_id"])
            continue
        offers.extend(end_call(ctx, call, "failed"))
        outbox.enqueue(
            ctx,
            "call.hangup",
            call_id=call["_id"],
            agent_id=call["agent_id"],
            args={"call_sid": call["call_sid"], "reason": "dial_timeout"},
        )
    return offers


def expire_wrap_ups(ctx: MutationCtx, limit: int = 50) -> list[Offer]:
    """End after-call work that outlived the centre's ACW timeout (disposition ``auto``)."""
    cutoff = ctx.now - settings.current(ctx)["acw_timeout_s"] * 1000.0
    due = (
        ctx.db.query("agent_status")
        .with_index(
            "by_status_since", lambda q: q.eq("status", "wrap_up").lt("status_since", cutoff)
        )
        .take(limit)
    )
    offers: list[Offer] = []
    for agent in due:
        call = ctx.db.get(agent["call_id"]) if agent["call_id"] is not None else None
        disposition = None if call is not None and call["disposition"] else "auto"
        offers.extend(finish_wrap_up(ctx, agent, disposition, None, reason="acw_timeout"))
    return offers


def expire_presence(ctx: MutationCtx, limit: int = 50) -> int:
    """Sign out idle agents whose softphone stopped sending heartbeats (browser closed)."""
    cutoff = ctx.now - PRESENCE_TIMEOUT_MS
    count = 0
    for status in ("available", "away"):
        stale = (
            ctx.db.query("agent_status")
            .with_index(
                "by_status_heartbeat",
                lambda q, s=status: q.eq("status", s).lt("heartbeat_at", cutoff),  # type: ignore[misc]  # a default binds the loop variable
            )
            .take(limit)
        )
        for agent in stale:
            set_status(ctx, agent, "offline", reason="presence_lost")
            count += 1
    return count


def force_release(ctx: MutationCtx, agent: Doc, supervisor: str) -> list[Offer]:
    """Supervisor rescue: end whatever holds the agent (reservation, call, wrap-up).

    The agent ends up ``available`` without being offered new work (the caller sets the
    status the supervisor chose, then offers work if that is ``available``).
    """
    offers: list[Offer] = []
    reason = f"forced_by:{supervisor}"
    if agent["status"] == "reserved":
        if agent["reservation_kind"] == "transfer":
            offers.extend(release_transfer_reservation(ctx, agent, "canceled", reoffer=False))
        else:
            offers.extend(release_call_reservation(ctx, agent, "canceled", reoffer=False))
    agent = get_agent(ctx, agent["agent_id"]) or agent
    if agent["status"] == "on_call":
        call = ctx.db.get(agent["call_id"]) if agent["call_id"] is not None else None
        if call is not None and call["status"] not in TERMINAL_CALL:
            offers.extend(end_call(ctx, call, "completed"))
            outbox.enqueue(
                ctx,
                "call.hangup",
                call_id=call["_id"],
                agent_id=agent["agent_id"],
                args={"call_sid": call["call_sid"], "reason": reason},
            )
        agent = get_agent(ctx, agent["agent_id"]) or agent
        if agent["status"] == "on_call":  # the call was already gone
            set_status(ctx, agent, "wrap_up", reason=reason)
    if agent["status"] == "wrap_up":
        call = ctx.db.get(agent["call_id"]) if agent["call_id"] is not None else None
        disposition = None if call is not None and call["disposition"] else "forced"
        offers.extend(finish_wrap_up(ctx, agent, disposition, None, reason=reason, reoffer=False))
    return offers
