"""What the Twilio executor reads before a REST call and records after it.

The executor runs in an action, possibly twice for one command (at-least-once
dispatch), and possibly after the state moved on (an offer declined while its ring was
being placed). So it reads the current topology first and skips what no longer applies,
and the mutation recording a new leg re-checks and hangs the leg up if its offer was
withdrawn meanwhile.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, internal_mutation, internal_query, v

from .. import calls
from ..lib import core
from . import legs
from .voice_state import ROLE, _latest_offer_command, _offer_is_current, hang_up_leg


@internal_query(args={"call_id": v.id("calls"), "agent_id": v.optional(v.string())})
def topology(ctx: QueryCtx, call_id: str, agent_id: str | None = None) -> Any:
    """The call, its conference and legs, and (optionally) one agent's state and offer."""
    call = ctx.db.get(call_id)
    if call is None:
        return None
    conf = legs.conference(ctx, call_id)
    agent = core.get_agent(ctx, agent_id) if agent_id is not None else None
    return {
        "call": {
            "status": call["status"],
            "direction": call["direction"],
            "phone": call["phone"],
            "our_number": call["our_number"],
            "agent_id": call["agent_id"],
            "live": call["status"] not in core.TERMINAL_CALL,
        },
        "conference": (
            {"name": conf["name"], "sid": conf["conference_sid"], "status": conf["status"]}
            if conf is not None
            else None
        ),
        "legs": [
            {
                "call_sid": leg["call_sid"],
                "role": leg["role"],
                "agent_id": leg["agent_id"],
                "command_id": leg["command_id"],
                "answered": leg["answered_at"] is not None,
                "ended": leg["ended_at"] is not None,
            }
            for leg in legs.of_call(ctx, call_id)
        ],
        "agent": (
            {
                "status": agent["status"],
                "call_id": agent["call_id"],
                "reservation_kind": agent["reservation_kind"],
            }
            if agent is not None
            else None
        ),
        "latest_offer": (
            _latest_offer_command(ctx, call_id, agent_id) if agent_id is not None else None
        ),
    }


@internal_mutation(
    args={
        "call_sid": v.string(),
        "call_id": v.id("calls"),
        "role": ROLE,
        "agent_id": v.optional(v.string()),
        "command_id": v.optional(v.string()),
    }
)
def leg_created(
    ctx: MutationCtx,
    call_sid: str,
    call_id: str,
    role: Any,
    agent_id: str | None = None,
    command_id: str | None = None,
) -> Any:
    """A REST call created a leg. A ring leg whose offer is gone is hung up again."""
    leg = legs.ensure(ctx, call_sid, call_id, role, agent_id, command_id)
    if role == "outside":
        # The dialled customer's leg is the call's own sid (recordings, status lookups).
        calls.attach_sid.handler(ctx, call_id=call_id, call_sid=call_sid, leg="customer")
    if (
        role in ("agent", "transfer_target")
        and leg["answered_at"] is None
        and leg["ended_at"] is None
    ):
        agent = core.get_agent(ctx, agent_id) if agent_id is not None else None
        if not _offer_is_current(ctx, leg, agent):
            hang_up_leg(ctx, leg, "offer_withdrawn")
            return {"withdrawn": True}
    return {"withdrawn": False}


@internal_mutation(args={"call_id": v.id("calls"), "conference_sid": v.string()})
def conference_found(ctx: MutationCtx, call_id: str, conference_sid: str) -> None:
    """The executor looked the conference up by name: remember its sid."""
    conf = legs.conference(ctx, call_id)
    if conf is not None and conf["conference_sid"] is None:
        ctx.db.patch(
            conf["_id"],
            {"conference_sid": conference_sid, "status": "in_progress", "updated_at": ctx.now},
        )
