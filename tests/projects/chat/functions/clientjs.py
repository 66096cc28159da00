"""Functions for client-js's tests: a slow action and a mutation that fails with data."""

import asyncio

from reactor import UserError, action, mutation, v


@action(args={"seconds": v.number()})
async def sleep(ctx, seconds):
    """Take a while (to drop the connection while an action runs)."""
    await asyncio.sleep(seconds)
    return "woke"


@mutation(args={"name": v.string()})
def increment_then_fail(ctx, name):
    """Write, then fail on purpose: the write is rolled back and the error carries data."""
    ctx.db.insert("counters", {"name": name, "value": 1000})
    raise UserError({"code": "on_purpose", "name": name})
