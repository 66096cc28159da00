"""Transfers between agents: skill-based target choice, accept/decline, warm and cold.

A transfer reserves the target agent (like a ringing call, with a timeout). **Cold**:
on accept the call moves to the target and the transferring agent goes to wrap-up.
**Warm**: on accept the target joins the conference (three parties) and the
transferring agent leaves with ``complete`` (or the call ends for everyone).
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from . import calls
from .lib import core, outbox, stats
from .lib.access import note_handler
from .lib.auth import me
from .lib.tabs import open_tab

SKILLS = v.record(v.string(), v.number())


def _pending_for(ctx: QueryCtx, agent_id: str) -> Any:
    return (
        ctx.db.query("transfer_queue")
        .with_index("by_to_status", lambda q: q.eq("to_agent_id", agent_id).eq("status", "pending"))
        .first()
    )


@mutation(
    args={
        "call_id": v.id("calls"),
        "mode": v.union(v.literal("warm"), v.literal("cold")),
        "to_agent_id": v.optional(v.string()),
        "required_skills": v.optional(SKILLS),
    }
)
def request(
    ctx: MutationCtx,
    call_id: str,
    mode: str,
    to_agent_id: str | None = None,
    required_skills: Any = None,
) -> Any:
    """Ask to transfer my call to an agent, or to the best agent with these skills."""
    agent_id = me(ctx)
    call = core.get_call(ctx, call_id)
    if call["agent_id"] != agent_id or call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_your_live_call", "call_id": call_id})
    pending = (
        ctx.db.query("transfer_queue")
        .with_index("by_call_status", lambda q: q.eq("call_id", call_id).eq("status", "pending"))
        .first()
    )
    if pending is not None:
        raise UserError({"code": "transfer_pending", "transfer_id": pending["_id"]})
    core.expire_reservations(ctx)
    required = dict(required_skills or {})
    if to_agent_id is not None:
        if to_agent_id == agent_id:
            raise UserError({"code": "invalid_target"})
        target = core.get_agent(ctx, to_agent_id)
        if (
            target is None
            or target["status"] != "available"
            or not core.is_live(target, ctx.now)
            or not core.skills_match(target["skills"], required)
        ):
            raise UserError({"code": "target_unavailable", "agent_id": to_agent_id})
    else:
        target = core.find_agent(ctx, required, {agent_id})
        if target is None:
            raise UserError({"code": "no_agent_available", "required_skills": required})
    expires = ctx.now + core.TRANSFER_TIMEOUT_MS
    core.set_status(
        ctx,
        target,
        "reserved",
        call_id=call_id,
        reservation_kind="transfer",
        reservation_expires_at=expires,
    )
    transfer_id = ctx.db.insert(
        "transfer_queue",
        {
            "call_id": call_id,
            "from_agent_id": agent_id,
            "to_agent_id": target["agent_id"],
            "mode": mode,
            "status": "pending",
            "required_skills": required,
            "created_at": ctx.now,
            "expires_at": expires,
            "resolved_at": None,
        },
    )
    row = core.active_row(ctx, call_id)
    if row is not None:
        ctx.db.patch(row["_id"], {"state": "transferring"})
    core.ring_offer(
        ctx,
        target["agent_id"],
        call,
        "transfer",
        expires,
        transfer_id=transfer_id,
        mode=mode,
        from_agent_id=agent_id,
    )
    return {"transfer_id": transfer_id, "to_agent_id": target["agent_id"], "expires_at": expires}


def _transfer_command(ctx: MutationCtx, call: Any, transfer: Any, step: str) -> None:
    """``call.transfer``: ``accept`` (the target's leg is connected; cold also drops the
    transferring agent's leg) or ``complete`` (warm: drop the transferring agent's leg)."""
    outbox.enqueue(
        ctx,
        "call.transfer",
        call_id=call["_id"],
        agent_id=transfer["to_agent_id"],
        args={
            "call_sid": call["call_sid"],
            "transfer_id": transfer["_id"],
            "mode": transfer["mode"],
            "step": step,
            "from_agent_id": transfer["from_agent_id"],
            "to_agent_id": transfer["to_agent_id"],
        },
    )


def _move_call(ctx: MutationCtx, call: Any, from_agent_id: str, to_agent_id: str) -> None:
    for p in call["participants"]:
        if p["agent_id"] == from_agent_id and p["role"] != "supervisor":
            core.credit_leg(ctx, call, p)  # the transferring agent's segment ends here
    parts = [p for p in call["participants"] if p["agent_id"] != from_agent_id]
    ctx.db.patch(
        call["_id"],
        {"agent_id": to_agent_id, "participants": parts, "transfers": call["transfers"] + 1},
    )
    row = core.active_row(ctx, call["_id"])
    if row is not None:
        state = "on_hold" if call["status"] == "on_hold" else "talking"
        ctx.db.patch(row["_id"], {"agent_id": to_agent_id, "state": state})
    stats.bump(ctx, call["day"], {"transfers": 1}, from_agent_id, {"transfers_out": 1})
    stats.bump(ctx, call["day"], None, to_agent_id, {"transfers_in": 1})
    source = core.get_agent(ctx, from_agent_id)
    if source is not None and source["status"] == "on_call" and source["call_id"] == call["_id"]:
        core.set_status(ctx, source, "wrap_up", call_id=call["_id"])


@mutation(args={"transfer_id": v.id("transfer_queue")})
def accept(ctx: MutationCtx, transfer_id: str) -> Any:
    """The target takes the transfer (cold: the call is theirs; warm: they join)."""
    agent_id = me(ctx)
    transfer = ctx.db.get(transfer_id)
    if transfer is None or transfer["to_agent_id"] != agent_id or transfer["status"] != "pending":
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    agent = core.require_agent(ctx, agent_id)
    call = core.get_call(ctx, transfer["call_id"])
    if agent["status"] != "reserved" or agent["call_id"] != call["_id"]:
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "call_ended", "call_id": call["_id"]})
    core.set_status(ctx, agent, "on_call", call_id=call["_id"], missed_in_row=0.0)
    joined = core.leg(agent_id, "transfer_target", call, ctx.now)
    note_handler(ctx, call, agent_id)
    call["participants"] = [*call["participants"], joined]
    ctx.db.patch(call["_id"], {"participants": call["participants"]})
    open_tab(ctx, agent_id, "call", call["_id"], call["phone"])
    _transfer_command(ctx, call, transfer, "accept")
    if transfer["mode"] == "cold":
        _move_call(ctx, call, transfer["from_agent_id"], agent_id)
        ctx.db.patch(transfer_id, {"status": "done", "resolved_at": ctx.now})
    else:
        ctx.db.patch(transfer_id, {"status": "accepted", "resolved_at": ctx.now})
        row = core.active_row(ctx, call["_id"])
        if row is not None:
            ctx.db.patch(row["_id"], {"state": "talking"})
    return {"call_id": call["_id"], "mode": transfer["mode"]}


@mutation(args={"transfer_id": v.id("transfer_queue")})
def complete(ctx: MutationCtx, transfer_id: str) -> Any:
    """Warm transfer: the transferring agent leaves the conference; the target keeps the call."""
    agent_id = me(ctx)
    transfer = ctx.db.get(transfer_id)
    if (
        transfer is None
        or transfer["from_agent_id"] != agent_id
        or transfer["status"] != "accepted"
    ):
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    call = core.get_call(ctx, transfer["call_id"])
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "call_ended", "call_id": call["_id"]})
    _move_call(ctx, call, agent_id, transfer["to_agent_id"])
    ctx.db.patch(transfer_id, {"status": "done"})
    _transfer_command(ctx, call, transfer, "complete")
    return {"call_id": call["_id"]}


@mutation(args={"transfer_id": v.id("transfer_queue")})
def decline(ctx: MutationCtx, transfer_id: str) -> Any:
    """The target refuses; they become available again and the call stays put."""
    agent_id = me(ctx)
    transfer = ctx.db.get(transfer_id)
    if transfer is None or transfer["to_agent_id"] != agent_id or transfer["status"] != "pending":
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    agent = core.require_agent(ctx, agent_id)
    return {"offers": core.release_transfer_reservation(ctx, agent, "declined")}


@mutation(args={"transfer_id": v.id("transfer_queue")})
def cancel(ctx: MutationCtx, transfer_id: str) -> Any:
    """The transferring agent withdraws a pending transfer."""
    agent_id = me(ctx)
    transfer = ctx.db.get(transfer_id)
    if transfer is None or transfer["from_agent_id"] != agent_id or transfer["status"] != "pending":
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    target = core.get_agent(ctx, transfer["to_agent_id"])
    if (
        target is not None
        and target["status"] == "reserved"
        and target["call_id"] == transfer["call_id"]
    ):
        return {"offers": core.release_transfer_reservation(ctx, target, "canceled")}
    ctx.db.patch(transfer_id, {"status": "canceled", "resolved_at": ctx.now})
    return {"offers": []}


@query(args={})
def incoming(ctx: QueryCtx) -> Any:
    """The transfer offered to the calling agent, if any."""
    return _pending_for(ctx, me(ctx))


@query(args={})
def outgoing(ctx: QueryCtx) -> Any:
    """The calling agent's own pending or accepted (warm) transfers."""
    agent_id = me(ctx)
    out = []
    for status in ("pending", "accepted"):
        out.extend(
            ctx.db.query("transfer_queue")
            .with_index(
                "by_from_status",
                lambda q, s=status: q.eq("from_agent_id", agent_id).eq("status", s),  # type: ignore[misc]  # a default binds the loop variable
            )
            .take(10)
        )
    return out


