"""SMS thread locks: who is replying to a conversation right now.

Only the holder may send. A lock expires ``LOCK_TTL_MS`` after it was taken or last
renewed; an expired lock is free for anyone (checked against ``ctx.now`` on every
acquire/send), and ``expire`` (internal, for a cron) deletes stale rows.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, internal_mutation, mutation, query, v

from ..lib.auth import is_supervisor, me, require_supervisor

LOCK_TTL_MS = 120_000.0


def current(ctx: QueryCtx, thread_id: str) -> dict[str, Any] | None:
    """The lock row of a thread (possibly expired)."""
    return (
        ctx.db.query("sms_thread_locks")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread_id))
        .first()
    )


def holder(ctx: QueryCtx, thread_id: str) -> str | None:
    lock = current(ctx, thread_id)
    if lock is None or lock["expires_at"] <= ctx.now:
        return None
    return str(lock["agent_id"])


def take(ctx: MutationCtx, thread_id: str, agent_id: str) -> dict[str, Any]:
    """Acquire or renew; ``UserError(thread_locked)`` if someone else holds it."""
    if ctx.db.get(thread_id) is None:
        raise UserError({"code": "thread_not_found", "thread_id": thread_id})
    lock = current(ctx, thread_id)
    expires = ctx.now + LOCK_TTL_MS
    if lock is not None and lock["expires_at"] > ctx.now and lock["agent_id"] != agent_id:
        raise UserError(
            {"code": "thread_locked", "holder": lock["agent_id"], "expires_at": lock["expires_at"]}
        )
    if lock is None:
        ctx.db.insert(
            "sms_thread_locks",
            {
                "thread_id": thread_id,
                "agent_id": agent_id,
                "acquired_at": ctx.now,
                "expires_at": expires,
            },
        )
    elif lock["agent_id"] == agent_id:
        ctx.db.patch(lock["_id"], {"expires_at": expires})
    else:
        ctx.db.patch(
            lock["_id"], {"agent_id": agent_id, "acquired_at": ctx.now, "expires_at": expires}
        )
    return {"thread_id": thread_id, "agent_id": agent_id, "expires_at": expires}


def require(ctx: QueryCtx, thread_id: str, agent_id: str) -> None:
    if holder(ctx, thread_id) != agent_id:
        lock = current(ctx, thread_id)
        raise UserError(
            {
                "code": "lock_required",
                "thread_id": thread_id,
                "holder": lock["agent_id"] if lock and lock["expires_at"] > ctx.now else None,
            }
        )


def require_free_or_mine(ctx: QueryCtx, thread_id: str) -> str:
    """The caller's id, if no one else holds the thread's live lock (or a supervisor asks)."""
    agent_id = me(ctx)
    held_by = holder(ctx, thread_id)
    if held_by is not None and held_by != agent_id and not is_supervisor(ctx):
        raise UserError({"code": "thread_locked", "thread_id": thread_id, "holder": held_by})
    return agent_id


def release_all(ctx: MutationCtx, agent_id: str, limit: int = 100) -> int:
    """Drop every lock an agent holds (they signed out)."""
    mine = (
        ctx.db.query("sms_thread_locks")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .take(limit)
    )
    for lock in mine:
        ctx.db.delete(lock["_id"])
    return len(mine)


@mutation(args={"thread_id": v.id("sms_threads")})
def acquire(ctx: MutationCtx, thread_id: str) -> Any:
    """Start replying to a thread: take its lock (or renew my own)."""
    return take(ctx, thread_id, me(ctx))


@mutation(args={"thread_id": v.id("sms_threads")})
def renew(ctx: MutationCtx, thread_id: str) -> Any:
    """Keep my lock while typing; refused if I no longer hold it."""
    agent_id = me(ctx)
    require(ctx, thread_id, agent_id)
    return take(ctx, thread_id, agent_id)


@mutation(args={"thread_id": v.id("sms_threads")})
def release(ctx: MutationCtx, thread_id: str) -> None:
    """Release my lock (supervisors may release anyone's)."""
    agent_id = me(ctx)
    lock = current(ctx, thread_id)
    if lock is None:
        return None
    if lock["agent_id"] != agent_id and lock["expires_at"] > ctx.now and not is_supervisor(ctx):
        raise UserError({"code": "forbidden", "holder": lock["agent_id"]})
    ctx.db.delete(lock["_id"])
    return None


@mutation(args={"thread_id": v.id("sms_threads"), "agent_id": v.string()})
def reassign(ctx: MutationCtx, thread_id: str, agent_id: str) -> Any:
    """Supervisor: give the thread's lock to another agent (the holder loses it)."""
    require_supervisor(ctx)
    lock = current(ctx, thread_id)
    if lock is not None and lock["agent_id"] != agent_id:
        ctx.db.delete(lock["_id"])
    return take(ctx, thread_id, agent_id)


@internal_mutation(args={"limit": v.optional(v.number())})
def expire(ctx: MutationCtx, limit: float = 200) -> Any:
    """Delete locks that expired (for a cron; expiry is also checked lazily)."""
    now = ctx.now
    stale = (
        ctx.db.query("sms_thread_locks")
        .with_index("by_expiry", lambda q: q.lte("expires_at", now))
        .take(int(limit))
    )
    for lock in stale:
        ctx.db.delete(lock["_id"])
    return len(stale)


@query(args={"thread_id": v.id("sms_threads")})
def get(ctx: QueryCtx, thread_id: str) -> Any:
    """Who holds the thread's lock (None when free or expired at query time)."""
    me(ctx)
    lock = current(ctx, thread_id)
    if lock is None or lock["expires_at"] <= ctx.now:
        return None
    return {"agent_id": lock["agent_id"], "expires_at": lock["expires_at"]}
