"""The soak's write (bench/soak.py): one document per group, updated in place.

Updating instead of inserting keeps the user data a constant size, so what the soak
measures is the server's own memory: bookkeeping, caches and buffers.
"""

from reactor import mutation, v


@mutation(args={"group": v.float64(), "seq": v.float64()})
def set_latest(ctx, group, seq):
    """Make ``seq`` the latest number of ``group`` (what ``net:latest_in_group`` returns)."""
    doc = ctx.db.query("items").with_index("by_group", lambda q: q.eq("group", int(group))).first()
    if doc is None:
        ctx.db.insert("items", {"group": int(group), "n": int(seq), "text": "x"})
    else:
        ctx.db.patch(doc["_id"], {"n": int(seq)})
    return None
