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
