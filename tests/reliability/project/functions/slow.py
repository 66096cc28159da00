"""Functions that are slow only sometimes: they overrun the inline slice and move to a
worker thread. ``spin_until`` spins until the test sets ``RELEASE_<token>`` in the
environment, so a test decides when it ends (no timing in the test)."""

import os
import time

from reactor import action, mutation, query, v


def _spin_until(token):
    while os.environ.get("RELEASE_" + token) is None:
        pass


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _counter(ctx, name):
    return ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).first()


@mutation(args={"token": v.string()})
def spin_until(ctx, token):
    ctx.db.insert("notes", {"owner": "spin", "text": token})
    _spin_until(token)
    return token


@query(args={"token": v.string()})
def slow_when_flagged(ctx, token):
    # Quick until the counter "flag" is set; then as slow as the test wants.
    flag = _counter(ctx, "flag")
    if flag is not None and flag["value"] >= 1:
        _spin_until(token)
    return None if flag is None else flag["value"]


@mutation(args={})
def transfer_slow(ctx):
    # Reads both accounts, then works for longer than the slice before writing.
    a = _counter(ctx, "a")
    b = _counter(ctx, "b")
    _spin(0.06)
    ctx.db.patch(a["_id"], {"value": a["value"] - 1})
    ctx.db.patch(b["_id"], {"value": b["value"] + 1})


@query(args={})
def total_slow(ctx):
    a = _counter(ctx, "a")
    _spin(0.04)  # publishes happen between the two reads; the view must not change
    b = _counter(ctx, "b")
    return a["value"] + b["value"]


@query(args={"n": v.number(), "ms": v.number()})
def work(ctx, n, ms):
    _spin(ms / 1000.0)
    return n * 2


@action(args={"token": v.string()})
async def spin_action_until(ctx, token):
    # A step that holds its event loop until released, between two calls back.
    before = await ctx.run_query("counters:value", {"name": "x"})
    _spin_until(token)
    after = await ctx.run_mutation("counters:increment", {"name": "x"})
    print("spun", before, after)
    return [before, after]


@mutation(args={"owner": v.string(), "count": v.number()})
def insert_many(ctx, owner, count):
    for n in range(int(count)):
        ctx.db.insert("notes", {"owner": owner, "text": str(n)})
    return count


@query(args={"owner": v.string()})
def count_notes(ctx, owner):
    return sum(1 for note in ctx.db.query("notes").collect() if note["owner"] == owner)
