"""The outbox dispatcher: runs pending commands through their executors.

``dispatch`` is what ``lib.outbox.enqueue`` schedules. It is safe to run any number of
times for one command: it claims the command with a mutation that re-reads its status
(only a ``pending`` or due ``failed`` command that nobody holds a lease on is claimed),
so a second run of a sent command does nothing and two concurrent runs execute it once.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from reactor import ActionCtx, MutationCtx, QueryCtx, internal_action, internal_mutation, query, v

from .lib import outbox as box
from .lib.auth import require_supervisor
from .lib.limits import check_json_size

STATUS = v.union(v.literal("pending"), v.literal("sent"), v.literal("failed"), v.literal("dead"))
# A pending command untouched this long is dispatched again by the cron.
STUCK_MS = 30_000.0
REDISPATCH_LIMIT = 100
MAX_LIST = 200


@internal_mutation(args={"command_id": v.id("commands")})
def claim(ctx: MutationCtx, command_id: str) -> Any:
    """Take a lease on a command due for an attempt.

    Returns ``{"run": command}`` when the caller should execute it, else ``{"status"}``:
    already finished, not due, leased by another dispatcher, or no executor is loaded
    for its kind (it stays pending, with ``last_error`` saying so).
    """
    cmd = ctx.db.get(command_id)
    if cmd is None:
        return {"status": None}
    if cmd["status"] not in ("pending", "failed"):
        return {"status": cmd["status"]}
    now = ctx.now
    if cmd["next_attempt_at"] > now:
        return {"status": cmd["status"]}  # a retry is scheduled for later
    if cmd["claimed_until"] is not None and cmd["claimed_until"] > now:
        return {"status": cmd["status"]}  # another dispatcher is executing it
    if box.executor_for(cmd["kind"]) is None:
        ctx.db.patch(
            command_id,
            {"last_error": f"no executor for kind {cmd['kind']}", "updated_at": now},
        )
        return {"status": cmd["status"]}
    patch = {
        "attempts": cmd["attempts"] + 1,
        "claimed_until": now + box.CLAIM_LEASE_MS,
        "updated_at": now,
    }
    ctx.db.patch(command_id, patch)
    return {"run": {**cmd, **patch}}


@internal_mutation(args={"command_id": v.id("commands"), "result": v.optional(v.any())})
def mark_sent(ctx: MutationCtx, command_id: str, result: Any = None) -> Any:
    cmd = ctx.db.get(command_id)
    if cmd is None or cmd["status"] not in ("pending", "failed"):
        return False
    ctx.db.patch(
        command_id,
        {"status": "sent", "result": result, "claimed_until": None, "updated_at": ctx.now},
    )
    return True


@internal_mutation(args={"command_id": v.id("commands"), "error": v.string()})
def mark_failed(ctx: MutationCtx, command_id: str, error: str) -> Any:
    """Record a failed attempt: retry after a backoff, or ``dead`` after the last attempt."""
    cmd = ctx.db.get(command_id)
    if cmd is None or cmd["status"] not in ("pending", "failed"):
        return None
    now = ctx.now
    message = box.short_error(error)
    if cmd["attempts"] >= box.MAX_ATTEMPTS:
        ctx.db.patch(
            command_id,
            {"status": "dead", "last_error": message, "claimed_until": None, "updated_at": now},
        )
        return "dead"
    delay = box.backoff_s(cmd["attempts"])
    ctx.db.patch(
        command_id,
        {
            "status": "failed",
            "last_error": message,
            "claimed_until": None,
            "updated_at": now,
            "next_attempt_at": now + delay * 1000.0,
        },
    )
    ctx.scheduler.run_after(delay, box.DISPATCH, {"command_id": command_id})
    return "failed"


def _missing(ctx: QueryCtx, command: dict[str, Any]) -> None:
    raise LookupError(f"no executor for kind {command['kind']}")


async def _run_executor(fn: box.Executor, ctx: Any, command: dict[str, Any]) -> Any:
    result = fn(ctx, command)
    if inspect.isawaitable(result):
        result = await asyncio.wait_for(result, box.EXECUTOR_TIMEOUT_S)
    return result


@internal_action(args={"command_id": v.id("commands")})
async def dispatch(ctx: ActionCtx, command_id: str) -> Any:
    """Execute one command (idempotent). Returns the command's status afterwards."""
    claimed = await ctx.run_mutation("outbox:claim", {"command_id": command_id})
    command = claimed.get("run")
    if command is None:
        return claimed["status"]
    fn = box.executor_for(command["kind"])
    if fn is None:  # unregistered between the claim and now: retried like a failure
        fn = _missing
    try:
        result = await _run_executor(fn, ctx, command)
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"executor returned {type(result).__name__}, not a dict or None")
        if result is not None:
            check_json_size(result, box.MAX_ARGS_BYTES, "executor result")
    except Exception as exc:  # any failure is retried; the message is kept, bounded
        text = str(exc)
        error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return await ctx.run_mutation(
            "outbox:mark_failed", {"command_id": command_id, "error": error}
        )
    await ctx.run_mutation("outbox:mark_sent", {"command_id": command_id, "result": result})
    return "sent"


@internal_mutation(args={"limit": v.optional(v.number())})
def redispatch(ctx: MutationCtx, limit: float = REDISPATCH_LIMIT) -> Any:
    """Cron: schedule dispatch again for commands left pending or with a retry overdue."""
    now = ctx.now
    cutoff = now - STUCK_MS
    count = 0
    for status in ("pending", "failed"):
        stuck = (
            ctx.db.query("commands")
            .with_index(
                "by_status",
                lambda q, s=status: q.eq("status", s).lte("updated_at", cutoff),  # type: ignore[misc]  # a default binds the loop variable
            )
            .take(int(limit))
        )
        for cmd in stuck:
            if cmd["claimed_until"] is not None and cmd["claimed_until"] > now:
                continue
            if cmd["next_attempt_at"] > now:
                continue
            ctx.db.patch(cmd["_id"], {"updated_at": now})
            ctx.scheduler.run_after(0, box.DISPATCH, {"command_id": cmd["_id"]})
            count += 1
    return {"redispatched": count}


@query(
    args={
        "status": v.optional(STATUS),
        "call_id": v.optional(v.id("calls")),
        "limit": v.optional(v.number()),
    }
)
def list(ctx: QueryCtx, status: Any = None, call_id: str | None = None, limit: float = 50) -> Any:
    """Supervisors: commands newest first, by status or for one call."""
    require_supervisor(ctx)
    n = max(1, min(MAX_LIST, int(limit)))
    if call_id is not None:
        rows = (
            ctx.db.query("commands")
            .with_index("by_call", lambda q: q.eq("call_id", call_id))
            .order("desc")
            .take(n)
        )
        return [r for r in rows if status is None or r["status"] == status]
    if status is not None:
        return (
            ctx.db.query("commands")
            .with_index("by_status", lambda q: q.eq("status", status))
            .order("desc")
            .take(n)
        )
    return ctx.db.query("commands").order("desc").take(n)
