"""Who may read a call's sensitive records (recordings, transcripts, voicemails).

A call's media contains what the customer said (card numbers, health details): only the
agents who were connected to it and supervisors may read them.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError

from .auth import is_supervisor, me


def handled_by(call: dict[str, Any]) -> list[str]:
    people = list(call.get("handled_by") or [])
    if call["agent_id"] is not None and call["agent_id"] not in people:
        people.append(call["agent_id"])
    people.extend(p["agent_id"] for p in call["participants"] if p["agent_id"] not in people)
    return people


def note_handler(ctx: MutationCtx, call: dict[str, Any], agent_id: str) -> None:
    """Remember that ``agent_id`` was connected to the call (kept after transfers)."""
    people = list(call.get("handled_by") or [])
    if agent_id not in people:
        people.append(agent_id)
        ctx.db.patch(call["_id"], {"handled_by": people})
        call["handled_by"] = people


def require_call_reader(ctx: QueryCtx, call_id: str) -> dict[str, Any]:
    """The call, if the caller is a supervisor or one of its agents; else ``forbidden``."""
    agent_id = me(ctx)
    call = ctx.db.get(call_id)
    if call is None:
        raise UserError({"code": "call_not_found", "call_id": call_id})
    if is_supervisor(ctx) or agent_id in handled_by(call):
        return call
    raise UserError({"code": "forbidden", "message": "not your call"})
