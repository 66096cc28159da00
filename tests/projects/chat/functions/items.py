from reactor import UNSET, action, internal_query, mutation, pagination_opts_validator, query, v


@mutation(args={"n": v.number(), "tag": v.string()})
def add(ctx, n, tag):
    return ctx.db.insert("items", {"n": n, "tag": tag})


@mutation(args={"ns": v.array(v.number()), "tag": v.string()})
def add_many(ctx, ns, tag):
    return [ctx.db.insert("items", {"n": n, "tag": tag}) for n in ns]


@query(args={"k": v.number()})
def smallest(ctx, k):
    return [d["n"] for d in ctx.db.query("items").with_index("by_n").take(int(k))]


@query(args={"tag": v.string(), "lo": v.number(), "hi": v.number()})
def between(ctx, tag, lo, hi):
    rows = ctx.db.query("items").with_index(
        "by_tag_n", lambda q: q.eq("tag", tag).gte("n", lo).lt("n", hi)
    )
    return [d["n"] for d in rows.collect()]


@query(args={"desc": v.boolean()})
def ordered(ctx, desc):
    return [
        d["n"]
        for d in ctx.db.query("items").with_index("by_n").order("desc" if desc else "asc").collect()
    ]


@query(args={"num_items": v.number(), "cursor": v.union(v.string(), v.null())})
def page(ctx, num_items, cursor):
    result = (
        ctx.db.query("items").with_index("by_n").paginate(num_items=int(num_items), cursor=cursor)
    )
    return {**result, "page": [d["n"] for d in result["page"]]}


@query(args={"paginationOpts": pagination_opts_validator})
def paged(ctx, paginationOpts):
    """A page function written as in Convex: the official clients paginate it."""
    return ctx.db.query("items").with_index("by_n").paginate(paginationOpts)


@query(args={"min": v.number()})
def filtered(ctx, min):
    return [d["n"] for d in ctx.db.query("items").filter(lambda d: d["n"] >= min).take(2)]


@internal_query
def count(ctx):
    return len(ctx.db.query("items").collect())


@mutation(args={"id": v.id("items"), "fields": v.any()})
def patch(ctx, id, fields):
    fields = {k: (UNSET if val is None else val) for k, val in fields.items()}
    ctx.db.patch(id, fields)


@mutation(args={"n": v.number()})
def add_then_fail(ctx, n):
    ctx.db.insert("items", {"n": n, "tag": "doomed"})
    raise ValueError("boom after insert")


@mutation
def read_own_writes(ctx):
    a = ctx.db.insert("items", {"n": 1000.0, "tag": "own"})
    ctx.db.insert("items", {"n": 1001.0, "tag": "own"})
    ctx.db.patch(a, {"n": 999.5})
    seen = [
        d["n"]
        for d in ctx.db.query("items")
        .with_index("by_tag_n", lambda q: q.eq("tag", "own"))
        .collect()
    ]
    ctx.db.delete(a)
    after = [
        d["n"]
        for d in ctx.db.query("items")
        .with_index("by_tag_n", lambda q: q.eq("tag", "own"))
        .collect()
    ]
    return {"seen": seen, "after": after}


@query
def now(ctx):
    return [ctx.now, ctx.now]


@query
def whoami(ctx):
    return ctx.auth.get_user_identity()


@action(args={"tag": v.string(), "n": v.number()})
async def add_and_count(ctx, tag, n):
    await ctx.run_mutation("items:add", {"n": n, "tag": tag})
    await ctx.run_mutation(add, {"n": n + 1, "tag": tag})
    return await ctx.run_query("items:count", {})
