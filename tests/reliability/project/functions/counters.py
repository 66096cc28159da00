from reactor import mutation, query, v


@mutation(args={"name": v.string()})
def increment(ctx, name):
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).first()
    if doc is None:
        ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    ctx.db.patch(doc["_id"], {"value": doc["value"] + 1})
    return doc["value"] + 1


@query(args={"name": v.string()})
def value(ctx, name):
    doc = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).first()
    return None if doc is None else doc["value"]


@query(args={})
def notes(ctx):
    return ctx.db.query("notes").collect()


@mutation(args={})
def transfer(ctx):
    a = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", "a")).first()
    b = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", "b")).first()
    ctx.db.patch(a["_id"], {"value": a["value"] - 1})
    ctx.db.patch(b["_id"], {"value": b["value"] + 1})


@mutation(args={})
def seed(ctx):
    ctx.db.insert("counters", {"name": "a", "value": 1000})
    ctx.db.insert("counters", {"name": "b", "value": 0})


@query(args={})
def slow_total(ctx):
    import time

    a = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", "a")).first()
    end = time.monotonic() + 0.003  # widen the window between the two reads
    while time.monotonic() < end:
        pass
    b = ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", "b")).first()
    return a["value"] + b["value"]
