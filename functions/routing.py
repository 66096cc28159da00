"""Routing maintenance: ring timeouts and supervisor reassignment.

Ring timeouts work without a scheduler: every routing mutation first releases expired
reservations against ``ctx.now``, and ``expire_reservations`` (an internal mutation a
cron calls every few seconds) catches the rest.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, UserError, internal_mutation, mutation, v

from .lib import core
from .lib.auth import require_supervisor


@internal_mutation(args={"limit": v.optional(v.number())})
def expire_reservations(ctx: MutationCtx, limit: float = 50) -> Any:
    """The routing timers: release reservations whose ring timeout passed (the calls go
    to the next agent), relax the skills of calls that waited past their queue's
    escalation time, fail dials that never connected, end after-call work past the ACW
    timeout and sign out idle agents whose heartbeat stopped."""
    offers = core.expire_reservations(ctx, int(limit))
    offers.extend(core.escalate_waiting(ctx, int(limit)))
    offers.extend(core.expire_dials(ctx, int(limit)))
    offers.extend(core.expire_wrap_ups(ctx, int(limit)))
    signed_out = core.expire_presence(ctx, int(limit))
    return {"offers": offers, "signed_out": signed_out}


@mutation(args={"call_id": v.id("calls"), "agent_id": v.string()})
def reassign(ctx: MutationCtx, call_id: str, agent_id: str) -> Any:
    """Supervisor: offer a waiting call to a specific available agent now."""
    require_supervisor(ctx)
    core.expire_reservations(ctx)
    call = core.get_call(ctx, call_id)
    entry = core.queue_entry(ctx, call_id)
    if entry is None or entry["state"] != "waiting":
        raise UserError({"code": "not_waiting", "call_id": call_id})
    agent = core.get_agent(ctx, agent_id)
    if agent is None or agent["status"] != "available":
        raise UserError({"code": "target_unavailable", "agent_id": agent_id})
    return {"offers": [core.reserve(ctx, agent, call, entry)]}
