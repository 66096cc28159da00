from reactor import mutation, query, v


@mutation(args={"group": v.int64(), "n": v.int64()})
def add(ctx, group, n):
    return ctx.db.insert("items", {"group": group, "n": n, "text": "x"})


@query(args={"group": v.int64()})
def by_group(ctx, group):
    rows = ctx.db.query("items").with_index("by_group", lambda q: q.eq("group", group))
    return [d["n"] for d in rows.take(10)]


@query(args={"id": v.id("items")})
def get(ctx, id):
    return ctx.db.get(id)