@mutation(args={"transfer_id": v.id("transfer_queue")})
def leave(ctx: MutationCtx, transfer_id: str) -> Any:
    """Warm transfer: the target backs out after the consult; the call stays with the
    transferring agent and the target goes to wrap-up."""
    agent_id = me(ctx)
    transfer = ctx.db.get(transfer_id)
    if transfer is None or transfer["to_agent_id"] != agent_id or transfer["status"] != "accepted":
        raise UserError({"code": "no_transfer", "transfer_id": transfer_id})
    call = core.get_call(ctx, transfer["call_id"])
    if call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "call_ended", "call_id": call["_id"]})
    return {"offers": calls.leave_agent_leg(ctx, call, agent_id)}


@mutation(args={"call_id": v.id("calls"), "queue": v.string()})
def to_queue(ctx: MutationCtx, call_id: str, queue: str) -> Any:
    """Transfer my call to a queue: the customer waits (on hold) for the queue's next
    qualified agent; I go to wrap-up. The call is not counted as queued or answered again."""
    agent_id = me(ctx)
    call = core.get_call(ctx, call_id)
    if call["agent_id"] != agent_id or call["status"] not in ("in_progress", "on_hold"):
        raise UserError({"code": "not_your_live_call", "call_id": call_id})
    qdoc = ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", queue)).first()
    if qdoc is None:
        raise UserError({"code": "queue_not_found", "queue": queue})
    pending = (
        ctx.db.query("transfer_queue")
        .with_index("by_call_status", lambda q: q.eq("call_id", call_id).eq("status", "pending"))
        .first()
    )
    if pending is not None:
        raise UserError({"code": "transfer_pending", "transfer_id": pending["_id"]})
    now = ctx.now
    for p in call["participants"]:
        if p["role"] != "supervisor":
            core.credit_leg(ctx, call, p)
    hold_started = call["hold_started_at"] if call["hold_started_at"] is not None else now
    patch = {
        "status": "queued",
        "agent_id": None,
        "participants": [p for p in call["participants"] if p["role"] == "supervisor"],
        "queue": queue,
        "hold_started_at": hold_started,
        "transfers": call["transfers"] + 1,
    }
    ctx.db.patch(call_id, patch)
    call.update(patch)
    row = core.active_row(ctx, call_id)
    if row is not None:
        ctx.db.patch(row["_id"], {"state": "queued", "agent_id": None, "queue": queue})
    stats.bump(ctx, call["day"], {"transfers": 1}, agent_id, {"transfers_out": 1})
    for p_agent in [agent_id]:
        source = core.get_agent(ctx, p_agent)
        if source is not None and source["status"] == "on_call" and source["call_id"] == call_id:
            core.set_status(ctx, source, "wrap_up", call_id=call_id)
    entry = {
        "call_id": call_id,
        "phone": call["phone"],
        "customer_id": call["customer_id"],
        "queue": queue,
        "required_skills": dict(qdoc["required_skills"]),
        "priority": qdoc["priority"],
        "rank": -qdoc["priority"],
        "enqueued_at": now,
        "state": "waiting",
        "offered_agent_id": None,
        "skipped_agents": [agent_id],
        "transferred": True,
    }
    entry["_id"] = ctx.db.insert("incoming_call_queue", dict(entry))
    outbox.enqueue(
        ctx,
        "call.transfer",
        call_id=call_id,
        agent_id=agent_id,
        args={
            "call_sid": call["call_sid"],
            "mode": "cold",
            "step": "to_queue",
            "queue": queue,
            "from_agent_id": agent_id,
        },
    )
    offer = core.route_call(ctx, call, entry)
    return {"call_id": call_id, "queue": queue, "offers": [offer] if offer else []}
