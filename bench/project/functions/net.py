"""Functions for the network benchmarks (bench/push_latency.py, fanout.py, pocketbase.py).

Arguments are plain JSON numbers (``v.float64``) so load generators need no int64
encoding; every write stores the writer's sequence number in ``n`` and the queries
return it, which is how a subscriber tells which write reached it.
"""

from reactor import mutation, query, v


@mutation(args={"group": v.float64(), "seq": v.float64()})
def add(ctx, group, seq):
    """One item in ``group`` carrying the writer's sequence number."""
    ctx.db.insert("items", {"group": int(group), "n": int(seq), "text": "x"})
    return None


@query(args={"group": v.float64()})
def latest_in_group(ctx, group):
    """The sequence number of the newest item of one group (None when it has none)."""
    doc = (
        ctx.db.query("items")
        .with_index("by_group", lambda q: q.eq("group", int(group)))
        .order("desc")
        .first()
    )
    return None if doc is None else float(doc["n"])


@query(args={})
def latest(ctx):
    """The sequence number of the newest item of the whole table (collection-level)."""
    doc = ctx.db.query("items").order("desc").first()
    return None if doc is None else float(doc["n"])


@mutation(args={"group": v.float64(), "seq": v.float64()})
def noop(ctx, group, seq):
    """A mutation that writes nothing: an HTTP call with no commit (the HTTP floor)."""
    return None
