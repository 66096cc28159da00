"""Functions for the network-layer tests: two counters always written together."""

from reactor import action, internal_query, mutation, query, v


def _bump(ctx, name):
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    if doc is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch(doc["_id"], {"value": doc["value"] + 1})
    return doc["value"] + 1


@mutation(args={"a": v.string(), "b": v.string()})
def bump_both(ctx, a, b):
    """Increment two counters in one transaction (their values are always equal)."""
    return [_bump(ctx, a), _bump(ctx, b)]


@query(args={"size": v.number()})
def big(ctx, size):
    """A large result (for TransitionChunk tests)."""
    return "x" * int(size)


@internal_query
def secret(ctx):
    return "internal"


@action(args={"x": v.number()})
async def echo(ctx, x):
    return {"x": x, "who": ctx.auth.get_user_identity()}


@action
async def slow(ctx):
    import asyncio

    await asyncio.sleep(0.2)
    return "slow done"


@query(args={"name": v.string(), "size": v.number()})
def padded_counter(ctx, name, size):
    """A counter's value with a large padding (for back-pressure tests)."""
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return {"value": None if doc is None else doc["value"], "pad": "x" * int(size)}


@action(args={"name": v.string()})
async def slow_increment(ctx, name):
    import asyncio

    await asyncio.sleep(0.2)
    return await ctx.run_mutation("counters:increment", {"name": name})
