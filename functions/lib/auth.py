"""Who is calling: agents act only as themselves; supervisors may act on others.

The helpers read only ``ctx.auth``, so every kind of function (a mutation's ctx is a
query's) can use them.
"""

from __future__ import annotations

from typing import Any

from reactor import ActionCtx, QueryCtx, UserError


def identity(ctx: QueryCtx | ActionCtx) -> dict[str, Any]:
    ident = ctx.auth.get_user_identity()
    if ident is None:
        raise UserError({"code": "unauthenticated", "message": "sign in first"})
    return ident


def me(ctx: QueryCtx | ActionCtx) -> str:
    """The calling agent's id (the identity's ``subject``)."""
    return str(identity(ctx)["subject"])


def is_supervisor(ctx: QueryCtx | ActionCtx) -> bool:
    ident = ctx.auth.get_user_identity()
    return ident is not None and ident.get("role") == "supervisor"


def require_supervisor(ctx: QueryCtx | ActionCtx) -> str:
    """The caller's id; ``forbidden`` unless the identity has ``role == "supervisor"``."""
    subject = me(ctx)
    if not is_supervisor(ctx):
        raise UserError({"code": "forbidden", "message": "supervisors only"})
    return subject


def self_or_supervisor(ctx: QueryCtx | ActionCtx, agent_id: str | None) -> str:
    """The agent a call acts on: the caller, or anyone when a supervisor asks."""
    subject = me(ctx)
    if agent_id is None or agent_id == subject:
        return subject
    if not is_supervisor(ctx):
        raise UserError({"code": "forbidden", "message": "agents act only as themselves"})
    return agent_id
