from reactor import Int64, mutation, query, v


@mutation(args={"name": v.string()})
def increment(ctx, name):
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    if doc is None:
        ctx.db.insert("counters", {"name": name, "value": 1})  # v.int64(): stored as Int64
        return Int64(1)
    ctx.db.patch(doc["_id"], {"value": doc["value"] + 1})
    return doc["value"] + 1


@query(args={"name": v.string()})
def value(ctx, name):
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return None if doc is None else doc["value"]


@query
def all(ctx):
    return {d["name"]: d["value"] for d in ctx.db.query("counters").collect()}
